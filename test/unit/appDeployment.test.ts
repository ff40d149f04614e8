import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { bundleApp, bundleFile } from "../../components/apps/bundle";
import { IMAGES } from "../../components/kubernetes/charts";
import { ofType, ProgramRun, SECRET_MARKER, secretValue, singleCellStack } from "../support/harness";
import type { ResourceProps } from "../../model/resourceProps";
import { NODE_VERSION } from "../../components/runtime";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CELLS = {
    kubernetes: { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "small", kubeContext: "onprem-eu" },
    aws: { cloud: "aws", region: "eu-west-1", residency: "eu", size: "small" },
    azure: { cloud: "azure", region: "westeurope", residency: "eu", size: "small" },
};

describe.each(Object.entries(CELLS))("the apps of a %s cell", (_cloud, cell) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack(cell, "prod");
    });
    const byName = (type: string, name: string) => ofType(run, type).find((r) => r.inputs.metadata?.name === name)!;

    test("run as Deployments of the official Node image in the cell's data namespace, two replicas in production", () => {
        const deployments = ofType(run, DEPLOYMENT);
        expect(deployments.map((d) => d.inputs.metadata.name).sort()).toEqual(["export", "ingest", "ingest-consumer", "router"]);
        for (const d of deployments) {
            expect(d.inputs.metadata.namespace).toBe("cell-1-data");
            expect(d.inputs.spec.replicas).toBe(2);
            const pod = d.inputs.spec.template.spec;
            expect([...pod.initContainers, ...pod.containers].map((c: ResourceProps) => c.image)).toEqual([IMAGES.node, IMAGES.node]);
            expect(IMAGES.node).toBe(`node:${NODE_VERSION}-bookworm-slim`);
            expect(NODE_VERSION).toMatch(/^24\./);
            expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
            const [container] = pod.containers;
            expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: 8080 });
            expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: 8080 });
            expect(container.resources.limits).toEqual({ cpu: "1", memory: "512Mi" });
            expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        }
    });

    test("deploy onto the cell's own cluster", () => {
        const provider = ofType(run, DEPLOYMENT)[0].provider!;
        expect(ofType(run, DEPLOYMENT).every((d) => d.provider === provider)).toBe(true);
        expect(ofType(run, "kubernetes:core/v1:Namespace").every((n) => n.provider === provider)).toBe(true);
    });

    test("get their bundle from an immutable ConfigMap named by its hash, which the pod template names too", () => {
        for (const app of ["ingest", "ingest-consumer", "export", "router"] as const) {
            const bundle = bundleApp(app);
            const map = byName("kubernetes:core/v1:ConfigMap", `${app}-${bundle.hash.toLowerCase()}`);
            expect(map.inputs.immutable).toBe(true);
            expect(zlib.gunzipSync(Buffer.from(map.inputs.binaryData["app.js.gz"], "base64")).equals(fs.readFileSync(bundle.file))).toBe(
                true,
            );
            const template = byName(DEPLOYMENT, app).inputs.spec.template;
            expect(template.metadata.annotations["cellplane.io/bundle-hash"]).toBe(bundle.hash);
            expect(template.spec.volumes).toContainEqual({ name: "bundle", configMap: { name: map.inputs.metadata.name } });
        }
    });

    test("take secrets from a Kubernetes Secret holding Pulumi secrets, never from the pod spec", () => {
        const secret = byName("kubernetes:core/v1:Secret", "ingest-secrets");
        expect(JSON.stringify(secretValue(secret.inputs.stringData))).toContain(SECRET_MARKER);
        const ingest = byName(DEPLOYMENT, "ingest").inputs.spec.template.spec.containers[0];
        expect(ingest.envFrom).toEqual([{ secretRef: { name: "ingest-secrets" } }]);
        expect(JSON.stringify(ingest.env)).not.toContain(SECRET_MARKER);
        expect(Object.fromEntries(ingest.env.map((e: ResourceProps) => [e.name, e.value]))).toMatchObject({
            CELL_ID: "cell-1",
            HOST: "0.0.0.0",
            PORT: "8080",
        });
    });

    test("answer at ClusterIP Services, which the edge publishes at the cell's public name, the routing table's URLs", () => {
        for (const app of ["ingest", "ingest-consumer", "export", "router"]) {
            expect(byName("kubernetes:core/v1:Service", app).inputs.spec).toMatchObject({
                type: "ClusterIP",
                ports: [{ port: 8080, targetPort: 8080 }],
            });
        }
        expect(run.outputs.routing.acme.endpoints).toMatchObject({
            ingestUrl: "https://cell-1.prod.cellplane.example.com",
            exportUrl: "https://cell-1.prod.cellplane.example.com",
        });
        expect(run.outputs.routers).toEqual({ eu: { cell: "cell-1", url: "https://eu.prod.cellplane.example.com" } });
    });

    test("give the router its table as a mounted ConfigMap it re-reads, and its cells' keys only as a Secret", () => {
        const router = byName(DEPLOYMENT, "router").inputs.spec.template.spec;
        const env = Object.fromEntries(router.containers[0].env.map((e: ResourceProps) => [e.name, e.value]));
        expect(env.ROUTING_FILE).toBe("/etc/cellplane/files/ROUTING_FILE");
        expect(env).not.toHaveProperty("ROUTER_KEYS");
        expect(router.containers[0].volumeMounts).toContainEqual({ name: "files", mountPath: "/etc/cellplane/files", readOnly: true });
        const files = byName("kubernetes:core/v1:ConfigMap", "router-files").inputs;
        // Not immutable: a new table reaches the running pods without a rollout.
        expect(files.immutable).toBeUndefined();
        expect(router.volumes).toContainEqual({ name: "files", configMap: { name: "router-files" } });
        const table = JSON.parse(files.data.ROUTING_FILE);
        expect(table).toMatchObject({ serial: 1, residency: "eu", tenants: { acme: "cell-1" }, overrides: {} });
        const { ingestUrl, exportUrl } = run.outputs.routing.acme.endpoints;
        expect(table.cells["cell-1"]).toEqual({ residency: "eu", ingestUrl, exportUrl });
        const secrets = secretValue(byName("kubernetes:core/v1:Secret", "router-secrets").inputs.stringData) as Record<string, string>;
        expect(Object.keys(JSON.parse(secrets.ROUTER_KEYS))).toEqual(["cell-1"]);
    });
});

describe("app bundles", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-bundle-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bundleOf = (source: string) => {
        fs.writeFileSync(path.join(dir, "main.ts"), source);
        return bundleFile(path.join(dir, "main.ts"), "probe");
    };

    test("are named by their content: the same sources give the same hash, a change gives a new one", () => {
        const first = bundleOf("console.log('v1');");
        expect(bundleOf("console.log('v1');")).toEqual(first);
        const second = bundleOf("console.log('v2');");
        expect(second.hash).not.toBe(first.hash);
        expect(fs.readFileSync(second.file, "utf8")).toContain("v2");
    });
});
