import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import type { CellConfig } from "../../model/config";

/** The well-known label cloud providers and most installers put on every node. */
export const REGION_LABEL = "topology.kubernetes.io/region";

interface ClusterSpec {
    server: string;
    "certificate-authority-data"?: string;
    "certificate-authority"?: string;
    "insecure-skip-tls-verify"?: boolean;
}

interface UserSpec {
    token?: string;
    "client-certificate-data"?: string;
    "client-key-data"?: string;
    exec?: { command: string; args?: string[]; env?: { name: string; value: string }[] };
}

/** An entry of a kubeconfig's `contexts`, `clusters` or `users` list. */
interface Entry {
    name: string;
    context?: { cluster: string; user: string };
    cluster?: ClusterSpec;
    user?: UserSpec;
}

type Kubeconfig = Partial<Record<"contexts" | "clusters" | "users", Entry[]>>;

/** The kubeconfig files kubectl would read: $KUBECONFIG's list, else ~/.kube/config; the first file naming an entry wins. */
function kubeconfigs(): Kubeconfig[] {
    const files = process.env.KUBECONFIG ? process.env.KUBECONFIG.split(path.delimiter) : [path.join(os.homedir(), ".kube", "config")];
    return files.filter((f) => f && fs.existsSync(f)).map((f) => (parse(fs.readFileSync(f, "utf8")) ?? {}) as Kubeconfig);
}

function lookup(configs: Kubeconfig[], kind: keyof Kubeconfig, name: string): Entry | undefined {
    for (const config of configs) {
        const entry = config[kind]?.find((e) => e.name === name);
        if (entry) return entry;
    }
    return undefined;
}

/** The credentials of a kubeconfig user: a token or a client certificate, given or from its exec plugin (EKS, AKS). */
function credentialsOf(user: UserSpec | undefined): { token?: string; cert?: Buffer; key?: Buffer } {
    if (!user) return {};
    if (user.exec) {
        const env = { ...process.env, ...Object.fromEntries((user.exec.env ?? []).map((e) => [e.name, e.value])) };
        const status =
            JSON.parse(execFileSync(user.exec.command, user.exec.args ?? [], { env, encoding: "utf8", timeout: 30_000 })).status ?? {};
        return {
            token: status.token,
            cert: status.clientCertificateData && Buffer.from(status.clientCertificateData),
            key: status.clientKeyData && Buffer.from(status.clientKeyData),
        };
    }
    const decoded = (data?: string) => (data ? Buffer.from(data, "base64") : undefined);
    return { token: user.token, cert: decoded(user["client-certificate-data"]), key: decoded(user["client-key-data"]) };
}

/**
 * The regions the nodes of the cluster behind kube context `name` declare, read from its API server as kubectl
 * would; undefined when the context is in no kubeconfig here (the provider then reports it).
 */
export async function nodeRegionsOf(name: string): Promise<string[] | undefined> {
    const configs = kubeconfigs();
    const context = lookup(configs, "contexts", name)?.context;
    const cluster = context && lookup(configs, "clusters", context.cluster)?.cluster;
    if (!context || !cluster) return undefined;
    const { token, cert, key } = credentialsOf(lookup(configs, "users", context.user)?.user);
    const ca = cluster["certificate-authority-data"]
        ? Buffer.from(cluster["certificate-authority-data"], "base64")
        : cluster["certificate-authority"]
          ? fs.readFileSync(cluster["certificate-authority"])
          : undefined;
    const url = new URL("/api/v1/nodes", cluster.server);
    const body = await new Promise<string>((resolve, reject) => {
        const client = url.protocol === "https:" ? https : http;
        const request = client.get(
            url,
            {
                headers: token ? { authorization: `Bearer ${token}` } : {},
                ca,
                cert,
                key,
                rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true,
                timeout: 10_000,
            },
            (response) => {
                let text = "";
                response.on("data", (chunk) => (text += chunk));
                response.on("end", () =>
                    response.statusCode === 200 ? resolve(text) : reject(new Error(`${url} answered ${response.statusCode}`)),
                );
            },
        );
        request.on("timeout", () => request.destroy(new Error(`${url} did not answer in 10 s`)));
        request.on("error", reject);
    });
    const nodes: { metadata?: { labels?: Record<string, string> } }[] = JSON.parse(body).items ?? [];
    return [...new Set(nodes.map((n) => n.metadata?.labels?.[REGION_LABEL]).filter((r): r is string => r !== undefined))];
}

/** Why the cluster's node regions rule the cell out, or undefined when they match (or declare none). */
export function regionProblem(
    cell: Pick<CellConfig, "id" | "region" | "residency" | "kubeContext">,
    regions: readonly string[],
): string | undefined {
    const foreign = regions.filter((r) => r !== cell.region);
    if (foreign.length === 0) return undefined;
    return (
        `cell "${cell.id}" (residency ${cell.residency}, region ${cell.region}) points at kube context "${cell.kubeContext}", whose nodes are labelled ${REGION_LABEL}=${foreign.join(", ")}. ` +
        "Point cellplane:cells[].kubeContext at a cluster in the cell's region, or correct the cell's region"
    );
}

/**
 * Refuses a kubernetes cell whose cluster's nodes sit in another region. A cluster that cannot be asked, or whose
 * nodes carry no region label, is let through with a warning: the cell's own `kubeContext` is then the only
 * guarantee.
 */
async function verifyClusterRegion(cell: CellConfig, warn: (message: string) => void): Promise<void> {
    let regions: string[] | undefined;
    try {
        regions = await nodeRegionsOf(cell.kubeContext!);
    } catch (error) {
        return warn(
            `cell ${cell.id}: could not read the nodes of kube context "${cell.kubeContext}" to check their region (${(error as Error).message})`,
        );
    }
    if (regions === undefined) return;
    if (regions.length === 0)
        return warn(
            `cell ${cell.id}: the nodes of kube context "${cell.kubeContext}" carry no ${REGION_LABEL} label, so their region cannot be checked`,
        );
    const problem = regionProblem(cell, regions);
    if (problem) throw new Error(problem);
}

/** Checks every kubernetes cell's cluster before the program creates anything, at preview as at update. */
export async function verifyKubernetesCells(cells: readonly CellConfig[], warn: (message: string) => void): Promise<void> {
    await Promise.all(cells.filter((c) => c.cloud === "kubernetes").map((c) => verifyClusterRegion(c, warn)));
}
