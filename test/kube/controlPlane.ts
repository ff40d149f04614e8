import { type ChildProcess, spawn } from "child_process";
import { generateKeyPairSync, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Agent, fetch } from "undici";
import { parseAllDocuments, stringify as toYaml } from "yaml";
import { KUBE_VERSION } from "../../components/local/tools";
import { cacheDir } from "../../components/runtime";
import { freePorts } from "../support/freePort";

/** What `scripts/bootstrap.sh kube` built and fetched. */
export const KUBE_HOME = path.join(cacheDir(), "kube", KUBE_VERSION);
export const KUBE_CRDS = path.join(cacheDir(), "kube", "crds");
export const KUBE_CHARTS = path.join(cacheDir(), "kube", "charts");

export const CONTEXT = "cellplane-kube-test";

export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [field: string]: unknown;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, seconds: number): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const value = await probe().catch(() => undefined);
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`${what} within ${seconds} s`);
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

/**
 * etcd, kube-apiserver and kube-controller-manager on loopback, in `dir`: the API server serves TLS with the
 * certificate it generates for itself, which the kubeconfig trusts, and knows one admin by a bearer token. The
 * controller manager runs the garbage collector and the namespace controller, which finish deletions. No kubelet or
 * scheduler: nothing runs pods.
 */
export class ControlPlane {
    readonly kubeconfig: string;
    private readonly processes: ChildProcess[] = [];
    private readonly token = randomBytes(24).toString("hex");
    private agent?: Agent;
    private server = "";
    private stopping = false;

    constructor(private readonly dir: string) {
        this.kubeconfig = path.join(dir, "kubeconfig");
    }

    async start(): Promise<void> {
        for (const binary of ["etcd", "kube-apiserver", "kube-controller-manager", "pulumi-resource-kubernetes"])
            if (!fs.existsSync(path.join(KUBE_HOME, binary)))
                throw new Error(`no ${binary} in ${KUBE_HOME}: run scripts/bootstrap.sh kube`);
        const base = await freePorts(3);
        const [etcdClient, etcdPeer, apiPort] = [base, base + 1, base + 2];
        this.run("etcd", [
            `--data-dir=${path.join(this.dir, "etcd")}`,
            `--client-url=http://127.0.0.1:${etcdClient}`,
            `--peer-url=http://127.0.0.1:${etcdPeer}`,
        ]);
        const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const serviceAccountKey = this.write("service-account.key", privateKey.export({ type: "pkcs8", format: "pem" }).toString());
        const tokens = this.write("tokens.csv", `${this.token},cellplane-admin,cellplane-admin,"system:masters"\n`);
        const certs = path.join(this.dir, "certs");
        this.run("kube-apiserver", [
            `--etcd-servers=http://127.0.0.1:${etcdClient}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${apiPort}`,
            `--cert-dir=${certs}`,
            "--service-account-issuer=https://kubernetes.default.svc",
            `--service-account-key-file=${serviceAccountKey}`,
            `--service-account-signing-key-file=${serviceAccountKey}`,
            `--token-auth-file=${tokens}`,
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
            // The `kubernetes` Service's endpoints would name this address, which may not be loopback; nothing here uses them.
            "--endpoint-reconciler-type=none",
        ]);
        const ca = await eventually(
            "kube-apiserver wrote its serving certificate",
            async () => {
                const file = path.join(certs, "apiserver.crt");
                return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
            },
            60,
        );
        this.server = `https://127.0.0.1:${apiPort}`;
        this.agent = new Agent({ connect: { ca } });
        await eventually(
            "kube-apiserver answered /readyz",
            async () => ((await this.request("GET", "/readyz")).status === 200 ? true : undefined),
            90,
        );
        this.writeKubeconfig(ca);
        this.run("kube-controller-manager", [
            `--kubeconfig=${this.kubeconfig}`,
            "--controllers=garbage-collector-controller,namespace-controller",
            "--leader-elect=false",
            "--secure-port=0",
        ]);
    }

    private writeKubeconfig(ca: string): void {
        const kubeconfig = {
            apiVersion: "v1",
            kind: "Config",
            clusters: [
                { name: CONTEXT, cluster: { server: this.server, "certificate-authority-data": Buffer.from(ca).toString("base64") } },
            ],
            users: [{ name: CONTEXT, user: { token: this.token } }],
            contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: CONTEXT } }],
            "current-context": CONTEXT,
        };
        fs.writeFileSync(this.kubeconfig, toYaml(kubeconfig), { mode: 0o600 });
    }

    private write(name: string, content: string): string {
        const file = path.join(this.dir, name);
        fs.writeFileSync(file, content, { mode: 0o600 });
        return file;
    }

    private run(binary: string, args: string[]): void {
        const log = fs.openSync(path.join(this.dir, `${binary}.log`), "a");
        const child = spawn(path.join(KUBE_HOME, binary), args, { cwd: this.dir, stdio: ["ignore", log, log] });
        child.once("exit", (code, signal) => {
            if (!this.stopping) console.error(`${binary} exited (${code ?? signal}); its log is ${path.join(this.dir, `${binary}.log`)}`);
        });
        this.processes.push(child);
    }

    async stop(): Promise<void> {
        this.stopping = true;
        for (const child of [...this.processes].reverse()) {
            if (child.exitCode !== null) continue;
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGTERM");
            await exited;
        }
        await this.agent?.close();
    }

    /**
     * A request to the API server as its admin; the body is JSON. Asked again once if the server had closed the kept-alive
     * connection it went out on (it closes idle ones while a long `pulumi up` runs).
     */
    async request(method: string, apiPath: string, body?: unknown, contentType = "application/json") {
        const send = () =>
            fetch(`${this.server}${apiPath}`, {
                method,
                dispatcher: this.agent,
                headers: { authorization: `Bearer ${this.token}`, "content-type": contentType },
                body: body === undefined ? undefined : JSON.stringify(body),
            });
        const response = await send().catch((error: Error) => {
            if (!/other side closed|ECONNRESET/.test(String((error.cause as Error | undefined)?.message ?? error.message))) throw error;
            return send();
        });
        const text = await response.text();
        return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text };
    }

    /**
     * Creates `definitions` and waits until the API server serves each it accepted; returns those it refused, with
     * its reason (a published CRD may not meet this Kubernetes version's validation).
     */
    async installCrds(definitions: KubeObject[]): Promise<{ name: string; reason: string }[]> {
        const refused: { name: string; reason: string }[] = [];
        for (const crd of definitions) {
            const created = await this.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
            if (created.status !== 201) refused.push({ name: crd.metadata.name, reason: created.body.message ?? String(created.body) });
        }
        const accepted = definitions.filter((crd) => !refused.some((r) => r.name === crd.metadata.name));
        for (const crd of accepted)
            await eventually(
                `CRD ${crd.metadata.name} was established`,
                async () => {
                    const { body } = await this.request(
                        "GET",
                        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
                    );
                    const conditions = (body.status?.conditions ?? []) as { type: string; status: string }[];
                    return conditions.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
                },
                60,
            );
        return refused;
    }

    /**
     * Every object the API server holds that a `pulumi up` could have made, as `group/version kind namespace/name`:
     * each listable resource of each served group. Events and leases, which the control plane writes on its own, are
     * left out.
     */
    async objects(): Promise<string[]> {
        const found: string[] = [];
        for (const type of await this.resourceTypes("preferred")) {
            if (!type.verbs.includes("list") || ["Event", "Lease"].includes(type.kind)) continue;
            const { body: list } = await this.request("GET", type.path);
            for (const item of (list.items ?? []) as KubeObject[])
                found.push(`${type.groupVersion} ${type.kind} ${item.metadata.namespace ?? ""}/${item.metadata.name}`);
        }
        return [...new Set(found)].sort();
    }

    /** The resource types the API server serves (no subresources), from its discovery: every version, or each group's preferred one. */
    async resourceTypes(versions: "all" | "preferred"): Promise<ResourceType[]> {
        const { body } = await this.request("GET", "/apis");
        const groups = body.groups as { versions: { groupVersion: string }[]; preferredVersion: { groupVersion: string } }[];
        const groupVersions = [
            "v1",
            ...groups.flatMap((group) => (versions === "all" ? group.versions : [group.preferredVersion]).map((v) => v.groupVersion)),
        ];
        const types: ResourceType[] = [];
        for (const groupVersion of groupVersions) {
            const prefix = groupVersion === "v1" ? "/api/v1" : `/apis/${groupVersion}`;
            const { body: list } = await this.request("GET", prefix);
            for (const resource of list.resources as { name: string; kind: string; verbs: string[] }[])
                if (!resource.name.includes("/"))
                    types.push({
                        groupVersion,
                        kind: resource.kind,
                        plural: resource.name,
                        verbs: resource.verbs,
                        path: `${prefix}/${resource.name}`,
                    });
        }
        return types;
    }
}

interface ResourceType {
    groupVersion: string;
    kind: string;
    /** The name its REST paths use. */
    plural: string;
    verbs: string[];
    /** The cluster-wide collection's path. */
    path: string;
}

/** The CustomResourceDefinitions the bootstrap fetched: every YAML document of that kind under `dir`. */
export function fetchedCrds(dir = KUBE_CRDS): KubeObject[] {
    if (!fs.existsSync(path.join(dir, ".complete"))) throw new Error(`no CRDs in ${dir}: run scripts/bootstrap.sh kube`);
    const files = fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((file) => /\.ya?ml$/.test(file));
    return files
        .flatMap((file) => parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8")).map((doc) => doc.toJS() as KubeObject | null))
        .filter((doc): doc is KubeObject => doc?.kind === "CustomResourceDefinition");
}
