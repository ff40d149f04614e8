import { LAKEHOUSE_JOBS } from "../../apps/lakehouse/jobs";
import { VERSIONS } from "../../model/versions";
import { randomBytes } from "crypto";
import * as fs from "fs";
import { createServer, Server } from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { scrapeLabels } from "../../components/kubernetes/monitoring";
import { RULES_FILE } from "../../components/ruleSet";
import { CHARTS, type ChartName } from "../../components/kubernetes/charts";
import { OPERATORS_NAMESPACE } from "../../components/kubernetes/clusterOperators";
import { CLICKHOUSE_POD_LABELS } from "../../components/kubernetes/clickhouse";
import { CLUSTER_LABEL } from "../../model/labels";
import { REGION_LABEL, regionProblem } from "../../components/kubernetes/clusterRegion";
import { CELL_SHAPES } from "../../model/sizing";
import {
    CLICKHOUSE_INSTALLATION,
    KEEPER_INSTALLATION,
    ofType,
    ProgramRun,
    runStack,
    SECRET_MARKER,
    secretValue,
    single,
    singleCellStack,
} from "../support/harness";
import type { ResourceProps } from "../../model/resourceProps";

const cell = { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" };
const KAFKA = "kubernetes:kafka.strimzi.io/v1:Kafka";
const NODE_POOL = "kubernetes:kafka.strimzi.io/v1:KafkaNodePool";
const POSTGRES = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";
const POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor";
const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

/** Every container of a custom resource's pod templates. */
function containersOf(resource: { inputs: ResourceProps }): ResourceProps[] {
    return resource.inputs.spec.templates.podTemplates.flatMap((t: ResourceProps) => t.spec.containers);
}

describe.each([
    { environment: "dev" as const, production: false },
    { environment: "prod" as const, production: true },
])("a Kubernetes cell in $environment", ({ environment, production }) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack(cell, environment);
    });

    test("talks to the cluster of its kube context: its data in a namespace of its own, the operators in the cluster's", () => {
        expect(single(run, "pulumi:providers:kubernetes").inputs.context).toBe("onprem-eu");
        expect(
            ofType(run, "kubernetes:core/v1:Namespace")
                .map((n) => n.inputs.metadata.name)
                .sort(),
        ).toEqual(["cell-1-data", OPERATORS_NAMESPACE]);
    });

    test("installs every operator from a pinned chart version", () => {
        const releases = ofType(run, "kubernetes:helm.sh/v3:Release");
        const { awsLoadBalancerController: _onlyOnEks, ...installed } = CHARTS;
        expect(releases.map((r) => r.inputs.chart).sort()).toEqual(
            Object.values(installed)
                .map((c) => c.chart)
                .sort(),
        );
        for (const release of releases) {
            const pinned = Object.values(CHARTS).find((c) => c.chart === release.inputs.chart)!;
            expect(release.inputs).toMatchObject({ version: pinned.version, repositoryOpts: { repo: pinned.repo } });
        }
    });

    test("the cluster's Prometheus scrapes every app and Postgres with their job and cell, and evaluates the rule set once", () => {
        const monitoring = ofType(run, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === CHARTS.monitoring.chart)!;
        // Without these, kube-prometheus-stack's Prometheus selects only monitors and rules labelled with its release.
        expect(monitoring.inputs.values.prometheus.prometheusSpec).toMatchObject({
            serviceMonitorSelectorNilUsesHelmValues: false,
            podMonitorSelectorNilUsesHelmValues: false,
            ruleSelectorNilUsesHelmValues: false,
        });
        const services = ofType(run, "kubernetes:core/v1:Service").filter((svc) => svc.inputs.metadata.labels["app.kubernetes.io/part-of"]);
        const monitors = ofType(run, SERVICE_MONITOR);
        expect(monitors.map((m) => m.inputs.metadata.name).sort()).toEqual(services.map((svc) => svc.inputs.metadata.name).sort());
        for (const monitor of monitors) {
            const service = services.find((svc) => svc.inputs.metadata.name === monitor.inputs.metadata.name)!;
            expect(monitor.inputs.metadata.namespace).toBe(service.inputs.metadata.namespace);
            expect(monitor.inputs.spec.selector.matchLabels).toEqual(service.inputs.spec.selector);
            const [endpoint] = monitor.inputs.spec.endpoints;
            expect(service.inputs.spec.ports.map((p: ResourceProps) => p.name)).toContain(endpoint.port);
            expect(endpoint).toMatchObject({ path: "/metrics", relabelings: scrapeLabels(monitor.inputs.metadata.name, "cell-1") });
            expect(monitor.dependsOn).toContain(monitoring.name);
        }
        const podMonitors = Object.fromEntries(ofType(run, POD_MONITOR).map((m) => [m.inputs.metadata.name, m.inputs]));
        expect(Object.keys(podMonitors).sort()).toEqual(["clickhouse", "kafka", "object-store", "postgres"]);
        // A PodMonitor names a container port: ClickHouse's servers declare theirs where their settings open it.
        const installation = single(run, CLICKHOUSE_INSTALLATION).inputs;
        expect(installation.spec.configuration.settings).toMatchObject({ "prometheus/endpoint": "/metrics", "prometheus/port": 9363 });
        const [clickhouseServer] = installation.spec.templates.podTemplates[0].spec.containers;
        expect(clickhouseServer.ports).toEqual([{ name: "metrics", containerPort: 9363 }]);
        expect(podMonitors.clickhouse.spec).toEqual({
            selector: { matchLabels: CLICKHOUSE_POD_LABELS },
            podMetricsEndpoints: [{ port: "metrics", interval: "15s", relabelings: scrapeLabels("clickhouse", "cell-1") }],
        });
        // SeaweedFS's chart names a server's metrics port `metrics` only where its values give it a `metricsPort`.
        const seaweedfs = ofType(run, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "seaweedfs")!.inputs.values;
        expect(["volume", "filer", "s3"].map((part) => seaweedfs[part].metricsPort)).toEqual([9327, 9327, 9327]);
        expect(podMonitors["object-store"].spec).toEqual({
            selector: { matchLabels: { "app.kubernetes.io/name": "seaweedfs" } },
            podMetricsEndpoints: [{ port: "metrics", interval: "15s", relabelings: scrapeLabels("object-store", "cell-1") }],
        });
        const postgres = single(run, POSTGRES);
        expect(podMonitors.postgres).toMatchObject({
            metadata: { namespace: "cell-1-data" },
            spec: {
                selector: { matchLabels: { "cnpg.io/cluster": postgres.inputs.metadata.name } },
                podMetricsEndpoints: [{ port: "metrics", relabelings: scrapeLabels("postgres", "cell-1") }],
            },
        });
        // Strimzi serves the JMX exporter on port `tcp-prometheus` only when the Kafka names its config.
        const kafka = single(run, KAFKA).inputs;
        const pool = single(run, NODE_POOL).inputs;
        const exporter = kafka.spec.kafka.metricsConfig;
        expect(exporter.type).toBe("jmxPrometheusExporter");
        const configMap = ofType(run, "kubernetes:core/v1:ConfigMap").find(
            (c) => c.inputs.metadata.name === exporter.valueFrom.configMapKeyRef.name,
        )!;
        expect(Object.keys(configMap.inputs.data)).toEqual([exporter.valueFrom.configMapKeyRef.key]);
        expect(podMonitors.kafka.spec).toEqual({
            selector: { matchLabels: { "strimzi.io/cluster": kafka.metadata.name, "strimzi.io/pool-name": pool.metadata.name } },
            podMetricsEndpoints: [{ port: "tcp-prometheus", interval: "15s", relabelings: scrapeLabels("kafka", "cell-1") }],
        });
        const rules = single(run, PROMETHEUS_RULE);
        expect(rules.inputs.metadata.namespace).toBe(OPERATORS_NAMESPACE);
        expect(rules.inputs.spec.groups).toEqual(parseYaml(fs.readFileSync(RULES_FILE, "utf8")).groups);
        expect(rules.dependsOn).toContain(monitoring.name);
    });

    test("denies all traffic in the cell's namespace but its own paths", () => {
        const policies = Object.fromEntries(
            ofType(run, NETWORK_POLICY).map((p) => [p.inputs.metadata.name, { namespace: p.inputs.metadata.namespace, ...p.inputs.spec }]),
        );
        expect(Object.keys(policies).sort()).toEqual([
            "acme-solver",
            "clickhouse",
            "default-deny",
            "dns",
            "files-from-edge",
            "from-edge",
            "from-operators",
            "https-out",
            "within-cell",
        ]);
        for (const policy of Object.values<ResourceProps>(policies)) expect(policy.namespace).toBe("cell-1-data");
        expect(policies["default-deny"]).toEqual({ namespace: "cell-1-data", podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        expect(policies["within-cell"]).toMatchObject({
            ingress: [{ from: [{ podSelector: {} }] }],
            egress: [{ to: [{ podSelector: {} }] }],
        });
        // ClickHouse answers the cell's pods over TLS only; its plain ports only its own servers (and the operator).
        const clickhouse = { "clickhouse.altinity.com/chi": "analytics" };
        expect(policies["within-cell"].podSelector).toEqual({
            matchExpressions: [{ key: "clickhouse.altinity.com/chi", operator: "DoesNotExist" }],
        });
        expect(policies.clickhouse).toMatchObject({
            podSelector: { matchLabels: clickhouse },
            ingress: [
                {
                    from: [{ podSelector: {} }],
                    ports: [
                        { protocol: "TCP", port: 8443 },
                        { protocol: "TCP", port: 9440 },
                    ],
                },
                { from: [{ podSelector: { matchLabels: clickhouse } }] },
            ],
        });
        expect(policies["from-operators"].ingress).toEqual([
            { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": OPERATORS_NAMESPACE } } }] },
        ]);
        // From outside the cell, only its Gateway reaches its public apps, on their port, and the CA cert-manager's solvers.
        expect(policies["from-edge"]).toMatchObject({
            podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["ingest", "export", "router"] }] },
            ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 8080 }] }],
        });
        expect(policies["acme-solver"].ingress).toEqual([{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 8089 }] }]);
        // Everything runs in the cluster: nothing leaves it but DNS and HTTPS (cloud APIs, the API server).
        expect(policies["https-out"].egress).toEqual([
            {
                to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
                ports: [
                    { protocol: "TCP", port: 443 },
                    { protocol: "TCP", port: 6443 },
                ],
            },
        ]);
    });

    test("mounts no Kubernetes API token in any pod it defines but the Spark drivers', which ask the API for their executors", () => {
        const pods = [...ofType(run, CLICKHOUSE_INSTALLATION), ...ofType(run, KEEPER_INSTALLATION)].flatMap((i) =>
            i.inputs.spec.templates.podTemplates.map((t: ResourceProps) => t.spec),
        );
        expect(pods.length).toBeGreaterThanOrEqual(2);
        for (const pod of pods) expect(pod.automountServiceAccountToken).toBe(false);
        for (const account of ofType(run, "kubernetes:core/v1:ServiceAccount"))
            expect(account.inputs.automountServiceAccountToken).toBe(false);
        const sparkJobs = ofType(run, "kubernetes:sparkoperator.k8s.io/v1beta2:ScheduledSparkApplication");
        expect(sparkJobs).toHaveLength(LAKEHOUSE_JOBS.length);
        for (const { inputs } of sparkJobs) {
            expect(inputs.spec.template.driver.template.spec.automountServiceAccountToken).toBe(true);
            expect(inputs.spec.template.executor.template.spec.automountServiceAccountToken).toBe(false);
        }
    });

    test("runs Kafka in KRaft mode through Strimzi node pools, replicated three times", () => {
        const kafka = single(run, KAFKA).inputs;
        // Strimzi 1.x serves only the v1 API and runs KRaft from node pools alone: no ZooKeeper, no opt-in annotations.
        expect(kafka).toMatchObject({ apiVersion: "kafka.strimzi.io/v1", spec: { kafka: { version: VERSIONS.strimziKafka.version } } });
        expect(kafka.spec.zookeeper).toBeUndefined();
        expect(kafka.spec.kafka.config["default.replication.factor"]).toBe(3);
        expect(kafka.spec.kafka.config["min.insync.replicas"]).toBe(2);
        // Strimzi's listener is TLS only; SCRAM and ACLs make each app a principal of its own.
        expect(kafka.spec.kafka.listeners).toEqual([
            { name: "tls", port: 9093, type: "internal", tls: true, authentication: { type: "scram-sha-512" } },
        ]);
        expect(kafka.spec.kafka.authorization).toEqual({ type: "simple" });
        const pool = single(run, NODE_POOL).inputs;
        expect(pool.spec).toMatchObject({ replicas: CELL_SHAPES.medium.kafkaBrokers, roles: ["controller", "broker"] });
        expect(pool.metadata.labels["strimzi.io/cluster"]).toBe(kafka.metadata.name);
    });

    test("runs PostgreSQL 16 through CloudNativePG with a secret app password", () => {
        const postgres = single(run, POSTGRES).inputs;
        expect(postgres.spec.imageName).toMatch(/postgresql:16\./);
        expect(postgres.spec.instances).toBe(production ? 3 : CELL_SHAPES.medium.postgresInstances);
        expect(postgres.spec.enableSuperuserAccess).toBe(false);
        const secret = ofType(run, "kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/basic-auth")!;
        expect(secretValue(secret.inputs.stringData)).toEqual({
            username: "cellplane",
            password: `${SECRET_MARKER}cell-1-postgres-password`,
        });
    });

    test("runs ClickHouse with shards and replicas from the cell size, coordinated by Keeper", () => {
        const installation = single(run, CLICKHOUSE_INSTALLATION).inputs;
        expect(installation.spec.configuration.clusters).toEqual([{ name: "cell", layout: { shardsCount: 2, replicasCount: 2 } }]);
        expect(installation.spec.configuration.zookeeper.nodes[0]).toEqual({
            host: "keeper-keeper.cell-1-data.svc.cluster.local",
            port: 2181,
        });
        expect(single(run, KEEPER_INSTALLATION).inputs.spec.configuration.clusters[0].layout).toEqual({
            replicasCount: CELL_SHAPES.medium.keeperReplicas,
        });
    });

    test("keeps ClickHouse's cold volume in the cell's own SeaweedFS bucket, with the keys from the cell's Secret, none in the spec", () => {
        const installation = single(run, CLICKHOUSE_INSTALLATION).inputs;
        const xml: string = installation.spec.configuration.files["config.d/storage.xml"];
        expect(xml).toContain(
            "<endpoint>http://seaweedfs-s3.cell-1-data.svc.cluster.local:8333/cell-1-analytics-cold/clickhouse/</endpoint>",
        );
        expect(xml).toMatch(/<tiered>\s*<volumes>\s*<default><disk>default<\/disk><\/default>\s*<cold><disk>cold<\/disk><\/cold>/);
        const [container] = containersOf(single(run, CLICKHOUSE_INSTALLATION));
        const fromEnv = [...xml.matchAll(/from_env="([^"]+)"/g)].map((m) => m[1]);
        expect(fromEnv).toHaveLength(2);
        expect(container.env).toEqual(
            fromEnv.map((name, i) => ({
                name,
                valueFrom: { secretKeyRef: { name: "seaweedfs-keys", key: ["accessKeyId", "secretAccessKey"][i] } },
            })),
        );
        const keys = secretValue(
            ofType(run, "kubernetes:core/v1:Secret").find((s) => s.inputs.metadata.name === "seaweedfs-keys")!.inputs.stringData,
        ) as Record<string, string>;
        expect(JSON.stringify(installation)).not.toContain(keys.secretAccessKey);
    });

    test("pins every image, sets requests and limits, and runs pods as non-root", () => {
        for (const resource of [single(run, CLICKHOUSE_INSTALLATION), single(run, KEEPER_INSTALLATION)]) {
            for (const container of containersOf(resource)) {
                expect(container.image).toMatch(/:\d+(\.\d+)+$/);
                expect(container.resources.requests).toEqual(container.resources.limits);
                expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
            }
            for (const template of resource.inputs.spec.templates.podTemplates)
                expect(template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101 });
        }
        for (const release of ofType(run, "kubernetes:helm.sh/v3:Release")) {
            expect(JSON.stringify(release.inputs.values)).toMatch(/"limits":\{"cpu":"[^"]+","memory":"[^"]+"\}/);
        }
    });

    test("serves objects from SeaweedFS with the cell's versioned bucket, keys and SSE key from the cell's Secret", () => {
        const release = ofType(run, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "seaweedfs")!;
        const { values } = release.inputs;
        // The S3 Service is "<release>-s3", and the endpoint below must name it.
        expect(release.inputs.name).toBe("seaweedfs");
        expect(values.s3).toMatchObject({
            enabled: true,
            port: 8333,
            enableAuth: true,
            createBuckets: [{ name: "cell-1-exports", versioning: "Enabled" }, { name: "cell-1-analytics-cold" }, { name: "cell-1-lake" }],
        });
        const keys = ofType(run, "kubernetes:core/v1:Secret").find((s) => s.inputs.metadata.name === "seaweedfs-keys")!;
        const { admin } = values.s3.credentials;
        expect(admin.existingSecret).toBe("seaweedfs-keys");
        expect(Object.keys(secretValue(keys.inputs.stringData) as object)).toEqual(
            expect.arrayContaining([admin.accessKeyKey, admin.secretKeyKey, "sseKey"]),
        );
        expect(values.s3.extraEnvironmentVars.WEED_S3_SSE_KEY).toEqual({ secretKeyRef: { name: "seaweedfs-keys", key: "sseKey" } });
        // The chart (4.46 and later) refuses to render an admin that listens beyond loopback without a password.
        expect(values.admin.secret.existingSecret).toBe("seaweedfs-keys");
        expect(Object.keys(secretValue(keys.inputs.stringData) as object)).toEqual(
            expect.arrayContaining([values.admin.secret.userKey, values.admin.secret.pwKey]),
        );
        // The chart applies a security context only when it says `enabled: true`, and otherwise runs as root.
        for (const component of ["master", "volume", "filer", "s3", "admin", "worker"]) {
            expect(values[component].podSecurityContext).toMatchObject({ enabled: true, runAsNonRoot: true, runAsUser: 1000 });
            expect(values[component].containerSecurityContext).toMatchObject({ enabled: true, allowPrivilegeEscalation: false });
        }
        expect(values.volume.dataDirs).toEqual([expect.objectContaining({ type: "persistentVolumeClaim" })]);
        expect(values.volume.replicas).toBe(production ? 3 : 1);
        expect(values.master.defaultReplication).toBe(production ? "001" : "000");
        expect(run.outputs.cells["cell-1"].endpoints).toMatchObject({
            bucket: "cell-1-exports",
            objectStoreEndpoint: "http://seaweedfs-s3.cell-1-data.svc.cluster.local:8333",
            kafkaBootstrap: "kafka-kafka-bootstrap.cell-1-data.svc:9093",
            postgres: { host: "postgres-rw.cell-1-data.svc", port: 5432 },
            clickhouseUrl: "https://clickhouse-analytics.cell-1-data.svc.cluster.local:8443",
        });
    });
});

test("installs the Flink operator from Apache's archive, which keeps every release once a newer one ships", () => {
    expect(CHARTS.flink.repo).toBe(`https://archive.apache.org/dist/flink/flink-kubernetes-operator-${CHARTS.flink.version}/`);
});

describe("cells that share a cluster", () => {
    const k8s = (id: string, kubeContext: string) => ({ id, ...cell, size: "small", kubeContext });
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runStack({
            environment: "dev",
            owner: "data-platform",
            costCenter: "cc-1",
            dnsZone: "cellplane.example.com",
            cells: [k8s("eu-a", "onprem-eu"), k8s("eu-b", "onprem-eu"), k8s("eu-c", "lab-eu")],
            tenants: [{ id: "acme", residency: "eu" }],
        });
    });
    const releasesOn = (kubeContext: string) => {
        const provider = ofType(run, "pulumi:providers:kubernetes").find((p) => p.inputs.context === kubeContext)!;
        return ofType(run, "kubernetes:helm.sh/v3:Release").filter(
            (r) => r.provider?.startsWith(provider.urn) && r.inputs.chart !== CHARTS.seaweedfs.chart,
        );
    };

    test("install each operator once per cluster, outside every cell, watching all of its cells' namespaces", () => {
        expect(ofType(run, "pulumi:providers:kubernetes").map((p) => p.inputs.context)).toEqual(["onprem-eu", "lab-eu"]);
        const shared = releasesOn("onprem-eu");
        expect(shared.map((r) => r.inputs.chart).sort()).toEqual(
            [
                ...["strimzi", "cloudnativePg", "clickhouse", "flink", "spark", "monitoring"].map((o) => CHARTS[o as ChartName].chart),
                "cert-manager",
            ].sort(),
        );
        for (const release of shared) {
            expect(release.cell).toBeUndefined();
            expect(release.inputs.namespace).toBe(release.inputs.chart === "cert-manager" ? "cert-manager" : OPERATORS_NAMESPACE);
        }
        const values = (chart: ChartName) => shared.find((r) => r.inputs.chart === CHARTS[chart].chart)!.inputs.values;
        const watched = ["eu-a-data", "eu-b-data"];
        expect(values("strimzi").watchNamespaces).toEqual(watched);
        expect(values("flink").watchNamespaces).toEqual(watched);
        expect(values("spark").spark.jobNamespaces).toEqual(watched);
        expect(values("clickhouse").configs.files["config.yaml"].watch.namespaces).toEqual(watched);
        expect(releasesOn("lab-eu").length).toBe(shared.length);
        // One rule set per cluster: its rules aggregate by cell, so a copy per cell would double every alert.
        expect(ofType(run, PROMETHEUS_RULE).map((r) => [r.inputs.metadata.namespace, r.cell])).toEqual([
            [OPERATORS_NAMESPACE, undefined],
            [OPERATORS_NAMESPACE, undefined],
        ]);
    });

    test("each cell's data namespace carries its own cell label; the operators' namespace names the cluster", () => {
        const namespaces = ofType(run, "kubernetes:core/v1:Namespace");
        const labelsOf = (name: string) => namespaces.find((n) => n.inputs.metadata.name === name)!.inputs.metadata.labels;
        expect(labelsOf("eu-b-data")["cellplane.io/cell"]).toBe("eu-b");
        const operators = namespaces.filter((n) => n.inputs.metadata.name === OPERATORS_NAMESPACE);
        expect(operators.map((n) => n.inputs.metadata.labels[CLUSTER_LABEL])).toEqual(["kube-onprem-eu", "kube-lab-eu"]);
        expect(operators[0].inputs.metadata.labels["cellplane.io/cell"]).toBeUndefined();
    });

    test("each cell's custom resources wait for its cluster's operator", () => {
        const kafka = ofType(run, KAFKA).find((k) => k.cell === "eu-b")!;
        const strimzi = releasesOn("onprem-eu").find((r) => r.inputs.chart === CHARTS.strimzi.chart)!;
        expect(kafka.dependsOn).toContain(strimzi.name);
    });
});

test("a small cell in dev runs single-node Kafka with replication factor 1", async () => {
    const run = await singleCellStack({ ...cell, size: "small" }, "dev");
    expect(single(run, NODE_POOL).inputs.spec.replicas).toBe(1);
    expect(single(run, KAFKA).inputs.spec.kafka.config["default.replication.factor"]).toBe(1);
});

/**
 * The cluster's own word on where it runs: a stand-in for its API server (no Kubernetes API server runs here)
 * answers `GET /api/v1/nodes` as the real one does, behind the kubeconfig of the cell's context.
 */
test("every volume a cell claims is of its configured StorageClass, and of the cluster's default otherwise", async () => {
    /** The StorageClass each of the cell's volume templates asks for, by what claims it. */
    const classes = (run: ProgramRun) => {
        const [kafkaPool] = ofType(run, "kubernetes:kafka.strimzi.io/v1:KafkaNodePool");
        const [postgres] = ofType(run, "kubernetes:postgresql.cnpg.io/v1:Cluster");
        const installations = [
            ...ofType(run, CLICKHOUSE_INSTALLATION),
            ...ofType(run, "kubernetes:clickhouse-keeper.altinity.com/v1:ClickHouseKeeperInstallation"),
        ];
        const release = (chart: string) =>
            ofType(run, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === chart)!.inputs.values;
        const seaweed = release("seaweedfs");
        return [
            // The cluster's Prometheus, which the cell's operators bring.
            release("kube-prometheus-stack").prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName,
            ...kafkaPool.inputs.spec.storage.volumes.map((v: ResourceProps) => v.class),
            postgres.inputs.spec.storage.storageClass,
            ...installations.flatMap((i) =>
                i.inputs.spec.templates.volumeClaimTemplates.map((t: ResourceProps) => t.spec.storageClassName),
            ),
            seaweed.master.data.storageClass,
            seaweed.filer.data.storageClass,
            ...seaweed.volume.dataDirs.map((d: ResourceProps) => d.storageClass),
        ];
    };
    const configured = await singleCellStack({ ...cell, storageClass: "fast-ssd" } as typeof cell, "prod");
    expect(classes(configured).length).toBeGreaterThanOrEqual(8);
    expect(new Set(classes(configured))).toEqual(new Set(["fast-ssd"]));
    expect(new Set(classes(await singleCellStack(cell, "prod")))).toEqual(new Set([undefined]));
});

describe("a kubernetes cell's cluster must sit in the cell's region", () => {
    let server: Server;
    let regions: (string | undefined)[] = [];
    let seenAuthorization: string | undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-kubeconfig-"));
    // Generated for this run: the kubeconfig's own token, and the one its exec plugin prints.
    const staticToken = randomBytes(16).toString("hex");
    const execToken = randomBytes(16).toString("hex");

    beforeAll(async () => {
        server = createServer((request, response) => {
            seenAuthorization = request.headers.authorization;
            if (request.url !== "/api/v1/nodes") return void response.writeHead(404).end();
            const items = regions.map((region, i) => ({
                metadata: { name: `node-${i}`, labels: region ? { [REGION_LABEL]: region } : {} },
            }));
            response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kind: "NodeList", items }));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as AddressInfo;
        const exec = { command: process.execPath, args: ["-e", `console.log(JSON.stringify({ status: { token: "${execToken}" } }))`] };
        fs.writeFileSync(
            path.join(dir, "config"),
            toYaml({
                contexts: [
                    { name: "onprem-eu", context: { cluster: "eu", user: "ops" } },
                    { name: "via-exec", context: { cluster: "eu", user: "exec" } },
                ],
                clusters: [{ name: "eu", cluster: { server: `http://127.0.0.1:${port}` } }],
                users: [
                    { name: "ops", user: { token: staticToken } },
                    { name: "exec", user: { exec } },
                ],
            }),
        );
        process.env.KUBECONFIG = path.join(dir, "config");
    });

    afterAll(() => {
        delete process.env.KUBECONFIG;
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("nodes labelled with another region fail the run before anything is created, naming the cell, the context and the regions", async () => {
        regions = ["northeurope", "eastus"];
        await expect(singleCellStack(cell, "dev")).rejects.toThrow(
            'cell "cell-1" (residency eu, region northeurope) points at kube context "onprem-eu", whose nodes are labelled topology.kubernetes.io/region=eastus',
        );
        expect(seenAuthorization).toBe(`Bearer ${staticToken}`);
    });

    test("nodes of the cell's region, or without a region label, let the cell through; an exec plugin's token is used", async () => {
        regions = ["northeurope", "northeurope"];
        expect(single(await singleCellStack(cell, "dev"), "pulumi:providers:kubernetes").inputs.context).toBe("onprem-eu");
        regions = [undefined];
        await expect(singleCellStack(cell, "dev")).resolves.toBeDefined();
        regions = ["westeurope"];
        await expect(singleCellStack({ ...cell, kubeContext: "via-exec" }, "dev")).rejects.toThrow(
            "labelled topology.kubernetes.io/region=westeurope",
        );
        expect(seenAuthorization).toBe(`Bearer ${execToken}`);
    });

    test("the check itself: only regions other than the cell's are a problem", () => {
        const eu = { id: "c", region: "northeurope", residency: "eu" as const, kubeContext: "k" };
        expect(regionProblem(eu, [])).toBeUndefined();
        expect(regionProblem(eu, ["northeurope"])).toBeUndefined();
        expect(regionProblem(eu, ["northeurope", "us-east-1"])).toContain("=us-east-1.");
    });
});
