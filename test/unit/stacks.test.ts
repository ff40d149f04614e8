import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { RULES_FILE } from "../../components/ruleSet";
import { CLUSTER_LABEL, TAG_KEYS, UNTAGGABLE_TYPES } from "../../model/labels";
import { TENANT_DIRECTORY_CONFIGMAP, TENANT_DIRECTORY_KEY } from "../../model/tenantDirectory";
import { ConfigError } from "../../model/config";
import { regionsOf, residencyOfRegion } from "../../model/residency";
import { MockedResource, ProgramRun, runStack, runStackFile, SECRET_MARKER, secretValue, stackConfig } from "../support/harness";
import { regionOf } from "../support/regions";
import type { ResourceProps } from "../../model/resourceProps";

describe.each(["dev", "prod"])("the %s stack", (stack) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runStackFile(stack);
    });

    test("names each Kubernetes object apart from every other of its kind in its namespace and cluster, as the API server requires", () => {
        const objects = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.metadata?.name !== undefined);
        const keys = objects.map((r) => [r.provider, r.type, r.inputs.metadata.namespace ?? "", r.inputs.metadata.name].join(" "));
        expect(objects.length).toBeGreaterThan(100);
        expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
    });

    test("makes no empty Secret, which the API server stores with no field and the provider would then replace at every up", () => {
        const held = (input: unknown) => (input === undefined ? [] : Object.keys(secretValue(input) as object));
        const empty = run.resources.filter(
            (r) => r.type === "kubernetes:core/v1:Secret" && [...held(r.inputs.stringData), ...held(r.inputs.data)].length === 0,
        );
        expect(empty.map((r) => r.name)).toEqual([]);
    });

    test("gives every cloud cell an address range and every AKS cluster a Service range of its own", () => {
        const ranges = [
            ...run.resources.filter((r) => r.type === "aws:ec2/vpc:Vpc").map((r) => r.inputs.cidrBlock),
            ...run.resources
                .filter((r) => r.type === "azure-native:network:VirtualNetwork")
                .map((r) => r.inputs.addressSpace.addressPrefixes[0]),
        ];
        const cloudCells = (stackConfig(stack).cells as { cloud: string }[]).filter((c) => c.cloud === "aws" || c.cloud === "azure");
        expect(ranges).toHaveLength(cloudCells.length);
        expect(new Set(ranges).size).toBe(ranges.length);
        const services = run.resources
            .filter((r) => r.type === "azure-native:containerservice:ManagedCluster")
            .map((r) => r.inputs.networkProfile.serviceCidr);
        expect(new Set(services).size).toBe(services.length);
    });

    test("creates one Cell per configured cell, with its endpoints exported", () => {
        const configured = (stackConfig(stack).cells as { id: string }[]).map((c) => c.id);
        expect(
            run.resources
                .filter((r) => r.type === "cellplane:index:Cell")
                .map((r) => r.name)
                .sort(),
        ).toEqual([...configured].sort());
        for (const id of configured) {
            const endpoints = run.outputs.cells[id].endpoints;
            expect(endpoints.postgres.host).toEqual(expect.any(String));
            expect(endpoints.kafkaBootstrap).toMatch(/:\d+/);
            expect(endpoints.clickhouseUrl).toMatch(/^https?:\/\//);
            expect(endpoints.bucket).toEqual(expect.any(String));
        }
    });

    test("routes every tenant to a cell of its own residency, with that cell's endpoints", () => {
        const tenants = stackConfig(stack).tenants as { id: string; residency: string }[];
        expect(Object.keys(run.outputs.routing).sort()).toEqual(tenants.map((t) => t.id).sort());
        for (const tenant of tenants) {
            const route = run.outputs.routing[tenant.id];
            expect(route.residency).toBe(tenant.residency);
            expect(run.outputs.cells[route.cell].residency).toBe(tenant.residency);
            expect(residencyOfRegion(route.region)).toBe(tenant.residency);
            expect(route.endpoints).toEqual(run.outputs.cells[route.cell].endpoints);
        }
    });

    test("places every regional resource of a cell in a region of the cell's residency", () => {
        const located = run.resources.filter((r) => r.cell && regionOf(run, r) !== undefined);
        expect(located.length).toBeGreaterThan(20);
        for (const resource of located) {
            const residency = run.outputs.cells[resource.cell!].residency;
            const region = regionOf(run, resource)!;
            // Private DNS zones are global objects in Azure and hold only private records of the VNet.
            if (region === "global") {
                expect(resource.type).toMatch(/^azure-native:privatedns:/);
                continue;
            }
            expect({ resource: resource.name, residency: residencyOfRegion(region) }).toEqual({ resource: resource.name, residency });
        }
    });

    test("publishes the whole tenant directory inside every cell", () => {
        const maps = run.resources.filter(
            (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata.name === TENANT_DIRECTORY_CONFIGMAP,
        );
        expect(maps.map((m) => m.cell).sort()).toEqual(Object.keys(run.outputs.cells).sort());
        for (const map of maps) {
            const directory = JSON.parse(map.inputs.data[TENANT_DIRECTORY_KEY]);
            expect(Object.keys(directory.cells).sort()).toEqual(Object.keys(run.outputs.cells).sort());
            for (const [tenant, route] of Object.entries(run.outputs.routing)) {
                expect(directory.tenants[tenant]).toEqual({
                    residency: route.residency,
                    cell: route.cell,
                    eventsPerSecond: expect.any(Number),
                    apiRequestsPerMinute: expect.any(Number),
                    maxStorageGb: expect.any(Number),
                });
            }
        }
    });

    /** What the cells of a kubernetes cluster share: its provider and its operators, with the cells' namespaces they watch. */
    const sharedByCells = (r: MockedResource) =>
        (r.type === "pulumi:providers:kubernetes" && r.parent === undefined) ||
        r.type === "cellplane:kubernetes:ClusterOperators" ||
        (r.ancestors.includes("cellplane:kubernetes:ClusterOperators") && r.cell === undefined);

    test("parents every resource to its cell, except what the cells of a cluster share", () => {
        const orphans = run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack" && r.cell === undefined && !sharedByCells(r));
        expect(orphans.map((r) => r.urn)).toEqual([]);
        expect(run.resources.filter(sharedByCells).length).toBeGreaterThan(0);
    });

    test("tags every taggable cloud resource and labels every Kubernetes object", () => {
        const untagged = run.resources.filter((r) => {
            if (UNTAGGABLE_TYPES.has(r.type)) return false;
            if (r.type.startsWith("aws:") || r.type.startsWith("azure-native:")) {
                return !TAG_KEYS.every((key) => typeof r.inputs.tags?.[key] === "string") || r.inputs.tags["cellplane:cell"] !== r.cell;
            }
            if (r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers")) {
                const labels = r.inputs.metadata?.labels ?? {};
                // A cell's namespace, which its cluster's operators create, names that cell; the operators' own, the cluster.
                const labelled = sharedByCells(r)
                    ? labels[CLUSTER_LABEL] !== undefined || labels["cellplane.io/cell"] in run.outputs.cells
                    : labels["cellplane.io/cell"] === r.cell;
                return !labelled || !labels["app.kubernetes.io/managed-by"];
            }
            return false;
        });
        expect(untagged.map((r) => `${r.type} ${r.name}`)).toEqual([]);
    });

    test("keeps credentials secret and out of the routing table", async () => {
        for (const cell of Object.values(run.program.cells) as { credentials: pulumi.Output<unknown> }[]) {
            expect(await pulumi.isSecret(cell.credentials)).toBe(true);
        }
        expect(JSON.stringify(run.outputs.routing)).not.toContain(SECRET_MARKER);
        for (const cell of Object.values(run.outputs.cells) as { endpoints: unknown; credentials: { postgresPassword: string } }[]) {
            expect(JSON.stringify(cell.endpoints)).not.toContain(SECRET_MARKER);
            expect(cell.credentials.postgresPassword).toContain(SECRET_MARKER);
        }
    });
});

describe("invalid configuration", () => {
    const dev = stackConfig("dev");

    test("fails before any resource is registered", async () => {
        const cells = [{ id: "dev-eu-aws", cloud: "aws", region: "us-east-1", residency: "eu", size: "small" }];
        await expect(runStack({ ...dev, cells })).rejects.toThrow(ConfigError);
        await expect(runStack({ ...dev, cells })).rejects.toThrow(
            `cellplane:cells[0].region: "us-east-1" is not a aws region of residency eu.`,
        );
        expect(
            (pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> }).getRegisteredResources().size,
        ).toBe(0);
    });

    test("an empty cell list is refused", async () => {
        await expect(runStack({ ...dev, cells: [] })).rejects.toThrow("cellplane:cells: [] Too small: expected array to have >=1 items");
    });
});

/** An input's value, whether Pulumi sent it as a secret or not. */
function unwrapSecret(input: ResourceProps): ResourceProps {
    return input?.[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig ? input.value : input;
}

describe("the local stack", () => {
    let run: ProgramRun;
    const stateDir = "/var/tmp/cellplane-offline-test";
    beforeAll(async () => {
        run = await runStack({ ...stackConfig("local"), stateDir }, "local");
    });

    test("gives every local cell its four servers and its apps on its own ports, with data under the stack's state folder", () => {
        // local-us keeps its exports in Azure Blob (Azurite), local-eu in S3 (SeaweedFS).
        for (const [cell, base, apps, store] of [
            // The scheduler of the lakehouse jobs runs where the store holds a lake (S3), as an app of its own.
            ["local-eu", 15400, ["export", "ingest", "ingest-consumer", "jobScheduler", "router"], "LocalSeaweedfsServer"],
            ["local-us", 15430, ["export", "ingest", "ingest-consumer", "router"], "LocalAzuriteServer"],
        ] as const) {
            const servers = run.resources.filter((r) => r.cell === cell && /Local\w+Server$/.test(r.type));
            expect(servers.map((s) => s.type.split(":").pop()).sort()).toEqual(
                [
                    ...apps.map(() => "LocalAppServer"),
                    "LocalClickhouseServer",
                    "LocalKafkaServer",
                    "LocalPostgresServer",
                    "LocalPostgresExporterServer",
                    "LocalPrometheusServer",
                    "LocalStreamingServer",
                    store,
                ].sort(),
            );
            const appPorts = servers
                .filter((s) => s.type.endsWith("LocalAppServer"))
                .map((s) => unwrapSecret(s.inputs.spec))
                .map((spec) => [/\/([\w-]+)$/.exec(spec.dir)![1], spec.port]);
            expect(appPorts.sort()).toEqual(
                apps.map((app) => [app, base + { ingest: 6, export: 7, router: 8, "ingest-consumer": 9, jobScheduler: 24 }[app]]),
            );
            const dirs = servers.map((s) => s.inputs.dir ?? unwrapSecret(s.inputs.spec).dir);
            for (const dir of dirs) expect(dir.startsWith(`${stateDir}/local/${cell}/`)).toBe(true);
            expect(run.outputs.cells[cell].endpoints).toMatchObject({
                postgres: { host: "127.0.0.1", port: base },
                kafkaBootstrap: `127.0.0.1:${base + 1}`,
                clickhouseUrl: `https://127.0.0.1:${base + 3}`,
                objectStoreEndpoint: `https://127.0.0.1:${base + 4}${cell === "local-us" ? "/localus" : ""}`,
                bucket: `${cell}-exports`,
                ingestUrl: `https://127.0.0.1:${base + 6}`,
                exportUrl: `https://127.0.0.1:${base + 7}`,
                metricsUrl: `https://127.0.0.1:${base + 19}`,
            });
        }
        expect(run.outputs.routers).toEqual({
            eu: { cell: "local-eu", url: "https://127.0.0.1:15408" },
            us: { cell: "local-us", url: "https://127.0.0.1:15438" },
        });
    });

    test("each cell's Prometheus scrapes its own apps and servers, by the rule set's job names, once they exist", () => {
        for (const [cell, base, store] of [
            ["local-eu", 15400, [["object-store", 22, "http"]]],
            // Azurite serves no metrics.
            ["local-us", 15430, []],
        ] as const) {
            const prometheus = run.resources.find((r) => r.cell === cell && r.type.endsWith("LocalPrometheusServer"))!;
            const spec = unwrapSecret(prometheus.inputs.spec);
            expect(spec).toMatchObject({ cell, port: base + 19, rules: fs.readFileSync(RULES_FILE, "utf8") });
            expect(
                spec.targets.map((t: { job: string; port: number; https: boolean }) => [t.job, t.port - base, t.https ? "https" : "http"]),
            ).toEqual([
                ["ingest", 6, "https"],
                ["ingest-consumer", 9, "https"],
                ["export", 7, "https"],
                ["router", 8, "https"],
                ["clickhouse", 3, "https"],
                ["postgres", 21, "http"],
                ["kafka", 20, "http"],
                ...store,
            ]);
            const exporter = unwrapSecret(
                run.resources.find((r) => r.cell === cell && r.type.endsWith("LocalPostgresExporterServer"))!.inputs.spec,
            );
            // As a role with pg_monitor's rights, never the superuser.
            expect(exporter).toMatchObject({ port: base + 21, postgresPort: base, user: "cellplane_monitor" });
            expect(
                unwrapSecret(run.resources.find((r) => r.cell === cell && r.type.endsWith("LocalKafkaServer"))!.inputs.spec).metricsPort,
            ).toBe(base + 20);
            expect(prometheus.dependsOn).toEqual(
                expect.arrayContaining([`${cell}-ingest`, `${cell}-export`, `${cell}-ingest-consumer`, `${cell}-kafka`]),
            );
        }
    });

    test("with localMetrics false a cell runs no Prometheus, no exporter and no monitor role, and publishes no metrics URL", async () => {
        const bare = await runStack({ ...stackConfig("local"), stateDir, localMetrics: false }, "local");
        const types = bare.resources.filter((r) => r.cell === "local-eu").map((r) => r.type.split(":").pop());
        expect(types).not.toContain("LocalPrometheusServer");
        expect(types).not.toContain("LocalPostgresExporterServer");
        const kinds = bare.resources.filter((r) => r.cell === "local-eu" && r.type.endsWith(":LocalObject")).map((r) => r.inputs.kind);
        expect(kinds).not.toContain("postgresMonitorRole");
        expect(bare.outputs.cells["local-eu"].endpoints.metricsUrl).toBeUndefined();
        const kafka = bare.resources.find((r) => r.cell === "local-eu" && r.type.endsWith("LocalKafkaServer"))!;
        expect(unwrapSecret(kafka.inputs.spec).metricsPort).toBeUndefined();
    });

    test("each app connects to ClickHouse as its own user, and only the exporter reaches the cell's bucket and Postgres", () => {
        const ofCell = (type: string) =>
            run.resources.filter((r) => r.cell === "local-eu" && r.type.endsWith(type)).map((r) => unwrapSecret(r.inputs.spec));
        const [clickhouse] = ofCell("LocalClickhouseServer");
        const users = Object.fromEntries(
            ofCell("LocalAppServer")
                .filter((spec) => spec.env.CLICKHOUSE)
                .map((spec) => [/\/([\w-]+)$/.exec(spec.dir)![1], JSON.parse(spec.env.CLICKHOUSE).user]),
        );
        expect(users).toMatchObject({ ingest: "cellplane_ingest", "ingest-consumer": "cellplane_consumer", export: "cellplane_exporter" });
        expect(
            clickhouse.apps.map((app: { name: string; readonly?: boolean; reach?: string[] }) => [
                app.name,
                app.readonly ?? false,
                app.reach ?? [],
            ]),
        ).toEqual([
            ["cellplane_ingest", true, []],
            ["cellplane_consumer", false, []],
            [
                "cellplane_exporter",
                false,
                ["https://127.0.0.1:15404/local-eu-lake/", "https://127.0.0.1:15404/local-eu-exports/", "127.0.0.1:15400"],
            ],
        ]);
        // Each tenant of the cell reads the lake as its own reader, which selects from its tenant's views only.
        expect(clickhouse.readers.map((r: { name: string; database: string }) => [r.name, r.database])).toEqual([
            ["lake_reader_acme", "tenant_acme"],
            ["lake_reader_canary-local-eu", "tenant_canary-local-eu"],
        ]);
    });

    test("creates the app's schema, the events, dead-letter and windows topics, the analytics database and events table, the exports, cold and lake buckets, the tenant directory and the router's table", () => {
        const objects = run.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/cellplane:LocalObject" && r.cell === "local-eu");
        expect(objects.map((r) => r.inputs.kind).sort()).toEqual([
            "bucket",
            "clickhouseDatabase",
            "clickhouseTable",
            "coldBucket",
            "file",
            "file",
            "lakeBucket",
            "postgresMonitorRole",
            "postgresSchema",
            // Kafka's admin and a user per app are three secrets more, the router's key and the lake's query secret
            // two; each server and each app that answers HTTPS (ingest, export, router) has a certificate of the stack's CA.
            ...Array(14).fill("secret"),
            ...Array(9).fill("serverCertificate"),
            "topic",
            "topic",
            "topic",
        ]);
        expect(objects.filter((r) => r.inputs.kind === "topic").map((r) => r.inputs.spec)).toEqual([
            { topic: "events", partitions: 3, retentionDays: 7 },
            { topic: "events-dead-letter", partitions: 1, retentionDays: 30 },
            { topic: "events-windows", partitions: 1, retentionDays: 7 },
        ]);
        expect(objects.find((r) => r.inputs.kind === "coldBucket")!.inputs.spec).toEqual({ bucket: "local-eu-analytics-cold" });
        expect(objects.find((r) => r.inputs.kind === "lakeBucket")!.inputs.spec).toEqual({ bucket: "local-eu-lake" });
        // The ClickHouse server's storage configuration points its cold disk at that bucket, with the store's keys.
        const server = run.resources.find(
            (r) => r.type === "pulumi-nodejs:dynamic/cellplane:LocalClickhouseServer" && r.cell === "local-eu",
        )!;
        const { storage } = secretValue(server.inputs.spec) as { storage: string };
        expect(storage).toMatch(/<endpoint>https:\/\/127\.0\.0\.1:\d+\/local-eu-analytics-cold\/clickhouse\/<\/endpoint>/);
    });

    test("routes each tenant to the local cell of its residency and keeps passwords secret", async () => {
        expect(run.outputs.routing.acme.cell).toBe("local-eu");
        expect(run.outputs.routing.globex.cell).toBe("local-us");
        expect(run.outputs.cells["local-eu"].credentials.postgresPassword).toContain(SECRET_MARKER);
        expect(JSON.stringify(run.outputs.routing)).not.toContain(SECRET_MARKER);
        for (const cell of Object.values(run.program.cells) as { credentials: pulumi.Output<unknown> }[])
            expect(await pulumi.isSecret(cell.credentials)).toBe(true);
    });
});

test("regions of each residency never overlap", () => {
    const eu = new Set([...regionsOf("eu", "aws"), ...regionsOf("eu", "azure")]);
    expect([...regionsOf("us", "aws"), ...regionsOf("us", "azure")].filter((r) => eu.has(r))).toEqual([]);
});
