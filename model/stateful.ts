/**
 * The resources that hold data: replacing or deleting one loses what it holds (databases, Kafka clusters and
 * hubs, topics, buckets and storage accounts, ClickHouse installations, the keys that decrypt them, the
 * audit records). `scripts/cellplane plan` refuses such a change unless the operator names it.
 */
const STATEFUL_TYPES: ReadonlySet<string> = new Set([
    "aws:rds/instance:Instance",
    "aws:msk/cluster:Cluster",
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "azure-native:dbforpostgresql:Server",
    "azure-native:eventhub:Namespace",
    "azure-native:eventhub:EventHub",
    "azure-native:storage:StorageAccount",
    "azure-native:storage:BlobContainer",
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key",
    "azure-native:operationalinsights:Workspace",
    "kubernetes:core/v1:Namespace",
    "kubernetes:clickhouse.altinity.com/v1:ClickHouseInstallation",
    "kubernetes:clickhouse-keeper.altinity.com/v1:ClickHouseKeeperInstallation",
    "kubernetes:kafka.strimzi.io/v1:Kafka",
    "kubernetes:kafka.strimzi.io/v1:KafkaNodePool",
    "kubernetes:kafka.strimzi.io/v1:KafkaTopic",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
    "pulumi-nodejs:dynamic/cellplane:LocalPostgresServer",
    "pulumi-nodejs:dynamic/cellplane:LocalPostgresDatabase",
    "pulumi-nodejs:dynamic/cellplane:LocalKafkaServer",
    "pulumi-nodejs:dynamic/cellplane:LocalClickhouseServer",
    "pulumi-nodejs:dynamic/cellplane:LocalSeaweedfsServer",
    "pulumi-nodejs:dynamic/cellplane:LocalAzuriteServer",
]);

/** What a local cell keeps inside its servers: topics, buckets and containers, schemas, databases and tables. */
const STATEFUL_LOCAL_OBJECTS: ReadonlySet<string> = new Set([
    "topic",
    "bucket",
    "coldBucket",
    "lakeBucket",
    "container",
    "postgresSchema",
    "clickhouseDatabase",
    "clickhouseTable",
]);

/** Whether a resource of `type` with these inputs (old or new) holds data. */
export function holdsData(type: string, inputs: { kind?: unknown; chart?: unknown } | undefined): boolean {
    if (STATEFUL_TYPES.has(type)) return true;
    if (type === "pulumi-nodejs:dynamic/cellplane:LocalObject") return STATEFUL_LOCAL_OBJECTS.has(String(inputs?.kind));
    // SeaweedFS in a cluster keeps the cell's objects on the volumes of its chart.
    return type === "kubernetes:helm.sh/v3:Release" && inputs?.chart === "seaweedfs";
}
