import { X509Certificate } from "crypto";
import { loadExportConfig } from "../../apps/export/config";
import { loadConsumerConfig, loadIngestConfig } from "../../apps/ingest/config";
import { KAFKA_GRANTS } from "../../components/kafkaGrants";
import { strimziAcl } from "../../components/kubernetes/strimziKafka";
import { CLICKHOUSE_GRANTS } from "../../components/kubernetes/clickhouse";
import { EVENT_HUBS_MAX_RETENTION_DAYS } from "../../components/azure/eventHubsKafka";
import {
    cellTopics,
    CONSUMER_GROUP,
    DEAD_LETTER_RETENTION_DAYS,
    EVENTS_RETENTION_DAYS,
    windowsTopic,
    WINDOWS_GROUP,
} from "../../apps/shared/topics";
import type { ResourceProps } from "../../model/resourceProps";
import {
    CLICKHOUSE_INSTALLATION,
    ofType,
    ProgramRun,
    runStack,
    secretValue,
    single,
    singleCellStack,
    stackConfig,
} from "../support/harness";

/**
 * The contract of every cloud target: each app's environment, as the pod would see it, passes the app's own
 * configuration check (a complete connection to each store it uses, TLS and SASL included), and says where each
 * credential comes from. Keys of Secrets that operators write (Strimzi's users and CA, CloudNativePG's CA) stand in
 * as placeholders of the right shape.
 */
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CELLS = {
    aws: { cloud: "aws", region: "eu-west-1", residency: "eu", size: "medium" },
    azure: { cloud: "azure", region: "westeurope", residency: "eu", size: "medium" },
    kubernetes: { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" },
};
const LOADERS = { ingest: loadIngestConfig, "ingest-consumer": loadConsumerConfig, export: loadExportConfig } as const;
type App = keyof typeof LOADERS;

const OPERATOR_PEM = "-----BEGIN CERTIFICATE-----\noperator's CA\n-----END CERTIFICATE-----";

/** An app's environment as its pod gets it: plain values, its Secret's values, and operators' Secrets by reference. */
function podEnvironment(run: ProgramRun, app: App): { env: Record<string, string>; refs: Record<string, { name: string; key: string }> } {
    const container = ofType(run, DEPLOYMENT).find((d) => d.inputs.metadata.name === app)!.inputs.spec.template.spec.containers[0];
    const secret = ofType(run, "kubernetes:core/v1:Secret").find((s) => s.inputs.metadata.name === `${app}-secrets`)!;
    const env: Record<string, string> = { ...(secretValue(secret.inputs.stringData) as Record<string, string>) };
    const refs: Record<string, { name: string; key: string }> = {};
    for (const variable of container.env as ResourceProps[]) {
        if (variable.value !== undefined) env[variable.name] = variable.value;
        else {
            refs[variable.name] = variable.valueFrom.secretKeyRef;
            env[variable.name] = variable.valueFrom.secretKeyRef.key === "ca.crt" ? OPERATOR_PEM : "operator's secret";
        }
    }
    return { env, refs };
}

describe.each(Object.entries(CELLS))("the apps of a %s cell", (cloud, cell) => {
    describe.each(["dev", "prod"] as const)("in %s", (environment) => {
        let run: ProgramRun;
        const config = (app: App) =>
            LOADERS[app](podEnvironment(run, app).env) as ReturnType<typeof loadExportConfig> & ReturnType<typeof loadIngestConfig>;
        beforeAll(async () => {
            run = await singleCellStack(cell, environment);
        });

        test("each get a complete connection to every store they use, which their own configuration check accepts", () => {
            for (const app of Object.keys(LOADERS) as App[]) expect(() => config(app)).not.toThrow();
            expect(Object.keys(podEnvironment(run, "ingest-consumer").env)).not.toContain("POSTGRES");
            expect(Object.keys(podEnvironment(run, "export").env)).not.toContain("KAFKA");
        });

        test("reach Kafka over TLS, each app as its own principal", () => {
            const ingest = config("ingest");
            expect(ingest.KAFKA.tls).not.toBe("off");
            if (cloud === "aws") {
                expect(ingest.KAFKA.sasl).toEqual({ mechanism: "oauthbearer", tokens: { from: "aws-msk-iam", region: cell.region } });
            }
            if (cloud === "azure") {
                // No shared access key anywhere: each app signs in as its own workload identity (azure.test.ts).
                const namespace = single(run, "azure-native:eventhub:Namespace");
                expect(ingest.KAFKA.sasl).toEqual({
                    mechanism: "oauthbearer",
                    tokens: { from: "azure-entra", scope: `https://${namespace.state.name}.servicebus.windows.net/.default` },
                });
                expect(ofType(run, "azure-native:eventhub:NamespaceAuthorizationRule")).toEqual([]);
                for (const app of ["ingest", "ingest-consumer"] as const) expect(config(app).KAFKA_PASSWORD).toBeUndefined();
            }
            if (cloud === "kubernetes") {
                expect(ingest.KAFKA.sasl).toEqual({ mechanism: "scram-sha-512", username: "cellplane-ingest" });
                for (const app of ["ingest", "ingest-consumer"] as const) {
                    const { refs } = podEnvironment(run, app);
                    expect(refs.KAFKA_CA).toEqual({ name: "kafka-cluster-ca-cert", key: "ca.crt" });
                    expect(refs.KAFKA_PASSWORD).toEqual({
                        name: app === "ingest" ? "cellplane-ingest" : "cellplane-consumer",
                        key: "password",
                    });
                }
                const users = ofType(run, "kubernetes:kafka.strimzi.io/v1:KafkaUser");
                expect(users.map((u) => [u.inputs.metadata.name, u.inputs.spec.authorization.acls]).sort()).toEqual([
                    ["cellplane-consumer", KAFKA_GRANTS.consumer.map(strimziAcl)],
                    ["cellplane-ingest", KAFKA_GRANTS.ingest.map(strimziAcl)],
                    ["cellplane-lakehouse", KAFKA_GRANTS.lakehouse.map(strimziAcl)],
                    ["cellplane-streaming", KAFKA_GRANTS.streaming.map(strimziAcl)],
                ]);
                const readable = (app: "ingest" | "consumer") =>
                    KAFKA_GRANTS[app].filter((g) => g.operations.includes("Read")).map((g) => g.resourceName);
                expect(readable("ingest")).toEqual([]);
                expect(readable("consumer")).toEqual(["events", CONSUMER_GROUP, windowsTopic("events"), WINDOWS_GROUP]);
            }
        });

        test("find the events, dead-letter and windows topics made by the cell, or make them themselves on MSK", () => {
            const topics = cellTopics();
            if (cloud === "azure") {
                const hubs = ofType(run, "azure-native:eventhub:EventHub").map((h) => h.inputs);
                expect(hubs.map((h) => [h.eventHubName, h.partitionCount])).toEqual(topics.map((t) => [t.topic, t.partitions]));
                // Standard namespaces keep events 7 days at most; Azure refuses a longer retention.
                expect(hubs.map((h) => h.retentionDescription.retentionTimeInHours)).toEqual([
                    24 * EVENTS_RETENTION_DAYS,
                    24 * Math.min(DEAD_LETTER_RETENTION_DAYS, EVENT_HUBS_MAX_RETENTION_DAYS.Standard),
                    24 * EVENTS_RETENTION_DAYS,
                ]);
                const [group] = ofType(run, "azure-native:eventhub:ConsumerGroup");
                expect(group.inputs.consumerGroupName).toBe(CONSUMER_GROUP);
            }
            if (cloud === "kubernetes") {
                const made = ofType(run, "kubernetes:kafka.strimzi.io/v1:KafkaTopic").map((t) => t.inputs);
                expect(made.map((t) => [t.metadata.name, t.spec.partitions, t.metadata.labels["strimzi.io/cluster"]])).toEqual(
                    topics.map((t) => [t.topic, t.partitions, "kafka"]),
                );
            }
        });

        test("reach Postgres over TLS verified against the right CA", () => {
            const ingest = config("ingest");
            const expected = { aws: "ca", azure: "system", kubernetes: "ca" }[cloud];
            expect(ingest.POSTGRES.tls).toBe(expected);
            if (cloud === "aws") {
                const pems = ingest.POSTGRES_CA!.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
                expect(pems.length).toBeGreaterThan(0);
                for (const pem of pems) expect(new X509Certificate(pem).subject).toContain(`Amazon RDS ${cell.region} `);
            }
            if (cloud === "kubernetes")
                expect(podEnvironment(run, "ingest").refs.POSTGRES_CA).toEqual({ name: "postgres-ca", key: "ca.crt" });
        });

        test("reach ClickHouse over HTTPS, verified against the cell's own CA, whose certificate names its Service", () => {
            const ingest = config("ingest");
            expect(ingest.CLICKHOUSE).toMatchObject({ url: "https://clickhouse-analytics.cell-1-data.svc.cluster.local:8443", tls: "ca" });
            const ca = ofType(run, "tls:index/selfSignedCert:SelfSignedCert").find((c) => c.inputs.isCaCertificate)!;
            expect(ingest.CLICKHOUSE_CA).toBe(ca.state.certPem);
            const request = single(run, "tls:index/certRequest:CertRequest").inputs;
            expect(request.dnsNames).toEqual([
                "clickhouse-analytics.cell-1-data.svc.cluster.local",
                "clickhouse-analytics.cell-1-data.svc",
            ]);
            const spec = single(run, CLICKHOUSE_INSTALLATION).inputs.spec;
            expect(spec.configuration.settings).toMatchObject({
                https_port: 8443,
                tcp_port_secure: 9440,
                "openSSL/server/certificateFile": "/etc/clickhouse-server/tls/tls.crt",
                "openSSL/server/privateKeyFile": "/etc/clickhouse-server/tls/tls.key",
            });
            const [pod] = spec.templates.podTemplates;
            const secret = ofType(run, "kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/tls")!;
            expect(secret.inputs.metadata.name).toBe("clickhouse-tls");
            // The server's key reaches the cluster only as a secret of the state.
            expect(Object.keys(secretValue(secret.inputs.stringData) as object).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
            expect(pod.spec.volumes).toEqual([{ name: "tls", secret: { secretName: "clickhouse-tls", defaultMode: 0o440 } }]);
            expect(pod.spec.containers[0].volumeMounts).toEqual([{ name: "tls", mountPath: "/etc/clickhouse-server/tls", readOnly: true }]);
            const [service] = spec.templates.serviceTemplates;
            expect(spec.defaults.templates.serviceTemplate).toBe(service.name);
            expect(service.spec.ports.map((p: ResourceProps) => p.port)).toEqual(expect.arrayContaining([8443, 9440]));
        });

        test("write exports with the cell's identity on cloud stores, and with keys where the store has them", () => {
            const store = config("export").OBJECT_STORE;
            expect(store.protocol).toBe(cloud === "azure" ? "azblob" : "s3");
            expect(store.credentials.from).toBe(cloud === "kubernetes" ? "keys" : "identity");
        });

        test("keep the exports' expiry, and sign download URLs for the cell's public name, only where the store is in the cluster", () => {
            const store = config("export").OBJECT_STORE;
            const { expiry, publicEndpoint } = store.protocol === "s3" ? store : { expiry: undefined, publicEndpoint: undefined };
            if (cloud === "kubernetes") {
                expect(expiry).toEqual({ expireAfterDays: 2555, tempExpireAfterDays: 7 });
                // The export app's own public name: its URLs are fetched where its API answers.
                const exportRoute = ofType(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").find(
                    (r) => r.inputs.metadata.name === "export",
                )!;
                expect(publicEndpoint).toBe(`https://${exportRoute.inputs.spec.hostnames[0]}`);
            } else {
                expect(expiry).toBeUndefined();
                expect(publicEndpoint).toBeUndefined();
            }
        });

        test("name the ClickHouse cluster their schema is created on when the cell has several replicas", () => {
            expect(config("ingest-consumer").CLICKHOUSE.cluster).toBe("cell");
        });

        test("reach ClickHouse each as its own user, granted what its app does", () => {
            const users = ofType(run, CLICKHOUSE_INSTALLATION)[0].inputs.spec.configuration.users;
            for (const [app, user] of [
                ["ingest", "cellplane_ingest"],
                ["ingest-consumer", "cellplane_consumer"],
                ["export", "cellplane_exporter"],
            ] as const) {
                expect(config(app).CLICKHOUSE.user).toBe(user);
                expect(users[`${user}/grants/query`]).toEqual(CLICKHOUSE_GRANTS[user.replace("cellplane_", "") as "ingest"]);
                expect(users[`${user}/k8s_secret_password`]).toBe(`cell-1-data/clickhouse-credentials/${user.replace("cellplane_", "")}`);
            }
            expect(users["cellplane_ingest/grants/query"].join(" ")).not.toMatch(/INSERT|CREATE/);
        });
    });
});

describe.each([
    ["kubernetes", "small", 1, 1],
    ["kubernetes", "large", 4, 2],
    ["aws", "large", 4, 2],
] as const)("the analytics schema of a %s cell of size %s", (cloud, size, shards, replicas) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack({ ...CELLS[cloud], size }, "prod");
    });

    test(`is created on ${shards} shard(s) of ${replicas} replica(s), ON CLUSTER exactly when there is more than one server`, () => {
        const [installation] = ofType(run, CLICKHOUSE_INSTALLATION);
        const [cluster] = installation.inputs.spec.configuration.clusters;
        expect(cluster.layout).toEqual({ shardsCount: shards, replicasCount: replicas });
        const consumer = loadConsumerConfig(podEnvironment(run, "ingest-consumer").env);
        expect(consumer.CLICKHOUSE.cluster).toBe(shards * replicas > 1 ? cluster.name : undefined);
    });
});

describe.each([
    ["with TLS and SASL (the default)", {}, { kafka: "scram-sha-512", tls: "ca" }],
    ["in plain text (`cellplane:localTls: false`)", { localTls: false, objectStore: "s3" }, { kafka: "none", tls: "off" }],
] as const)("the apps of a local cell %s", (_title, settings, expected) => {
    let run: ProgramRun;
    beforeAll(async () => {
        const { objectStore, ...stack } = settings as { objectStore?: string; localTls?: boolean };
        const config = stackConfig("local") as { cells: Record<string, unknown>[] };
        // Azure Blob is HTTPS only, so a plain-text stack keeps every cell's exports in S3.
        const cells = config.cells.map((cell) => (objectStore ? { ...cell, objectStore } : cell));
        run = await runStack({ ...config, cells, stateDir: "/var/tmp/cellplane-offline-test", ...stack }, "local");
    });
    /** An app's environment as its process gets it: its plain and secret settings together. */
    const environmentOf = (app: App): Record<string, string> => {
        const server = run.resources.find(
            (r) =>
                r.cell === "local-eu" && r.type.endsWith("LocalAppServer") && JSON.stringify(r.inputs.spec).includes(`/local-eu/${app}"`),
        )!;
        const spec = server.inputs.spec as ResourceProps;
        return (spec.value ?? spec).env;
    };

    test("each get a complete connection, verified against the stack's CA unless the stack runs in plain text", () => {
        for (const app of Object.keys(LOADERS) as App[]) {
            const config = LOADERS[app](environmentOf(app)) as ResourceProps;
            for (const store of ["POSTGRES", "CLICKHOUSE", "KAFKA"].filter((s) => config[s])) expect(config[store].tls).toBe(expected.tls);
        }
        const ingest = loadIngestConfig(environmentOf("ingest"));
        expect(ingest.KAFKA.sasl.mechanism).toBe(expected.kafka);
        if (expected.kafka === "scram-sha-512") {
            expect(ingest.KAFKA.sasl).toEqual({ mechanism: "scram-sha-512", username: "cellplane-ingest" });
            expect(loadConsumerConfig(environmentOf("ingest-consumer")).KAFKA.sasl).toEqual({
                mechanism: "scram-sha-512",
                username: "cellplane-consumer",
            });
        }
    });
});

describe("a local cell in Azure's flavour (`objectStore: azblob`)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        const config = stackConfig("local") as { cells: Record<string, unknown>[] };
        const cells = config.cells.map((cell, i) => (i === 0 ? { ...cell, objectStore: "azblob" } : cell));
        run = await runStack({ ...config, cells, stateDir: "/var/tmp/cellplane-offline-test" }, "local");
    });

    test("keeps its exports in its own Blob account, which only the exporter reaches, with the account's key", () => {
        const ofEu = (type: string) => run.resources.filter((r) => r.cell === "local-eu" && r.type.endsWith(type));
        expect(ofEu("LocalSeaweedfsServer")).toHaveLength(0);
        const [azurite] = ofEu("LocalAzuriteServer");
        const spec = (azurite.inputs.spec as ResourceProps).value ?? azurite.inputs.spec;
        expect(spec).toMatchObject({ account: "localeu", port: 15404 });
        expect(ofEu("LocalObject").some((o) => o.inputs.kind === "container" && o.inputs.spec.container === "local-eu-exports")).toBe(true);
        const exporter = run.resources.find(
            (r) =>
                r.cell === "local-eu" && r.type.endsWith("LocalAppServer") && JSON.stringify(r.inputs.spec).includes('/local-eu/export"'),
        )!;
        const env = ((exporter.inputs.spec as ResourceProps).value ?? exporter.inputs.spec).env;
        expect(loadExportConfig(env).OBJECT_STORE).toEqual({
            protocol: "azblob",
            endpoint: "https://127.0.0.1:15404/localeu",
            account: "localeu",
            container: "local-eu-exports",
            credentials: { from: "key" },
        });
        const [clickhouse] = ofEu("LocalClickhouseServer");
        const apps = ((clickhouse.inputs.spec as ResourceProps).value ?? clickhouse.inputs.spec).apps as ResourceProps[];
        expect(apps.find((a) => a.name === "cellplane_exporter")!.reach).toEqual(["https://127.0.0.1:15404/localeu", "127.0.0.1:15400"]);
    });
});
