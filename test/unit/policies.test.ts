import * as path from "path";
import { StackValidationArgs, StackValidationPolicy, UnknownValueError, unknownCheckingProxy } from "@pulumi/policy";
import { TENANT_DIRECTORY_CONFIGMAP, TENANT_DIRECTORY_KEY, TenantDirectory } from "../../model/tenantDirectory";
import { PackConfig, packConfigOf, runPolicies } from "../../policies/check/engine";
import { storageConfiguration } from "../../components/coldStorage";
import { POLICIES } from "../../policies/pack";
import { T } from "../../policies/types";
import { residencyBoundaryDocument } from "../../components/aws/residencyBoundary";
import { ALLOWED_LOCATIONS_POLICY } from "../../model/guardrails";
import { pinnedVersionsOf, supportedVersionsPolicies } from "../../policies/versions";
import { imageOf, VERSIONS } from "../../model/versions";
import { MockedResource, ProgramRun, runStackFile, stackConfig, stackNames } from "../support/harness";
import type { ResourceProps } from "../../model/resourceProps";

/** A resource as the offline run records it, with the same props as inputs and outputs. */
function resource(type: string, name: string, props: ResourceProps, extra: Partial<MockedResource> = {}): MockedResource {
    return {
        urn: `urn:pulumi:test::cellplane::${type}::${name}`,
        engineUrn: `urn:pulumi:test::cellplane::${type}::${name}`,
        type,
        name,
        inputs: props,
        state: props,
        read: false,
        ancestors: [],
        dependsOn: [],
        protect: false,
        ...extra,
    };
}

const tags = (residency = "eu", cell = "eu-1") => ({
    "cellplane:cell": cell,
    "cellplane:residency": residency,
    environment: "prod",
    owner: "o",
    "cost-center": "c",
    "managed-by": "cellplane",
});
const labels = (residency = "eu", cell = "eu-1") => ({
    "cellplane.io/cell": cell,
    "cellplane.io/residency": residency,
    "cellplane.io/environment": "prod",
    "cellplane.io/owner": "o",
    "cellplane.io/cost-center": "c",
    "app.kubernetes.io/managed-by": "cellplane",
});
const awsProvider = (region: string) => resource(T.awsProvider, `p-${region}`, { region });
/** An AWS resource created through the provider of `region`. */
function aws(
    type: string,
    name: string,
    props: ResourceProps,
    region = "eu-west-1",
    extra: Partial<MockedResource> = {},
): MockedResource[] {
    const provider = awsProvider(region);
    return [provider, resource(type, name, props, { provider: `${provider.urn}::${provider.name}`, ...extra })];
}
/** Kubernetes objects applied through the provider of cluster `cluster`. */
function onCluster(cluster: string, objects: MockedResource[]): MockedResource[] {
    const provider = resource("pulumi:providers:kubernetes", cluster, {});
    return [provider, ...objects.map((o) => ({ ...o, provider: `${provider.urn}::${provider.name}` }))];
}
/** The component that requires `crds` from cluster `cluster` (the URN of that cluster's provider in onCluster). */
const requiredCrds = (cluster: string, crds: string[]) =>
    resource(T.requiredCrds, `${cluster}-crds`, { crds, cluster: resource("pulumi:providers:kubernetes", cluster, {}).urn });
/** A cell's ClickHouse whose cold disk is at `endpoint`, as components/coldStorage.ts configures it. */
const coldTierInstallation = (endpoint: string) =>
    resource(T.clickhouseInstallation, "chi", {
        metadata: { namespace: "eu-1-data", labels: labels() },
        spec: {
            configuration: {
                files: {
                    "config.d/storage.xml": storageConfiguration({ kind: "s3", endpoint, region: new URL(endpoint).hostname.split(".")[2] })
                        .xml,
                },
            },
        },
    });
/** The policies read placement only; the quota is there because the directory always carries one. */
const directory = (tenants: Record<string, { residency: string; cell: string }>, cells: TenantDirectory["cells"]) =>
    resource(T.configMap, "eu-1-tenant-directory", {
        metadata: { name: TENANT_DIRECTORY_CONFIGMAP, labels: labels() },
        data: { [TENANT_DIRECTORY_KEY]: JSON.stringify({ cells, tenants: withQuotas(tenants) }) },
    });
const withQuotas = (tenants: Record<string, { residency: string; cell: string }>): TenantDirectory["tenants"] =>
    Object.fromEntries(
        Object.entries(tenants).map(([id, t]) => [id, { ...t, eventsPerSecond: 10_000, apiRequestsPerMinute: 6_000, maxStorageGb: 500 }]),
    );
/** A cell's network component, and what it creates. */
const network = resource("cellplane:aws:Network", "net", {});
const inNetwork = { parent: network.urn };
/** A Deployment of two replicas spread over zones, as the cells' apps are in production. */
const replicatedDeployment = () => ({
    metadata: { namespace: "apps", labels: labels() },
    spec: {
        replicas: 2,
        template: {
            metadata: { labels: { app: "ingest" } },
            spec: { topologySpreadConstraints: [{ topologyKey: "topology.kubernetes.io/zone", maxSkew: 1 }] },
        },
    },
});
const dayAfter = (date: string) => new Date(Date.parse(date) + 86_400_000).toISOString().slice(0, 10);
const daysBefore = (date: string, days: number) => new Date(Date.parse(date) - days * 86_400_000).toISOString().slice(0, 10);
const euCell = { cloud: "aws", region: "eu-west-1", residency: "eu", size: "small" };
const usCell = { cloud: "aws", region: "us-east-1", residency: "us", size: "small" };
const pod = (spec: ResourceProps) => ({
    spec: { templates: { podTemplates: [{ name: "p", spec }] } },
    metadata: { labels: labels() },
});
const runtimeDefault = { seccompProfile: { type: "RuntimeDefault" } };
const restricted = (container: ResourceProps, more: ResourceProps = {}) => ({
    ...container,
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, ...more },
});
/** An app's Deployment as the cells make it: hardened, tokenless through its own ServiceAccount. */
const appDeployment = (securityContext: ResourceProps = {}) => ({
    metadata: { namespace: "apps", labels: labels() },
    spec: {
        template: {
            spec: {
                serviceAccountName: "app",
                securityContext: { runAsNonRoot: true, ...runtimeDefault },
                containers: [restricted({ name: "app", image: imageOf(VERSIONS.nodeImage) }, securityContext)],
            },
        },
    },
});
const azureNetwork = resource("cellplane:azure:Network", "azure-net", {});
const inAzureNetwork = { parent: azureNetwork.urn };
const azureStore = resource("cellplane:azure:FlexiblePostgres", "azure-pg", {});
const inAzureStore = { parent: azureStore.urn };
/**
 * A router's Deployment on a `hostResidency` cell, as the cells deploy it: its residency in its environment, and
 * its routing table (cell → residency) in the ConfigMap it mounts.
 */
const routerDeployment = (residency: string, hostResidency: string, cells: Record<string, string>) => [
    resource(T.deployment, "router", {
        metadata: { namespace: "apps", labels: { ...labels(hostResidency), "app.kubernetes.io/name": "router" } },
        spec: { template: { spec: { containers: [{ name: "router", env: [{ name: "RESIDENCY", value: residency }] }] } } },
    }),
    resource(T.configMap, "router-files", {
        metadata: { namespace: "apps", name: "router-files", labels: labels(hostResidency) },
        data: {
            ROUTING_FILE: JSON.stringify({
                residency,
                cells: Object.fromEntries(Object.entries(cells).map(([cell, r]) => [cell, { residency: r }])),
                tenants: Object.fromEntries(Object.keys(cells).map((cell) => [`tenant-of-${cell}`, cell])),
            }),
        },
    }),
];
const eksComponent = resource("cellplane:aws:EksCluster", "c", {});
const inEksComponent = { parent: eksComponent.urn };
const appsNamespace = resource(T.namespace, "apps", { metadata: { name: "apps", labels: labels() } });
const denyAll = (spec: ResourceProps = {}) =>
    resource(T.networkPolicy, "deny", {
        metadata: { namespace: "apps", name: "default-deny", labels: labels() },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ...spec },
    });
const goodContainer = {
    name: "c",
    image: imageOf(VERSIONS.clickhouseImage),
    resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
};
const bucketWith = (kind: string, props: ResourceProps) => [
    resource(T.bucket, "b", { bucket: "b", tags: tags() }),
    resource(kind, "b-x", { bucket: "b", ...props }),
];
const s3Store = resource("cellplane:aws:S3ObjectStore", "s3-store", {});
const inS3Store = { parent: s3Store.urn };
const blobStore = resource("cellplane:azure:BlobObjectStore", "blob-store", {});
/** An S3 exports store whose lifecycle has the seed's transitions of `classes`, and a `temp/` rule or not. */
const s3StoreWith = (classes: string[], temp: boolean) => {
    const days: Record<string, number> = { STANDARD_IA: 90, GLACIER: 365, DEEP_ARCHIVE: 1095 };
    const rules = [
        {
            status: "Enabled",
            filter: {},
            transitions: classes.map((c) => ({ days: days[c], storageClass: c })),
            expiration: { days: 2555 },
        },
        ...(temp ? [{ status: "Enabled", filter: { prefix: "temp/" }, expiration: { days: 7 } }] : []),
    ];
    return [
        s3Store,
        resource(T.bucket, "cell-1-object-store-exports", { bucket: "x-exports" }, inS3Store),
        resource(T.bucketLifecycle, "lc", { bucket: "x-exports", rules }, inS3Store),
    ];
};

const inBlobStore = { parent: blobStore.urn };
const fullBlock = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };

/** A lakehouse job of cell `cell` in `namespace`, whose settings name a database, brokers and a bucket. */
function lakehouseJob(
    cell: string,
    namespace: string,
    stores: { db: string; brokers: string; bucket: string },
    warehouse = `s3://${stores.bucket}/warehouse`,
): MockedResource {
    const settings = {
        catalog: { jdbcUrl: `jdbc:postgresql://${stores.db}:5432/cellplane?currentSchema=lakehouse`, user: "app" },
        warehouse,
        objectStore: { region: "eu-west-1", pathStyle: false },
        kafka: { bootstrap: stores.brokers, topic: "events", tls: true },
    };
    return resource(T.scheduledSparkApplication, `${cell}-lakehouse-bronze`, {
        metadata: { name: "lakehouse-bronze", namespace, labels: labels("eu", cell) },
        spec: { template: { driver: { env: [{ name: "LAKEHOUSE", value: JSON.stringify(settings) }] } } },
    });
}
/** Two AWS cells' stores: each cell's database, brokers and lake bucket. */
const twoAwsCells = [
    ...aws(T.rds, "eu-1-db", { address: "eu-1-db.rds.amazonaws.com", tags: tags("eu", "eu-1") }),
    ...aws(T.rds, "eu-2-db", { address: "eu-2-db.rds.amazonaws.com", tags: tags("eu", "eu-2") }),
    ...aws(T.msk, "eu-1-kafka", { bootstrapBrokersSaslIam: "b-1.eu-1:9098,b-2.eu-1:9098", tags: tags("eu", "eu-1") }),
    ...aws(T.bucket, "eu-1-lake", { bucket: "eu-1-lake", tags: tags("eu", "eu-1") }),
    ...aws(T.bucket, "eu-2-lake", { bucket: "eu-2-lake", tags: tags("eu", "eu-2") }),
];
const ownStores = { db: "eu-1-db.rds.amazonaws.com", brokers: "b-1.eu-1:9098,b-2.eu-1:9098", bucket: "eu-1-lake" };
/** Two Azure cells' stores: each cell's Flexible Server, Event Hubs namespace, and lake account with its container. */
const twoAzureCells = ["eu-1", "eu-2"].flatMap((cell) => [
    resource(T.flexibleServer, `${cell}-db`, {
        fullyQualifiedDomainName: `${cell}-db.postgres.database.azure.com`,
        tags: tags("eu", cell),
    }),
    resource(T.eventHubsNamespace, `${cell}-kafka`, { namespaceName: `${cell}-ns`, tags: tags("eu", cell) }),
    resource(T.storageAccount, `${cell}-lake-account`, { accountName: `cp${cell.replace("-", "")}lake`, tags: tags("eu", cell) }),
    resource(T.blobContainer, `${cell}-lake`, { accountName: `cp${cell.replace("-", "")}lake`, containerName: "lake" }),
]);
const ownAzureStores = { db: "eu-1-db.postgres.database.azure.com", brokers: "eu-1-ns.servicebus.windows.net:9093", bucket: "" };
/** A Kubernetes cell's SeaweedFS, which creates its buckets. */
const seaweedfs = (namespace: string, buckets: string[]) =>
    resource(T.helmRelease, `${namespace}-object-store`, {
        namespace,
        values: { s3: { createBuckets: buckets.map((name) => ({ name })) } },
    });

/** A ScheduledSparkApplication whose driver and executor are `sparkPod`, with `executor` over the executor's fields. */
function sparkApplication(executor: ResourceProps = {}): MockedResource {
    const sparkPod = (callsApi: boolean) => ({
        cores: 1,
        coreLimit: "1",
        memory: "2g",
        serviceAccount: "cellplane-lakehouse",
        template: { spec: { automountServiceAccountToken: callsApi } },
        podSecurityContext: { runAsNonRoot: true, runAsUser: 185, seccompProfile: { type: "RuntimeDefault" } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    });
    return resource(T.scheduledSparkApplication, "jobs", {
        metadata: { name: "lakehouse-bronze", namespace: "eu-1-data", labels: labels() },
        spec: { template: { driver: sparkPod(true), executor: { ...sparkPod(false), ...executor } } },
    });
}

/** A FlinkDeployment whose JobManager and TaskManager share its pod template, with `taskManager` over the TaskManager's fields. */
function flinkDeployment(taskManager: ResourceProps = {}): MockedResource {
    const sized = { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "1", memory: "2Gi" } };
    return resource(T.flinkDeployment, "streaming", {
        metadata: { name: "streaming", namespace: "eu-1-data", labels: labels() },
        spec: {
            serviceAccount: "cellplane-streaming",
            podTemplate: {
                spec: {
                    securityContext: { runAsNonRoot: true, runAsUser: 9999, seccompProfile: { type: "RuntimeDefault" } },
                    containers: [
                        {
                            name: "flink-main-container",
                            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                        },
                    ],
                },
            },
            jobManager: { resources: sized, podTemplate: { spec: { automountServiceAccountToken: true } } },
            taskManager: { resources: sized, podTemplate: { spec: { automountServiceAccountToken: false } }, ...taskManager },
        },
    });
}
/** A streaming job of cell `cell` in `namespace`, whose script (in its ConfigMap) names `brokers`. */
const streamingJob = (cell: string, namespace: string, brokers: string) => [
    resource(T.configMap, `${cell}-streaming-script`, {
        metadata: { name: "streaming-abc", namespace },
        data: { "streaming.sql": `CREATE TABLE events () WITH (\n    'properties.bootstrap.servers' = '${brokers}'\n);` },
    }),
    resource(T.flinkDeployment, `${cell}-streaming`, {
        metadata: { name: "streaming", namespace, labels: labels("eu", cell) },
        spec: { podTemplate: { spec: { volumes: [{ name: "script", configMap: { name: "streaming-abc" } }] } } },
    }),
];

/** For each policy: resources that satisfy it, resources that break it, and the message that names the break. */
const CASES: Record<string, { pass: MockedResource[]; fail: MockedResource[]; message: RegExp; config?: PackConfig }> = {
    "kubernetes-requests-and-limits (a Flink TaskManager)": {
        pass: [flinkDeployment()],
        fail: [flinkDeployment({ resources: { requests: { cpu: "1", memory: "2Gi" } } })],
        message:
            /FlinkDeployment "streaming": container "flink-main-container of the taskManager" has no CPU and memory requests and limits/,
    },
    "kubernetes-non-root (a Flink deployment's pods)": {
        pass: [flinkDeployment()],
        fail: [flinkDeployment({ podTemplate: { spec: { automountServiceAccountToken: false, securityContext: { runAsUser: 0 } } } })],
        message: /FlinkDeployment "streaming" has a pod that may run as root/,
    },
    "kubernetes-restricted-containers (a Flink deployment's main container)": {
        pass: [flinkDeployment()],
        fail: [
            flinkDeployment({
                podTemplate: {
                    spec: {
                        automountServiceAccountToken: false,
                        containers: [{ name: "flink-main-container", securityContext: { capabilities: { drop: ["ALL"] } } }],
                    },
                },
            }),
        ],
        message: /FlinkDeployment "streaming": container "flink-main-container of the taskManager" lacks allowPrivilegeEscalation: false/,
    },
    "kubernetes-service-account-tokens (a Flink TaskManager; its JobManager makes it through the API)": {
        pass: [flinkDeployment()],
        fail: [flinkDeployment({ podTemplate: { spec: {} } })],
        message: /FlinkDeployment "streaming" runs pods that mount the API token of ServiceAccount "cellplane-streaming"/,
    },
    "lakehouse-jobs-own-cell (a streaming job reading another cell's Kafka)": {
        pass: [...twoAwsCells, ...streamingJob("eu-1", "eu-1-data", "b-1.eu-1:9098,b-2.eu-1:9098")],
        fail: [...twoAwsCells, ...streamingJob("eu-1", "eu-1-data", "b-1.eu-1:9098,kafka-bootstrap.eu-2-data.svc:9093")],
        message:
            /FlinkDeployment "eu-1-streaming" of cell eu-1 reaches kafka-bootstrap\.eu-2-data\.svc, which is not a store of its cell\. Point it at cell eu-1's own Kafka/,
    },
    "lakehouse-jobs-own-cell (a streaming job in another cell's namespace)": {
        pass: streamingJob("k-1", "k-1-data", "k.k-1-data.svc:9093"),
        fail: streamingJob("k-1", "k-2-data", "k.k-2-data.svc:9093"),
        message: /FlinkDeployment "k-1-streaming" of cell k-1 runs in namespace k-2-data, not its cell's k-1-data/,
    },
    "kubernetes-requests-and-limits (a Spark executor)": {
        pass: [sparkApplication()],
        fail: [sparkApplication({ coreLimit: undefined })],
        message: /ScheduledSparkApplication "jobs": container "spark-executor" has no CPU and memory requests and limits/,
    },
    "kubernetes-non-root (a Spark executor)": {
        pass: [sparkApplication()],
        fail: [sparkApplication({ podSecurityContext: { runAsUser: 0 } })],
        message: /ScheduledSparkApplication "jobs" has a pod that may run as root/,
    },
    "kubernetes-restricted-containers (a Spark executor)": {
        pass: [sparkApplication()],
        fail: [sparkApplication({ securityContext: { allowPrivilegeEscalation: true, capabilities: { drop: ["ALL"] } } })],
        message: /ScheduledSparkApplication "jobs": container "spark-executor" lacks allowPrivilegeEscalation: false/,
    },
    "custom-resources-have-crds (the operator's release on the cluster)": {
        pass: onCluster("c-1", [resource(T.helmRelease, "flink-operator", { chart: "flink-kubernetes-operator" }), flinkDeployment()]),
        fail: [
            ...onCluster("c-2", [resource(T.helmRelease, "flink-operator", { chart: "flink-kubernetes-operator" })]),
            ...onCluster("c-1", [flinkDeployment()]),
        ],
        message:
            /FlinkDeployment "streaming" needs CRD flinkdeployments\.flink\.apache\.org on its cluster, which the stack neither installs \(chart flink-kubernetes-operator\) nor requires/,
    },
    "custom-resources-have-crds (a definition the stack installs)": {
        pass: onCluster("c-1", [
            resource(T.customResourceDefinition, "crd", { metadata: { name: "flinkdeployments.flink.apache.org" } }),
            flinkDeployment(),
        ]),
        fail: onCluster("c-1", [
            resource(T.customResourceDefinition, "crd", { metadata: { name: "sparkapplications.sparkoperator.k8s.io" } }),
            flinkDeployment(),
        ]),
        message: /needs CRD flinkdeployments\.flink\.apache\.org on its cluster/,
    },
    "custom-resources-have-crds (a definition required from the cluster, as RequiredCrds reports it)": {
        pass: [...onCluster("c-1", [flinkDeployment()]), requiredCrds("c-1", ["flinkdeployments.flink.apache.org"])],
        fail: [
            ...onCluster("c-1", [flinkDeployment()]),
            requiredCrds("c-2", ["flinkdeployments.flink.apache.org"]),
            requiredCrds("c-1", ["sparkapplications.sparkoperator.k8s.io"]),
        ],
        message: /needs CRD flinkdeployments\.flink\.apache\.org on its cluster, which the stack neither installs .* nor requires/,
    },
    "custom-resources-have-crds (a definition only read: the engine hands reads to no policy)": {
        pass: [...onCluster("c-1", [flinkDeployment()]), requiredCrds("c-1", ["flinkdeployments.flink.apache.org"])],
        fail: onCluster("c-1", [
            resource(T.customResourceDefinition, "crd", { metadata: { name: "flinkdeployments.flink.apache.org" } }, { read: true }),
            flinkDeployment(),
        ]),
        message: /needs CRD flinkdeployments\.flink\.apache\.org on its cluster/,
    },
    "custom-resources-have-crds (a kind the pack does not know)": {
        pass: onCluster("c-1", [
            resource("kubernetes:apps/v1:Deployment", "web", {}),
            resource("kubernetes:rbac.authorization.k8s.io/v1:Role", "r", {}),
        ]),
        fail: onCluster("c-1", [resource("kubernetes:widgets.example.com/v1:Widget", "w", {})]),
        message:
            /Widget "w" is a Widget of widgets\.example\.com, a kind the pack does not know the definition of\. Add it to model\/customResources\.ts/,
    },
    "kubernetes-restricted-containers (a Spark executor's sidecar)": {
        pass: [sparkApplication({ initContainers: [restricted({ name: "entra-token", restartPolicy: "Always" })] })],
        fail: [sparkApplication({ initContainers: [{ name: "entra-token", restartPolicy: "Always" }] })],
        message: /ScheduledSparkApplication "jobs": container "entra-token" lacks allowPrivilegeEscalation: false/,
    },
    "kubernetes-service-account-tokens (a Spark executor; its driver asks the API for it)": {
        pass: [sparkApplication()],
        fail: [sparkApplication({ template: { spec: {} } })],
        message: /ScheduledSparkApplication "jobs" runs pods that mount the API token of ServiceAccount "cellplane-lakehouse"/,
    },
    "lakehouse-jobs-own-cell (another cell's bucket)": {
        pass: [...twoAwsCells, lakehouseJob("eu-1", "eu-1-data", ownStores)],
        fail: [...twoAwsCells, lakehouseJob("eu-1", "eu-1-data", { ...ownStores, bucket: "eu-2-lake" })],
        message:
            /ScheduledSparkApplication "eu-1-lakehouse-bronze" of cell eu-1 writes bucket eu-2-lake, which is not its cell's\. Point its warehouse at cell eu-1's lake/,
    },
    "lakehouse-jobs-own-cell (another Azure cell's lake container)": {
        pass: [
            ...twoAzureCells,
            lakehouseJob("eu-1", "eu-1-data", ownAzureStores, "abfss://lake@cpeu1lake.dfs.core.windows.net/warehouse"),
        ],
        fail: [
            ...twoAzureCells,
            lakehouseJob("eu-1", "eu-1-data", ownAzureStores, "abfss://lake@cpeu2lake.dfs.core.windows.net/warehouse"),
        ],
        message: /of cell eu-1 writes bucket lake@cpeu2lake, which is not its cell's\. Point its warehouse at cell eu-1's lake/,
    },
    "lakehouse-jobs-own-cell (another Azure cell's Event Hubs)": {
        pass: [
            ...twoAzureCells,
            lakehouseJob("eu-1", "eu-1-data", ownAzureStores, "abfss://lake@cpeu1lake.dfs.core.windows.net/warehouse"),
        ],
        fail: [
            ...twoAzureCells,
            lakehouseJob(
                "eu-1",
                "eu-1-data",
                { ...ownAzureStores, brokers: "eu-2-ns.servicebus.windows.net:9093" },
                "abfss://lake@cpeu1lake.dfs.core.windows.net/warehouse",
            ),
        ],
        message: /of cell eu-1 reaches eu-2-ns\.servicebus\.windows\.net, which is not a store of its cell/,
    },
    "lakehouse-jobs-own-cell (another cell's database)": {
        pass: [...twoAwsCells, lakehouseJob("eu-1", "eu-1-data", ownStores)],
        fail: [...twoAwsCells, lakehouseJob("eu-1", "eu-1-data", { ...ownStores, db: "eu-2-db.rds.amazonaws.com" })],
        message:
            /of cell eu-1 reaches eu-2-db\.rds\.amazonaws\.com, which is not a store of its cell\. Point it at cell eu-1's own Postgres and Kafka/,
    },
    "lakehouse-jobs-own-cell (another namespace's services)": {
        pass: [
            seaweedfs("k-1-data", ["k-1-lake"]),
            lakehouseJob("k-1", "k-1-data", { db: "pg-rw.k-1-data.svc", brokers: "kafka-bootstrap.k-1-data.svc:9093", bucket: "k-1-lake" }),
        ],
        fail: [
            seaweedfs("k-1-data", ["k-1-lake"]),
            lakehouseJob("k-1", "k-1-data", { db: "pg-rw.k-1-data.svc", brokers: "kafka-bootstrap.k-2-data.svc:9093", bucket: "k-1-lake" }),
        ],
        message: /reaches kafka-bootstrap\.k-2-data\.svc, which is not a store of its cell/,
    },
    "lakehouse-jobs-own-cell (another cell's namespace)": {
        pass: [
            seaweedfs("k-1-data", ["k-1-lake"]),
            lakehouseJob("k-1", "k-1-data", { db: "pg.k-1-data.svc", brokers: "k.k-1-data.svc:9093", bucket: "k-1-lake" }),
        ],
        fail: [
            seaweedfs("k-2-data", ["k-1-lake"]),
            lakehouseJob("k-1", "k-2-data", { db: "pg.k-2-data.svc", brokers: "k.k-2-data.svc:9093", bucket: "k-1-lake" }),
        ],
        message:
            /of cell k-1 runs in namespace k-2-data, not its cell's k-1-data\. Label it with its cell and create it in that cell's namespace/,
    },
    "residency-region": {
        pass: aws(T.rds, "db", { tags: tags("eu") }, "eu-west-1"),
        fail: aws(T.rds, "db", { tags: tags("eu") }, "us-east-1"),
        message: /Instance "db" is tagged residency eu but lies in us-east-1\. Move it to one of: eu-west-1/,
    },
    "residency-single-zone-per-provider": {
        pass: aws(T.vpc, "vpc", { tags: tags("us") }, "us-east-1"),
        fail: aws(T.vpc, "vpc", { tags: tags("us") }, "eu-west-1"),
        message: /Vpc "vpc" is tagged residency us but its provider "p-eu-west-1" works in eu-west-1 \(residency eu\)/,
    },
    "no-cross-residency-bucket-replication": {
        pass: [
            ...aws(T.bucket, "eu-a", { bucket: "eu-a", tags: tags("eu") }),
            ...aws(T.bucket, "eu-b", { bucket: "eu-b", tags: tags("eu") }),
            resource(T.bucketReplication, "r", { bucket: "eu-a", rules: [{ destination: { bucket: "arn:aws:s3:::eu-b" } }] }),
        ],
        fail: [
            ...aws(T.bucket, "eu-a", { bucket: "eu-a", tags: tags("eu") }),
            ...aws(T.bucket, "us-b", { bucket: "us-b", tags: tags("us", "us-1") }, "us-east-1"),
            resource(T.bucketReplication, "r", { bucket: "eu-a", rules: [{ destination: { bucket: "arn:aws:s3:::us-b" } }] }),
        ],
        message: /Bucket "eu-a" \(residency eu\) replicates to bucket Bucket "us-b" in residency us/,
    },
    "no-cross-residency-database-copies": {
        pass: aws(T.rdsBackupReplication, "copy", { sourceDbInstanceArn: "arn:aws:rds:eu-central-1:1:db:x" }, "eu-west-1"),
        fail: aws(T.rdsBackupReplication, "copy", { sourceDbInstanceArn: "arn:aws:rds:eu-central-1:1:db:x" }, "us-east-1"),
        message: /copies the backups of arn:aws:rds:eu-central-1:1:db:x \(residency eu\) to us-east-1 \(residency us\)/,
    },
    "no-cross-residency-event-hubs-pairing": {
        pass: [
            resource(T.eventHubsNamespace, "a", { name: "a", location: "westeurope", tags: tags() }),
            resource(T.eventHubsNamespace, "b", { name: "b", location: "northeurope", tags: tags() }),
            resource(T.eventHubsDisasterRecovery, "dr", {
                namespaceName: "a",
                partnerNamespace: "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventHub/namespaces/b",
            }),
        ],
        fail: [
            resource(T.eventHubsNamespace, "a", { name: "a", location: "westeurope", tags: tags() }),
            resource(T.eventHubsNamespace, "b", { name: "b", location: "eastus", tags: tags("us") }),
            resource(T.eventHubsDisasterRecovery, "dr", {
                namespaceName: "a",
                partnerNamespace: "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventHub/namespaces/b",
            }),
        ],
        message: /Namespace "a" \(residency eu\) is geo-paired with namespace Namespace "b" in residency us/,
    },
    "no-cross-residency-network-peering": {
        pass: aws(T.vpcPeering, "peer", { peerRegion: "eu-central-1", tags: tags() }),
        fail: aws(T.vpcPeering, "peer", { peerRegion: "us-west-2", tags: tags() }),
        message: /VpcPeeringConnection "peer" peers a network of residency eu with us-west-2 outside it/,
    },
    "tenant-routing-within-residency": {
        pass: [directory({ acme: { residency: "eu", cell: "eu-1" } }, { "eu-1": euCell, "us-1": usCell })],
        fail: [directory({ acme: { residency: "eu", cell: "us-1" } }, { "eu-1": euCell, "us-1": usCell })],
        message: /Tenant "acme" \(residency eu\) is routed to cell "us-1" of residency us/,
    },
    "cell-tenant-capacity": {
        pass: [
            directory(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, { residency: "eu", cell: "eu-1" }])), {
                "eu-1": euCell,
            }),
        ],
        fail: [
            directory(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, { residency: "eu", cell: "eu-1" }])), {
                "eu-1": euCell,
            }),
        ],
        message: /Cell "eu-1" \(size small\) holds 11 tenants, more than its 10/,
    },
    "postgres-storage-encrypted": {
        pass: [resource(T.rds, "db", { storageEncrypted: true, kmsKeyId: "arn:key" })],
        fail: [resource(T.rds, "db", { storageEncrypted: false })],
        message: /Instance "db" stores data unencrypted/,
    },
    "clickhouse-cold-tier": {
        pass: [
            ...aws(T.bucket, "cold", { bucket: "eu-1-cold", tags: tags() }),
            coldTierInstallation("https://eu-1-cold.s3.eu-west-1.amazonaws.com/clickhouse/"),
        ],
        fail: [
            ...aws(T.bucket, "cold", { bucket: "eu-1-cold", tags: tags() }),
            coldTierInstallation("https://eu-1-cold.s3.us-east-1.amazonaws.com/clickhouse/"),
        ],
        message:
            /ClickHouseInstallation "chi" keeps no cold tier in its cell: its cold disk is on eu-1-cold in us-east-1, outside the cell's region eu-west-1/,
    },
    "exports-lifecycle-tiers (S3)": {
        pass: s3StoreWith(["STANDARD_IA", "GLACIER", "DEEP_ARCHIVE"], true),
        fail: s3StoreWith(["STANDARD_IA", "GLACIER"], false),
        message:
            /Bucket "cell-1-object-store-exports" keeps exports outside the seed's tiers: no transition to DEEP_ARCHIVE at 1095 days .*; temp\/ is not deleted within 7 days/,
    },
    "exports-lifecycle-tiers (Blob)": {
        pass: [
            blobStore,
            resource(T.storageAccount, "sa", { accountName: "cell1" }, inBlobStore),
            resource(
                T.managementPolicy,
                "mp",
                {
                    accountName: "cell1",
                    policy: {
                        rules: [
                            {
                                enabled: true,
                                definition: {
                                    filters: { prefixMatch: ["exports/"] },
                                    actions: {
                                        baseBlob: {
                                            tierToCool: { daysAfterModificationGreaterThan: 90 },
                                            tierToCold: { daysAfterModificationGreaterThan: 365 },
                                            delete: { daysAfterModificationGreaterThan: 2555 },
                                        },
                                    },
                                },
                            },
                            {
                                enabled: true,
                                definition: {
                                    filters: { prefixMatch: ["exports/temp/"] },
                                    actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 7 } } },
                                },
                            },
                        ],
                    },
                },
                inBlobStore,
            ),
        ],
        fail: [blobStore, resource(T.storageAccount, "sa", { accountName: "cell1" }, inBlobStore)],
        message: /StorageAccount "sa" keeps exports outside the seed's tiers: no enabled rule deletes the exports/,
    },
    "bucket-sse-kms": {
        pass: bucketWith(T.bucketEncryption, {
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "k" } }],
        }),
        fail: bucketWith(T.bucketEncryption, { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }),
        message: /Bucket "b" has no SSE-KMS default encryption/,
    },
    "storage-account-infrastructure-encryption": {
        pass: [resource(T.storageAccount, "sa", { encryption: { requireInfrastructureEncryption: true } })],
        fail: [resource(T.storageAccount, "sa", { encryption: {} })],
        message: /StorageAccount "sa" does not require infrastructure encryption/,
    },
    "storage-account-https-tls12": {
        pass: [resource(T.storageAccount, "sa", { enableHttpsTrafficOnly: true, minimumTlsVersion: "TLS1_2" })],
        fail: [resource(T.storageAccount, "sa", { enableHttpsTrafficOnly: true, minimumTlsVersion: "TLS1_0" })],
        message: /StorageAccount "sa" accepts plain HTTP or TLS older than 1\.2/,
    },
    "msk-encryption-at-rest": {
        pass: [resource(T.msk, "k", { encryptionInfo: { encryptionAtRestKmsKeyArn: "arn:key" } })],
        fail: [resource(T.msk, "k", { encryptionInfo: {} })],
        message: /Cluster "k" encrypts at rest with the AWS-owned key/,
    },
    "kafka-tls-in-transit": {
        pass: [
            resource(T.msk, "k", { encryptionInfo: { encryptionInTransit: { clientBroker: "TLS", inCluster: true } } }),
            resource(T.eventHubsNamespace, "ns", { minimumTlsVersion: "1.2" }),
        ],
        fail: [resource(T.msk, "k", { encryptionInfo: { encryptionInTransit: { clientBroker: "TLS_PLAINTEXT", inCluster: true } } })],
        message: /Cluster "k" allows plaintext traffic/,
    },
    "kubernetes-secrets-encrypted": {
        pass: [
            resource(T.eks, "eks", { encryptionConfig: { resources: ["secrets"], provider: { keyArn: "k" } } }),
            resource(T.aks, "aks", { securityProfile: { azureKeyVaultKms: { enabled: true } } }),
        ],
        fail: [resource(T.aks, "aks", { securityProfile: {} })],
        message: /ManagedCluster "aks" does not encrypt secrets with a Key Vault key/,
    },
    "no-public-buckets": {
        pass: bucketWith(T.bucketPublicAccessBlock, fullBlock),
        fail: bucketWith(T.bucketPublicAccessBlock, { ...fullBlock, restrictPublicBuckets: false }),
        message: /Bucket "b" does not block public access/,
    },
    "no-public-blobs": {
        pass: [
            resource(T.storageAccount, "sa", { allowBlobPublicAccess: false }),
            resource(T.blobContainer, "c", { publicAccess: "None" }),
        ],
        fail: [resource(T.blobContainer, "c", { publicAccess: "Blob" })],
        message: /BlobContainer "c" is public \(Blob\)/,
    },
    "no-public-databases": {
        pass: [
            resource(T.rds, "db", { publiclyAccessible: false }),
            resource(T.flexibleServer, "pg", { network: { publicNetworkAccess: "Disabled" } }),
        ],
        fail: [resource(T.rds, "db", { publiclyAccessible: true })],
        message: /Instance "db" is publicly accessible/,
    },
    "no-open-data-ports": {
        pass: [
            resource(T.securityGroup, "sg", {
                ingress: [
                    { fromPort: 5432, toPort: 5432, protocol: "tcp", cidrBlocks: ["10.0.0.0/16"] },
                    { fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: ["0.0.0.0/0"] },
                ],
            }),
        ],
        fail: [
            resource(T.networkSecurityGroup, "nsg", {
                securityRules: [
                    {
                        name: "ch",
                        direction: "Inbound",
                        access: "Allow",
                        sourceAddressPrefix: "Internet",
                        destinationPortRange: "8000-8200",
                    },
                ],
            }),
        ],
        message: /NetworkSecurityGroup "nsg" rule "ch" opens 8000-8200 to the whole internet/,
    },
    "vpc-default-security-group-closed": {
        pass: [
            network,
            resource(T.vpc, "vpc", { tags: tags() }, inNetwork),
            resource(T.defaultSecurityGroup, "default", { ingress: [], egress: [] }, inNetwork),
        ],
        fail: [network, resource(T.vpc, "vpc", { tags: tags() }, inNetwork)],
        message:
            /Vpc "vpc" leaves its default security group as AWS made it, admitting its own members\. Manage it with ec2\.DefaultSecurityGroup and no rules/,
    },
    "vpc-default-security-group-closed (rules)": {
        pass: [
            network,
            resource(T.vpc, "vpc", { tags: tags() }, inNetwork),
            resource(T.defaultSecurityGroup, "default", { ingress: [], egress: [] }, inNetwork),
        ],
        fail: [
            network,
            resource(T.vpc, "vpc", { tags: tags() }, inNetwork),
            resource(T.defaultSecurityGroup, "default", { ingress: [{ protocol: "-1", self: true }], egress: [] }, inNetwork),
        ],
        message: /DefaultSecurityGroup "default" has rules\. Give the VPC's default security group ingress: \[\] and egress: \[\]/,
    },
    "private-cluster-endpoints": {
        pass: [
            resource(T.eks, "eks", { vpcConfig: { endpointPublicAccess: false } }),
            resource(T.eks, "eks-admins", { vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] } }),
            resource(T.aks, "aks", { apiServerAccessProfile: { enablePrivateCluster: true } }),
            resource(T.aks, "aks-admins", {
                apiServerAccessProfile: { enablePrivateCluster: false, authorizedIPRanges: ["203.0.113.0/24"] },
            }),
        ],
        fail: [resource(T.eks, "eks", { vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } })],
        message:
            /Cluster "eks" has an API endpoint open to the internet\. Set vpcConfig\.endpointPublicAccess: false .*cellplane:adminCidrs/,
    },
    "cellplane-tags": {
        pass: [
            resource(T.vpc, "vpc", { tags: tags() }),
            resource(T.configMap, "cm", { metadata: { labels: labels() } }),
            resource(T.bucketPolicy, "untaggable", {}),
        ],
        fail: [resource(T.vpc, "vpc", { tags: { ...tags(), owner: "" } })],
        message: /Vpc "vpc" lacks the tags owner/,
    },
    "cellplane-tags (residency)": {
        pass: [resource(T.vpc, "vpc", { tags: tags("us") })],
        fail: [resource(T.vpc, "vpc", { tags: tags("EU") })],
        message:
            /Vpc "vpc" has cellplane:residency "EU", which is no residency, so the residency policies cannot check it\. Use one of eu, us exactly/,
    },
    "cellplane-tags (residency label)": {
        pass: [resource(T.configMap, "cm", { metadata: { labels: labels("eu") } })],
        fail: [resource(T.configMap, "cm", { metadata: { labels: labels("eu ") } })],
        message: /ConfigMap "cm" has cellplane\.io\/residency "eu ", which is no residency/,
    },
    "deletion-protection": {
        pass: [
            resource(T.rds, "db", { deletionProtection: true }, { protect: true }),
            resource(T.storageAccount, "sa", {}, { protect: true }),
        ],
        fail: [resource(T.storageAccount, "sa", {})],
        message: /StorageAccount "sa" is not protected against `pulumi destroy`/,
    },
    "backup-retention-30-days": {
        pass: [
            resource(T.rds, "db", { backupRetentionPeriod: 30 }),
            resource(T.flexibleServer, "pg", { backup: { backupRetentionDays: 35 } }),
        ],
        fail: [resource(T.flexibleServer, "pg", { backup: { backupRetentionDays: 7 } })],
        message: /Server "pg" keeps backups for 7 days/,
    },
    "multi-az": {
        pass: [
            resource(T.msk, "k", { brokerNodeGroupInfo: { clientSubnets: ["a", "b", "c"] } }),
            resource(T.storageAccount, "sa", { sku: { name: "Standard_ZRS" } }),
        ],
        fail: [resource(T.msk, "k", { brokerNodeGroupInfo: { clientSubnets: ["a", "b"] } })],
        message: /Cluster "k" lives in a single availability zone\. Spread brokers over three AZs/,
    },
    "cluster-uptime-sla": {
        pass: [resource(T.aks, "aks", { sku: { name: "Base", tier: "Standard" } }), resource(T.aks, "aks", { sku: { tier: "Premium" } })],
        fail: [resource(T.aks, "aks", { sku: { name: "Base", tier: "Free" } })],
        message:
            /ManagedCluster "aks" runs on AKS's Free tier, whose API server has no uptime SLA\. Set sku: \{ name: "Base", tier: "Standard" \}/,
    },
    "allowed-instance-types": {
        config: { "allowed-instance-types": { allowedSizes: ["medium", "large"] } },
        pass: [
            resource(T.rds, "db", { instanceClass: "db.r6g.xlarge" }),
            resource(T.aks, "aks", { agentPoolProfiles: [{ vmSize: "Standard_D8s_v5" }] }),
        ],
        fail: [resource(T.rds, "db", { instanceClass: "db.t4g.medium" })],
        message:
            /Instance "db" uses db\.t4g\.medium, which no allowed cell size \(medium, large\) uses\. Use one of: db\.r6g\.xlarge, db\.r6g\.4xlarge/,
    },
    "kafka-replication-factor": {
        pass: [resource(T.mskConfiguration, "cfg", { serverProperties: "default.replication.factor=3\nmin.insync.replicas=2" })],
        fail: [
            resource(T.strimziKafka, "kafka", {
                spec: { kafka: { config: { "default.replication.factor": 1, "min.insync.replicas": 1 } } },
            }),
        ],
        message: /Kafka "kafka" replicates topics 1 time\(s\) with min\.insync\.replicas 1/,
    },
    "kubernetes-requests-and-limits": {
        pass: [resource(T.clickhouseInstallation, "chi", pod({ containers: [goodContainer] }))],
        fail: [
            resource(
                T.clickhouseInstallation,
                "chi",
                pod({ containers: [{ ...goodContainer, resources: { requests: { cpu: "1", memory: "1Gi" } } }] }),
            ),
        ],
        message: /ClickHouseInstallation "chi": container "c" has no CPU and memory requests and limits/,
    },
    "kubernetes-pinned-images": {
        pass: [resource(T.cnpgCluster, "pg", { spec: { imageName: "ghcr.io/cloudnative-pg/postgresql:16.6" } })],
        fail: [
            resource(
                T.clickhouseInstallation,
                "chi",
                pod({ containers: [{ ...goodContainer, image: "clickhouse/clickhouse-server:latest" }] }),
            ),
        ],
        message: /ClickHouseInstallation "chi" runs image "clickhouse\/clickhouse-server:latest" without a pinned tag/,
    },
    "kubernetes-images-by-digest": {
        pass: [
            resource(T.cnpgCluster, "pg", {
                spec: { imageName: `ghcr.io/cloudnative-pg/postgresql:16.15@sha256:${"ab".repeat(32)}` },
            }),
        ],
        fail: [resource(T.cnpgCluster, "pg", { spec: { imageName: "ghcr.io/cloudnative-pg/postgresql:16.15" } })],
        message:
            /Cluster "pg" runs image "ghcr.io\/cloudnative-pg\/postgresql:16.15" by tag only. Run `npm run images:pin` where its registry answers/,
    },
    "kubernetes-non-root": {
        pass: [
            resource(
                T.keeperInstallation,
                "chk",
                pod({ securityContext: { runAsNonRoot: true, runAsUser: 101 }, containers: [goodContainer] }),
            ),
        ],
        fail: [resource(T.keeperInstallation, "chk", pod({ containers: [goodContainer] }))],
        message: /ClickHouseKeeperInstallation "chk" has a pod that may run as root/,
    },
    "local-state-outside-repo": {
        pass: [
            resource("pulumi-nodejs:dynamic/cellplane:LocalPostgresServer", "pg", { dir: "/var/lib/cellplane/local/local-eu/postgres" }),
        ],
        fail: [
            resource("pulumi-nodejs:dynamic/cellplane:LocalPostgresServer", "pg", {
                dir: path.join(__dirname, "..", "..", "state", "postgres"),
            }),
        ],
        message: /LocalPostgresServer "pg" keeps its data in .*\/state\/postgres, inside the repository/,
    },
    "local-state-outside-repo (a name starting with ..)": {
        pass: [
            resource("pulumi-nodejs:dynamic/cellplane:LocalPostgresServer", "pg", {
                dir: path.join(__dirname, "..", "..", "..", "cellplane-state"),
            }),
        ],
        fail: [
            resource("pulumi-nodejs:dynamic/cellplane:LocalKafkaServer", "kafka", {
                dir: path.join(__dirname, "..", "..", "..state", "kafka"),
            }),
        ],
        message: /LocalKafkaServer "kafka" keeps its data in .*\.\.state\/kafka, inside the repository/,
    },
    "replicas-survive-disruption": {
        pass: [
            resource(T.deployment, "ingest", replicatedDeployment()),
            resource(T.podDisruptionBudget, "ingest-budget", {
                metadata: { namespace: "apps", labels: labels() },
                spec: { maxUnavailable: 1, selector: { matchLabels: { app: "ingest" } } },
            }),
        ],
        fail: [
            resource(T.deployment, "ingest", replicatedDeployment()),
            resource(T.podDisruptionBudget, "other-budget", {
                metadata: { namespace: "apps", labels: labels() },
                spec: { maxUnavailable: 1, selector: { matchLabels: { app: "export" } } },
            }),
        ],
        message: /Deployment "ingest" runs 2 replicas without a PodDisruptionBudget\. Add one \(maxUnavailable: 1\) selecting its pods/,
    },
    "replicas-survive-disruption (zones)": {
        pass: [resource(T.deployment, "ingest", { ...replicatedDeployment(), spec: { ...replicatedDeployment().spec, replicas: 1 } })],
        fail: [
            resource(T.deployment, "ingest", {
                ...replicatedDeployment(),
                spec: { ...replicatedDeployment().spec, template: { metadata: { labels: { app: "ingest" } }, spec: {} } },
            }),
            resource(T.podDisruptionBudget, "ingest-budget", {
                metadata: { namespace: "apps", labels: labels() },
                spec: { maxUnavailable: 1, selector: { matchLabels: { app: "ingest" } } },
            }),
        ],
        message:
            /Deployment "ingest" runs 2 replicas without spreading them over zones\. Add a topologySpreadConstraint on topology\.kubernetes\.io\/zone/,
    },
    "supported-versions": {
        pass: [resource(T.eks, "k8s", { version: VERSIONS.eks.version, tags: tags() })],
        fail: [resource(T.eks, "k8s", { version: "1.31", tags: tags() })],
        message: /Cluster "k8s" pins eks 1\.31, which is not in model\/versions\.ts\. Add it there with its end-of-support date/,
    },
    "supported-versions (past its end)": {
        pass: [resource(T.rds, "db", { engine: "postgres", engineVersion: VERSIONS.rdsPostgres.version, tags: tags() })],
        fail: [resource(T.aks, "aks", { kubernetesVersion: VERSIONS.aks.version, tags: tags() })],
        config: { "supported-versions": { asOf: dayAfter(VERSIONS.aks.endOfSupport!) } },
        message:
            /ManagedCluster "aks" pins aks 1\.\d+, out of support since \d{4}-\d\d-\d\d \(https:\/\/learn\.microsoft\.com.*\)\. Move to a supported version/,
    },
    "supported-versions-expiring": {
        pass: [resource(T.rds, "db", { engine: "postgres", engineVersion: VERSIONS.rdsPostgres.version, tags: tags() })],
        fail: [resource(T.clickhouseInstallation, "chi", pod({ containers: [goodContainer] }))],
        config: { "supported-versions-expiring": { asOf: daysBefore(VERSIONS.clickhouseImage.endOfSupport!, 30) } },
        message:
            /ClickHouseInstallation "chi" pins image clickhouse\/clickhouse-server [\d.]+, whose support ends on \d{4}-\d\d-\d\d, in 30 days/,
    },
    "kubernetes-restricted-containers": {
        pass: [resource(T.deployment, "app", appDeployment())],
        fail: [resource(T.deployment, "app", appDeployment({ readOnlyRootFilesystem: false }))],
        message: /Deployment "app": container "app" lacks readOnlyRootFilesystem: true\. Set them in its securityContext/,
    },
    "kubernetes-restricted-containers (escalation, capabilities, seccomp)": {
        pass: [
            resource(T.clickhouseInstallation, "chi", pod({ securityContext: runtimeDefault, containers: [restricted(goodContainer)] })),
        ],
        fail: [
            resource(
                T.clickhouseInstallation,
                "chi",
                pod({ containers: [{ ...goodContainer, securityContext: { capabilities: { drop: ["NET_RAW"] } } }] }),
            ),
        ],
        message:
            /ClickHouseInstallation "chi": container "c" lacks allowPrivilegeEscalation: false, capabilities\.drop: \["ALL"\], seccompProfile\.type: "RuntimeDefault"/,
    },
    "kubernetes-service-account-tokens": {
        pass: [
            resource(T.deployment, "app", appDeployment()),
            resource(T.serviceAccount, "app-account", {
                metadata: { namespace: "apps", name: "app", labels: labels() },
                automountServiceAccountToken: false,
            }),
            resource(T.clickhouseInstallation, "chi", pod({ automountServiceAccountToken: false, containers: [goodContainer] })),
        ],
        fail: [
            resource(T.deployment, "app", appDeployment()),
            resource(T.serviceAccount, "app-account", { metadata: { namespace: "apps", name: "app", labels: labels() } }),
        ],
        message:
            /Deployment "app" runs pods that mount the API token of ServiceAccount "app"\. Set automountServiceAccountToken: false on the pod, or on a ServiceAccount of its own/,
    },
    "kubernetes-service-account-tokens (default account)": {
        pass: [resource(T.clickhouseInstallation, "chi", pod({ automountServiceAccountToken: false, containers: [goodContainer] }))],
        fail: [resource(T.clickhouseInstallation, "chi", pod({ containers: [goodContainer] }))],
        message: /ClickHouseInstallation "chi" runs pods that mount the API token of ServiceAccount "default"/,
    },
    "network-default-deny": {
        pass: [
            appsNamespace,
            resource(T.deployment, "app", appDeployment()),
            denyAll(),
            resource(T.namespace, "idle", { metadata: { name: "idle", labels: labels() } }),
        ],
        fail: [appsNamespace, resource(T.deployment, "app", appDeployment()), denyAll({ ingress: [{ from: [{ podSelector: {} }] }] })],
        message:
            /Namespace "apps" \(cell eu-1\) runs the cell's workloads with no default-deny NetworkPolicy, so any pod of the cluster reaches its stores\. Add one with podSelector: \{\} and policyTypes: \[Ingress, Egress\]/,
    },
    "network-default-deny (EKS)": {
        pass: [
            eksComponent,
            resource(T.eks, "eks", { tags: tags() }, inEksComponent),
            resource(T.eksAddon, "cni", { addonName: "vpc-cni", configurationValues: '{"enableNetworkPolicy":"true"}' }, inEksComponent),
        ],
        fail: [
            eksComponent,
            resource(T.eks, "eks", { tags: tags() }, inEksComponent),
            resource(T.eksAddon, "cni", { addonName: "vpc-cni" }, inEksComponent),
        ],
        message:
            /Cluster "eks" runs the VPC CNI without its network policy agent, so NetworkPolicies are not enforced\. Add the vpc-cni add-on with configurationValues \{"enableNetworkPolicy": "true"\}/,
    },
    "network-default-deny (AKS)": {
        pass: [resource(T.aks, "aks", { networkProfile: { networkPlugin: "azure", networkPolicy: "cilium" } })],
        fail: [resource(T.aks, "aks", { networkProfile: { networkPlugin: "azure" } })],
        message:
            /ManagedCluster "aks" has networkProfile\.networkPolicy undefined, so NetworkPolicies are not enforced\. Set it to one of azure, calico, cilium/,
    },
    "audit-network-flow-logs": {
        pass: [
            network,
            resource(T.vpc, "vpc", { tags: tags() }, inNetwork),
            resource(T.flowLog, "flows", { trafficType: "ALL", tags: tags() }, inNetwork),
            azureNetwork,
            resource(T.virtualNetwork, "vnet", { location: "westeurope", tags: tags() }, inAzureNetwork),
            resource(T.azureFlowLog, "vnet-flows", { enabled: true, tags: tags() }, inAzureNetwork),
        ],
        fail: [
            network,
            resource(T.vpc, "vpc", { tags: tags() }, inNetwork),
            resource(T.flowLog, "flows", { trafficType: "REJECT", tags: tags() }, inNetwork),
        ],
        message: /Vpc "vpc" records no flow logs\. Add an ec2\.FlowLog of trafficType "ALL" into the cell's audit trail/,
    },
    "audit-network-flow-logs (VNet)": {
        pass: [
            azureNetwork,
            resource(T.virtualNetwork, "vnet", { tags: tags() }, inAzureNetwork),
            resource(T.azureFlowLog, "vnet-flows", {}, inAzureNetwork),
        ],
        fail: [
            azureNetwork,
            resource(T.virtualNetwork, "vnet", { tags: tags() }, inAzureNetwork),
            resource(T.azureFlowLog, "vnet-flows", { enabled: false }, inAzureNetwork),
        ],
        message: /VirtualNetwork "vnet" records no flow logs\. Add a network\.FlowLog targeting it/,
    },
    "audit-service-logs": {
        pass: [
            resource(T.bucket, "exports", { bucket: "exports-1", tags: tags() }),
            resource(T.bucket, "access-logs", { bucket: "logs-1", tags: tags() }),
            resource(T.bucketLogging, "exports-logging", { bucket: "exports-1", targetBucket: "logs-1" }),
            resource(T.rds, "db", { enabledCloudwatchLogsExports: ["postgresql", "upgrade"], tags: tags() }),
            resource(T.msk, "kafka", { loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: "g" } } }, tags: tags() }),
            resource(T.eks, "eks", { enabledClusterLogTypes: ["api", "audit"], tags: tags() }),
        ],
        fail: [resource(T.bucket, "exports", { bucket: "exports-1", tags: tags() })],
        message: /Bucket "exports" keeps no record of who used it\. Add an s3\.BucketLogging into the cell's audit bucket/,
    },
    "audit-service-logs (RDS)": {
        pass: [resource(T.rds, "db", { enabledCloudwatchLogsExports: ["postgresql"], tags: tags() })],
        fail: [resource(T.rds, "db", { tags: tags() })],
        message: /Instance "db" keeps no record of who used it\. Set enabledCloudwatchLogsExports: \["postgresql", "upgrade"\]/,
    },
    "audit-service-logs (diagnostic settings)": {
        pass: [
            azureStore,
            resource(T.flexibleServer, "pg", { location: "westeurope", tags: tags() }, inAzureStore),
            resource(T.diagnosticSetting, "pg-diagnostics", { logs: [{ categoryGroup: "allLogs", enabled: true }] }, inAzureStore),
        ],
        fail: [
            azureStore,
            resource(T.flexibleServer, "pg", { location: "westeurope", tags: tags() }, inAzureStore),
            resource(T.diagnosticSetting, "pg-diagnostics", { logs: [{ categoryGroup: "allLogs", enabled: false }] }, inAzureStore),
        ],
        message: /Server "pg" keeps no record of who used it\. Add a monitor\.DiagnosticSetting beside it/,
    },
    "audit-records-kept": {
        pass: [
            resource(T.logGroup, "flows", { kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/k", retentionInDays: 365, tags: tags() }),
            resource(T.logAnalyticsWorkspace, "ws", { retentionInDays: 30, location: "westeurope", tags: tags() }),
        ],
        fail: [resource(T.logGroup, "flows", { retentionInDays: 365, tags: tags() })],
        message: /LogGroup "flows" is not encrypted with the cell's key\. Set kmsKeyId/,
    },
    "audit-records-kept (retention)": {
        pass: [resource(T.logAnalyticsWorkspace, "ws", { retentionInDays: 365, tags: tags() })],
        fail: [resource(T.logAnalyticsWorkspace, "ws", { retentionInDays: 7, tags: tags() })],
        message: /Workspace "ws" keeps its records 7 days\. Set retentionInDays to at least 30/,
    },
    "router-within-residency": {
        pass: routerDeployment("eu", "eu", { "eu-1": "eu" }),
        fail: routerDeployment("us", "eu", { "us-1": "us" }),
        message:
            /Deployment "router", the router of residency us, runs on cell eu-1 of residency eu\. Set cellplane:routers\.us to a cell of residency us/,
    },
    "router-within-residency (routes)": {
        pass: routerDeployment("eu", "eu", {}),
        fail: routerDeployment("eu", "eu", { "eu-1": "eu", "us-1": "us" }),
        message:
            /Deployment "router", the router of residency eu, routes to another residency: cell us-1\. A router holds only its own residency's cells and tenants/,
    },
    "residency-guardrails": {
        pass: [
            resource(T.iamPolicy, "boundary", {
                arn: "arn:aws:iam::123456789012:policy/boundary",
                policy: JSON.stringify(residencyBoundaryDocument("eu")),
            }),
            resource(T.iamRole, "r", { permissionsBoundary: "arn:aws:iam::123456789012:policy/boundary" }),
        ],
        fail: [
            resource(T.iamPolicy, "boundary", {
                arn: "arn:aws:iam::123456789012:policy/boundary",
                policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
            }),
            resource(T.iamRole, "r", { permissionsBoundary: "arn:aws:iam::123456789012:policy/boundary" }),
        ],
        message: /Role "r" is not bounded to its residency's regions\. Create it within an AWS cell/,
    },
    "residency-guardrails (azure)": {
        pass: [
            resource(T.resourceGroup, "eu-1-rg", { name: "eu-1-rg", tags: tags("eu") }),
            resource(T.policyAssignment, "a", {
                scope: "/subscriptions/s/resourceGroups/eu-1-rg",
                policyDefinitionId: ALLOWED_LOCATIONS_POLICY,
                parameters: { listOfAllowedLocations: { value: ["westeurope", "northeurope"] } },
            }),
        ],
        fail: [
            resource(T.resourceGroup, "eu-1-rg", { name: "eu-1-rg", tags: tags("eu") }),
            resource(T.policyAssignment, "a", {
                scope: "/subscriptions/s/resourceGroups/eu-1-rg",
                policyDefinitionId: ALLOWED_LOCATIONS_POLICY,
                parameters: { listOfAllowedLocations: { value: ["westeurope", "eastus"] } },
            }),
        ],
        message: /ResourceGroup "eu-1-rg" allows eastus, outside residency eu\. Allow only /,
    },
    "local-bucket-encrypted": {
        pass: [
            resource(T.localObject, "exports", { kind: "bucket", spec: { bucket: "b" }, observed: { encrypted: true, versioned: true } }),
            // Before any read (a preview), and once the bucket is gone (runtime drift), encryption is not known.
            resource(T.localObject, "planned", { kind: "bucket", spec: { bucket: "c" } }),
            resource(T.localObject, "gone", { kind: "bucket", spec: { bucket: "d" }, observed: null }),
        ],
        fail: [
            resource(T.localObject, "exports", { kind: "bucket", spec: { bucket: "b" }, observed: { encrypted: false, versioned: true } }),
        ],
        message:
            /LocalObject "exports" stores objects unencrypted: its default encryption was removed outside Pulumi\. Run cellplane reconcile to restore SSE \(AES256\) on bucket b/,
    },
    "helm-chart-pinned": {
        pass: [resource(T.helmRelease, "r", { chart: "seaweedfs", version: "4.53.0" })],
        fail: [resource(T.helmRelease, "r", { chart: "seaweedfs", version: "^4" })],
        message: /Release "r" installs chart "seaweedfs" at "\^4"\. Pin an exact version/,
    },
};

const byName = new Map(POLICIES.map((p) => [p.name, p]));

test("the pack has at least 20 policies, each with a name, a description and a level", () => {
    expect(POLICIES.length).toBeGreaterThanOrEqual(20);
    for (const policy of POLICIES) {
        expect(policy.name).toMatch(/^[a-z0-9-]+$/);
        expect(policy.description.length).toBeGreaterThan(20);
        // Advisory: a version near its end, and images not yet pinned by digest (only a machine that reaches the
        // registries can pin them).
        const advisory = policy.name.endsWith("-expiring") || policy.name === "kubernetes-images-by-digest";
        expect(policy.enforcementLevel).toBe(advisory ? "advisory" : "mandatory");
    }
    expect(new Set(POLICIES.map((p) => p.name)).size).toBe(POLICIES.length);
});

/** A case's policy: its name, less what the case is about in parentheses. */
const policyOfCase = (name: string) => name.replace(/ \(.*\)$/, "");

test("a policy that cannot decide at preview says so: an unknown bucket name stops it instead of passing the bucket", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // @pulumi/policy's marker of an unknown string, as the engine hands it at preview
    for (const name of ["no-public-buckets", "bucket-sse-kms"]) {
        const policy = byName.get(name) as StackValidationPolicy;
        const resources = [
            resource(T.bucket, "b", { bucket: unknown, tags: tags() }),
            resource(T.bucketPublicAccessBlock, "b-x", { bucket: unknown, ...fullBlock }),
        ].map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: unknownCheckingProxy(r.state), opts: {} }));
        const reported: string[] = [];
        // The engine turns this error into "can't run policy … during preview", an advisory of its own.
        await expect(async () =>
            policy.validateStack({ resources } as unknown as StackValidationArgs, (message) => void reported.push(message)),
        ).rejects.toBeInstanceOf(UnknownValueError);
        expect(reported).toEqual([]);
    }
});

test("every policy has a passing and a failing case", () => {
    expect([...new Set(Object.keys(CASES).map(policyOfCase))].sort()).toEqual(POLICIES.map((p) => p.name).sort());
});

describe.each(Object.entries(CASES))("%s", (name, { pass, fail, message, config = {} }) => {
    const policy = () => byName.get(policyOfCase(name))!;

    test("accepts compliant resources", async () => {
        expect(await runPolicies(pass, config, [policy()])).toEqual([]);
    });

    test("rejects the violation, naming the resource and the fix", async () => {
        const violations = await runPolicies(fail, config, [policy()]);
        expect(violations).toHaveLength(1);
        expect(violations[0]).toMatchObject({ policy: policyOfCase(name), level: policy().enforcementLevel });
        expect(violations[0].message).toMatch(message);
    });
});

describe("enforcement levels come from the stack's policy config", () => {
    const lonely = [resource(T.rds, "db", { backupRetentionPeriod: 7 })];

    test.each([
        ["dev", "advisory"],
        ["prod", "mandatory"],
        ["local", undefined],
    ])("%s: backup retention is %s", async (stack, level) => {
        const violations = await runPolicies(lonely, packConfigOf(stack), [byName.get("backup-retention-30-days")!]);
        expect(violations.map((v) => v.level)).toEqual(level ? [level] : []);
    });

    test.each(stackNames())("%s: the allowed sizes match Pulumi.%s.yaml and every configured policy exists", (stack) => {
        const config = packConfigOf(stack);
        expect((config["allowed-instance-types"] as ResourceProps).allowedSizes).toEqual(stackConfig(stack).allowedSizes);
        for (const key of Object.keys(config).filter((k) => k !== "all")) expect(byName.has(key)).toBe(true);
    });
});

describe.each(["dev", "prod"])("the whole pack over the %s stack", (stack) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runStackFile(stack);
    });

    test("passes every mandatory policy", async () => {
        const violations = await runPolicies(run.resources, packConfigOf(stack));
        expect(violations.filter((v) => v.level === "mandatory")).toEqual([]);
    });

    test("checks every version the stack pins against model/versions.ts, and fails once one's end of support is past", async () => {
        const pinned = new Set(run.resources.flatMap((r) => pinnedVersionsOf({ type: r.type, props: r.inputs })).map((p) => p.kind));
        expect([...pinned].sort()).toEqual(
            expect.arrayContaining(["eks", "aks", "msk", "rds-postgres", "flexible-postgres", "image:node"]),
        );
        const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
        const table = Object.values(VERSIONS).map((v) => (v.kind === "eks" ? { ...v, endOfSupport: yesterday } : v));
        const violations = await runPolicies(run.resources, packConfigOf(stack), supportedVersionsPolicies(table));
        const clusters = run.resources.filter((r) => r.type === T.eks);
        expect(clusters.length).toBeGreaterThan(0);
        const failures = violations.filter((v) => v.policy === "supported-versions");
        expect(failures.map((v) => [v.policy, v.level, v.resource])).toEqual(
            clusters.map((c) => ["supported-versions", "mandatory", c.name]),
        );
        expect(failures[0].message).toContain(`out of support since ${yesterday}`);
    });

    test("rejects a public database", async () => {
        const resources = run.resources.map((r) => (r.type === T.rds ? { ...r, inputs: { ...r.inputs, publiclyAccessible: true } } : r));
        const violations = await runPolicies(resources, packConfigOf(stack));
        expect(violations.filter((v) => v.level === "mandatory").map((v) => v.policy)).toEqual(
            resources.filter((r) => r.type === T.rds).map(() => "no-public-databases"),
        );
    });

    test("rejects every cell's store whose lifecycle loses a tier, on each target", async () => {
        // A cluster's SeaweedFS has its expiry from the export app's OBJECT_STORE: taken out of every export Deployment.
        const withoutExpiry = (r: (typeof run.resources)[number]) => {
            if (r.type !== T.deployment || r.state.metadata.labels["app.kubernetes.io/name"] !== "export") return r;
            const [container] = r.state.spec.template.spec.containers;
            const env = container.env.map((e: ResourceProps) =>
                e.name === "OBJECT_STORE" ? { ...e, value: JSON.stringify({ ...JSON.parse(e.value), expiry: undefined }) } : e,
            );
            const spec = {
                ...r.state.spec,
                template: { ...r.state.spec.template, spec: { ...r.state.spec.template.spec, containers: [{ ...container, env }] } },
            };
            return { ...r, state: { ...r.state, spec } };
        };
        const withoutTiers = run.resources.filter((r) => r.type !== T.bucketLifecycle && r.type !== T.managementPolicy).map(withoutExpiry);
        const violations = (await runPolicies(withoutTiers, packConfigOf(stack))).filter((v) => v.policy === "exports-lifecycle-tiers");
        const stores = run.resources.filter(
            (r) =>
                (r.type === T.bucket && r.name.endsWith("-object-store-exports")) ||
                (r.type === T.storageAccount && r.name.endsWith("-object-store-account")) ||
                (r.type === T.helmRelease && r.name.endsWith("-object-store-seaweedfs")),
        );
        expect(stores.some((r) => r.type === T.helmRelease)).toBe(stack === "prod");
        expect(stores.length).toBeGreaterThan(1);
        expect(violations.map((v) => v.resource).sort()).toEqual(stores.map((r) => r.name).sort());
    });

    test("rejects every cell's ClickHouse whose cold disk is missing, on another cell's store or outside the cell's region", async () => {
        const installations = run.resources.filter((r) => r.type === T.clickhouseInstallation);
        expect(installations.length).toBeGreaterThan(1);
        const withStorage = (edit: (xml: string) => string | undefined) =>
            run.resources.map((r) => {
                if (r.type !== T.clickhouseInstallation) return r;
                const xml = edit(r.state.spec.configuration.files["config.d/storage.xml"]);
                const configuration = { ...r.state.spec.configuration, files: xml === undefined ? {} : { "config.d/storage.xml": xml } };
                return { ...r, state: { ...r.state, spec: { ...r.state.spec, configuration } } };
            });
        const coldTierViolations = async (resources: typeof run.resources) =>
            (await runPolicies(resources, packConfigOf(stack))).filter((v) => v.policy === "clickhouse-cold-tier");
        expect(await coldTierViolations(run.resources)).toEqual([]);

        const missing = await coldTierViolations(withStorage(() => undefined));
        expect(missing.map((v) => v.resource).sort()).toEqual(installations.map((r) => r.name).sort());
        expect(missing[0].message).toMatch(/has no config.d\/storage.xml, so its events never leave the servers' disks/);

        const elsewhere = await coldTierViolations(
            withStorage((xml) =>
                xml
                    .replace(/\.s3\.[a-z0-9-]+\.amazonaws\.com/, ".s3.ap-southeast-2.amazonaws.com")
                    .replace(/https:\/\/[a-z0-9]+\.blob\.core/, "https://othercell.blob.core")
                    .replace(/\.[a-z0-9-]+\.svc\.cluster\.local/, ".other-cell-data.svc.cluster.local"),
            ),
        );
        expect(elsewhere.map((v) => v.resource).sort()).toEqual(installations.map((r) => r.name).sort());
        for (const violation of elsewhere)
            expect(violation.message).toMatch(
                /outside the cell's region .*: put it on the cell's own bucket|othercell, which is no bucket or storage account of cell|neither a cloud store of the cell nor a Service of its namespace/,
            );
    });

    test("rejects an eu bucket replicating to a us-east-1 bucket", async () => {
        const euBucket = run.resources.find((r) => r.type === T.bucket && r.state.tags["cellplane:residency"] === "eu")!;
        const extra = [
            ...aws(T.bucket, "us-copy", { bucket: "us-copy", tags: tags("us", "us-1") }, "us-east-1"),
            resource(T.bucketReplication, "to-us", {
                bucket: euBucket.state.bucket,
                rules: [{ destination: { bucket: "arn:aws:s3:::us-copy" } }],
            }),
        ];
        const violations = await runPolicies([...run.resources, ...extra], packConfigOf(stack));
        expect(violations.filter((v) => v.policy.startsWith("no-cross-residency"))).toEqual([
            expect.objectContaining({
                level: "mandatory",
                policy: "no-cross-residency-bucket-replication",
                resource: euBucket.name,
                message: expect.stringContaining(
                    `Bucket "${euBucket.name}" (residency eu) replicates to bucket Bucket "us-copy" in residency us`,
                ),
            }),
        ]);
    });

    test("rejects a tenant routed across residencies, in every cell's directory", async () => {
        const usCellId = Object.keys(run.outputs.cells).find((id) => run.outputs.cells[id].residency === "us")!;
        const resources = run.resources.map((r) => {
            if (r.type !== T.configMap || r.state.metadata?.name !== TENANT_DIRECTORY_CONFIGMAP) return r;
            const moved = JSON.parse(r.state.data[TENANT_DIRECTORY_KEY]);
            moved.tenants.acme.cell = usCellId;
            return { ...r, state: { ...r.state, data: { [TENANT_DIRECTORY_KEY]: JSON.stringify(moved) } } };
        });
        const violations = (await runPolicies(resources, packConfigOf(stack))).filter((v) => v.level === "mandatory");
        expect(violations.map((v) => v.policy)).toEqual(Object.keys(run.outputs.cells).map(() => "tenant-routing-within-residency"));
        expect(violations[0].message).toContain(`Tenant "acme" (residency eu) is routed to cell "${usCellId}" of residency us`);
    });

    test("rejects a router that serves another residency than its cell's", async () => {
        const routers = run.resources.filter(
            (r) => r.type === T.deployment && r.state.metadata?.labels?.["app.kubernetes.io/name"] === "router",
        );
        expect(routers.length).toBe(Object.keys(run.outputs.routers).length);
        const [moved] = routers;
        const env = moved.state.spec.template.spec.containers[0].env.map((e: ResourceProps) =>
            e.name === "RESIDENCY" ? { ...e, value: e.value === "eu" ? "us" : "eu" } : e,
        );
        const template = moved.state.spec.template;
        const containers = [{ ...template.spec.containers[0], env }];
        const spec = { ...moved.state.spec, template: { ...template, spec: { ...template.spec, containers } } };
        const resources = run.resources.map((r) =>
            r === moved ? { ...r, inputs: { ...r.inputs, spec }, state: { ...r.state, spec } } : r,
        );
        const violations = (await runPolicies(resources, packConfigOf(stack))).filter((v) => v.level === "mandatory");
        expect(new Set(violations.map((v) => [v.policy, v.resource].join(" ")))).toEqual(
            new Set([`router-within-residency ${moved.name}`]),
        );
    });
});

test("a local router is checked like a cluster's: on its own residency's cell, with its own residency's routes only", async () => {
    const run = await runStackFile("local");
    const routers = run.resources.filter((r) => r.type === T.localAppServer && JSON.stringify(r.inputs.spec).includes("/router"));
    expect(routers.length).toBe(2);
    expect(await runPolicies(run.resources, packConfigOf("local"))).toEqual([]);
    const unwrap = (spec: ResourceProps) => spec.value ?? spec;
    const swapped = run.resources.map((r) => {
        if (!routers.includes(r)) return r;
        const spec = unwrap(r.inputs.spec);
        const moved = { ...spec, env: { ...spec.env, RESIDENCY: spec.env.RESIDENCY === "eu" ? "us" : "eu" } };
        return { ...r, inputs: { ...r.inputs, spec: moved }, state: { ...r.state, spec: moved } };
    });
    const violations = await runPolicies(swapped, packConfigOf("local"));
    expect(violations.map((v) => v.policy)).toEqual(expect.arrayContaining(["router-within-residency"]));
    expect(violations.every((v) => v.policy === "router-within-residency")).toBe(true);
    expect(violations.map((v) => v.message).join("\n")).toMatch(/the router of residency us, runs on cell local-eu of residency eu/);
});

test("a local cell's tenant directory file is checked like a cluster's ConfigMap", async () => {
    const run = await runStackFile("local");
    const files = run.resources.filter(
        (r) => r.type === T.localObject && r.inputs.kind === "file" && r.inputs.spec.path.endsWith(TENANT_DIRECTORY_KEY),
    );
    expect(files.map((f) => path.basename(f.inputs.spec.path))).toEqual(["directory.json", "directory.json"]);
    const rerouted = run.resources.map((r) => {
        if (!files.includes(r)) return r;
        const moved = JSON.parse(r.inputs.spec.content);
        moved.tenants.acme.cell = "local-us";
        const spec = { ...r.inputs.spec, content: JSON.stringify(moved) };
        return { ...r, inputs: { ...r.inputs, spec }, state: { ...r.state, spec } };
    });
    expect(await runPolicies(run.resources, packConfigOf("local"))).toEqual([]);
    const violations = await runPolicies(rerouted, packConfigOf("local"));
    expect(violations.map((v) => [v.policy, v.resource])).toEqual([
        ["tenant-routing-within-residency", "local-eu-tenant-directory"],
        ["tenant-routing-within-residency", "local-us-tenant-directory"],
    ]);
});
