import { type ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { CLUSTER_KINDS, crdNameOf, type CustomResourceKind, OPERATOR_KINDS } from "../../model/customResources";
import type { ResourceProps } from "../../model/resourceProps";
import { freePort } from "../support/freePort";
import { ROOT, scratchProject } from "../support/project";
import { CONTEXT, ControlPlane, fetchedCrds, KUBE_CHARTS, KUBE_HOME, type KubeObject } from "./controlPlane";

/**
 * A medium `kubernetes` cell (replicas, shards and Keeper) applied for real: Kubernetes' own API server, with the
 * operators' published CRDs installed, and the real pulumi-kubernetes provider. Only pods never run: there is no
 * kubelet, so the stack sets `cellplane:kubernetesSkipAwait`. The operators are `external` (no chart repository is
 * reachable); the object store's chart comes from a local mirror (`cellplane:chartRepository`).
 */
const CELL = "kube-eu-1";
const SOURCES = [
    "apps",
    "model",
    "stacks",
    "components",
    "policies",
    "observability",
    "node_modules",
    "package.json",
    "tsconfig.json",
    "Pulumi.yaml",
];

/** The kinds whose CRD the cell needs: its operators', cert-manager's and the Gateway API's. */
const NEEDED: CustomResourceKind[] = [...Object.values(OPERATOR_KINDS), CLUSTER_KINDS.certManager, CLUSTER_KINDS.gatewayApi].flatMap(
    (o) => [...o.kinds],
);

/** A CRD that accepts any spec, for a kind whose published definition no registry here serves (named by the test). */
const standInCrd = (kind: CustomResourceKind): KubeObject => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: crdNameOf(kind), annotations: { "cellplane.test/stand-in": "no published definition was obtainable" } },
    spec: {
        group: kind.group,
        names: { kind: kind.kind, plural: kind.plural, singular: kind.kind.toLowerCase(), listKind: `${kind.kind}List` },
        scope: "Namespaced",
        versions: [
            {
                name: "v1",
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
                subresources: { status: {} },
            },
        ],
    },
});

/** The chart mirror: a Helm repository is files over HTTP (its index.yaml and the charts' archives). */
const CHART_SERVER = `
const [dir, port] = process.argv.slice(1);
const fs = require("fs"), path = require("path");
require("http").createServer((request, response) =>
    fs.readFile(path.join(dir, path.basename(request.url)), (error, data) => { response.statusCode = error ? 404 : 200; response.end(data); }),
).listen(Number(port), "127.0.0.1");`;

/** Whether every field of `expected` is in `actual` with the same value (the API server may add defaults). */
function within(expected: unknown, actual: unknown): boolean {
    if (expected === null || typeof expected !== "object") return String(expected) === String(actual);
    if (actual === null || typeof actual !== "object") return false;
    if (Array.isArray(expected))
        return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => within(e, actual[i]));
    return Object.entries(expected).every(([key, value]) => within(value, (actual as Record<string, unknown>)[key]));
}

/** The REST path of a namespaced or cluster object. */
function pathOf(object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }, plural: string): string {
    const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    return `${base}${object.metadata.namespace ? `/namespaces/${object.metadata.namespace}` : ""}/${plural}/${object.metadata.name}`;
}

describe("a medium kubernetes cell on a real API server, through the real provider", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-kube-"));
    const plane = new ControlPlane(dir);
    const stack = scratchProject("cellplane-kube-stack-");
    let charts: ChildProcess;
    let before: string[];
    let standIns: string[];
    let refused: { name: string; reason: string }[];
    let deployed: ResourceProps[];

    /** Pulumi with the test cluster's kubeconfig and, ahead of anything installed, the plugins this test runs. */
    const pulumi = (...args: string[]) => stack.pulumi(...args);
    const ok = (...args: string[]) => stack.ok(...args);

    beforeAll(async () => {
        await plane.start();
        const published = fetchedCrds();
        const names = new Set(published.map((crd) => crd.metadata.name));
        const missing = NEEDED.filter((kind) => !names.has(crdNameOf(kind)));
        standIns = missing.map(crdNameOf);
        refused = await plane.installCrds([...published, ...missing.map(standInCrd)]);

        const chartPort = await freePort();
        charts = spawn(process.execPath, ["-e", CHART_SERVER, KUBE_CHARTS, String(chartPort)], { stdio: "ignore" });

        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.symlinkSync(path.join(KUBE_HOME, "pulumi-resource-kubernetes"), path.join(bin, "pulumi-resource-kubernetes"));
        const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
        for (const provider of ["random", "tls"])
            fs.writeFileSync(
                path.join(bin, `pulumi-resource-${provider}`),
                `#!/bin/sh\nexec "${tsx}" "${path.join(__dirname, "standInProviders.ts")}" ${provider} "$@"\n`,
                { mode: 0o755 },
            );
        Object.assign(stack.env, { KUBECONFIG: plane.kubeconfig, PATH: `${bin}:${stack.env.PATH}` });

        for (const entry of SOURCES) fs.symlinkSync(path.join(ROOT, entry), path.join(stack.dir, entry));
        const config = {
            "cellplane:environment": "staging",
            "cellplane:owner": "data-platform",
            "cellplane:costCenter": "cc-1042",
            "cellplane:dnsZone": "cellplane.example.com",
            "cellplane:kubernetesSkipAwait": true,
            "cellplane:chartRepository": `http://127.0.0.1:${chartPort}`,
            "cellplane:cells": [
                {
                    id: CELL,
                    cloud: "kubernetes",
                    region: "northeurope",
                    residency: "eu",
                    size: "medium",
                    kubeContext: CONTEXT,
                    operators: "external",
                },
            ],
            "cellplane:tenants": [{ id: "acme", residency: "eu" }],
        };
        fs.writeFileSync(path.join(stack.dir, "Pulumi.kube.yaml"), toYaml({ config }));
        ok("stack", "init", "kube");
        before = await plane.objects();
    }, 300_000);

    afterAll(async () => {
        if (deployed) pulumi("destroy", "--yes", "--skip-preview");
        charts?.kill();
        await plane.stop();
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(stack.dir, { recursive: true, force: true });
    });

    test("the published CRDs install, and any kind without one is named", () => {
        // The Altinity operator publishes its CRDs to no registry this machine reaches.
        console.log(`stand-in CRDs (any spec accepted): ${standIns.join(", ") || "none"}`);
        expect(standIns.every((name) => name.endsWith(".altinity.com"))).toBe(true);
        // A published CRD the API server refuses is reported; none the cell needs may be among them.
        console.log(`published CRDs this API server refused: ${refused.map((r) => `${r.name} (${r.reason})`).join("; ") || "none"}`);
        const needed = new Set(NEEDED.map(crdNameOf));
        expect(refused.filter((r) => needed.has(r.name))).toEqual([]);
    });

    test("pulumi up creates every object, and each custom resource keeps every field the program set", async () => {
        ok("up", "--yes", "--skip-preview");
        deployed = JSON.parse(ok("stack", "export")).deployment.resources;
        const objects = deployed.filter(
            (r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh") && !r.external,
        );
        expect(objects.length).toBeGreaterThan(50);
        const plurals = new Map((await plane.resourceTypes("all")).map((type) => [`${type.groupVersion} ${type.kind}`, type.plural]));
        const lost: string[] = [];
        for (const object of objects) {
            const live = await plane.request(
                "GET",
                pathOf(object.outputs, plurals.get(`${object.outputs.apiVersion} ${object.outputs.kind}`)!),
            );
            expect([object.urn, live.status]).toEqual([object.urn, 200]);
            if (object.inputs.spec && !within(object.inputs.spec, live.body.spec))
                lost.push(`${object.outputs.kind} ${object.outputs.metadata.name}`);
        }
        expect(lost).toEqual([]);
        const kinds = new Set(objects.map((o) => o.outputs.kind));
        for (const kind of [
            "Kafka",
            "KafkaNodePool",
            "Cluster",
            "ClickHouseInstallation",
            "ClickHouseKeeperInstallation",
            "FlinkDeployment",
            "ScheduledSparkApplication",
        ])
            expect([kind, kinds.has(kind)]).toEqual([kind, true]);
        // The object store's chart, from the mirror, rendered its servers.
        const { body: statefulSets } = await plane.request("GET", `/apis/apps/v1/namespaces/${CELL}-data/statefulsets`);
        expect((statefulSets.items as KubeObject[]).map((s) => s.metadata.name).sort()).toEqual(
            expect.arrayContaining(["seaweedfs-filer", "seaweedfs-master", "seaweedfs-volume"]),
        );
    }, 900_000);

    test("a second up changes nothing, and refresh finds no drift", () => {
        ok("up", "--yes", "--skip-preview", "--expect-no-changes");
        // A read (the CRDs of external operators) is stored with what the first refresh reads of it; after that, none.
        ok("refresh", "--yes", "--skip-preview");
        ok("refresh", "--yes", "--skip-preview", "--expect-no-changes");
    }, 900_000);

    test("after an object is deleted and another edited with the API, a refreshed plan repairs exactly those, and up does", async () => {
        const directory = deployed.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.outputs.metadata.name.includes("tenant"))!;
        const service = deployed.find((r) => r.type === "kubernetes:core/v1:Service" && r.outputs.metadata.namespace === `${CELL}-data`)!;
        const configMapPath = pathOf(directory.outputs, "configmaps");
        const servicePath = pathOf(service.outputs, "services");
        expect((await plane.request("DELETE", configMapPath)).status).toBe(200);
        const [label] = Object.keys(service.outputs.metadata.labels);
        const edit = { metadata: { labels: { [label]: "edited-by-hand" } } };
        expect((await plane.request("PATCH", servicePath, edit, "application/merge-patch+json")).status).toBe(200);

        const planned = JSON.parse(pulumi("preview", "--refresh", "--json").stdout).steps as { op: string; urn: string }[];
        const changes = planned.filter((step) => !["same", "refresh", "read"].includes(step.op)).map((step) => [step.op, step.urn]);
        expect(changes.sort()).toEqual(
            [
                ["create", directory.urn],
                ["update", service.urn],
            ].sort(),
        );
        ok("up", "--yes", "--skip-preview", "--refresh");
        expect((await plane.request("GET", configMapPath)).status).toBe(200);
        expect((await plane.request("GET", servicePath)).body.metadata.labels[label]).toBe(service.outputs.metadata.labels[label]);
        ok("preview", "--expect-no-changes", "--refresh");
    }, 900_000);

    test("pulumi preview --policy-pack policies runs against the real plan, with no mandatory violation", () => {
        const out = ok("preview", "--policy-pack", path.join(ROOT, "policies"));
        expect(out).toMatch(/Policies:/);
        expect(out).not.toMatch(/mandatory:/);
    }, 900_000);

    test("destroy leaves no object behind", async () => {
        ok("destroy", "--yes", "--skip-preview");
        deployed = undefined as unknown as ResourceProps[];
        const deadline = Date.now() + 60_000;
        let after = await plane.objects();
        while (after.join() !== before.join() && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            after = await plane.objects();
        }
        expect(after.filter((o) => !before.includes(o))).toEqual([]);
        expect(before.filter((o) => !after.includes(o))).toEqual([]);
    }, 900_000);
});
