import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { TIERED_EVENTS_TABLE } from "../../apps/shared/analytics";
import { cellTopics, deadLetterTopic, EVENTS_TOPIC } from "../../apps/shared/topics";
import type {
    AppService,
    AppSpec,
    CellContext,
    ClickHouseApp,
    ClickHouseCluster,
    ClickHouseCredentials,
    KafkaApp,
    KafkaCluster,
    LakehouseStores,
    LakeReaders,
    MetricsServer,
    ObjectStore,
    PostgresDatabase,
    SecretSource,
    StoreAccess,
} from "../platform";
import { secretValueOf } from "../platform";
import type {
    ClickHouseConnection,
    KafkaConnection,
    ObjectStoreConnection,
    PostgresConnection,
    S3Connection,
} from "../../model/connections";
import { appUrlOf } from "./appServer";
import { frontUrl, type LakeReaderUser } from "./clickhouseServer";
import { lakeReaderOf, lakeReaderPassword, tenantDatabaseOf } from "../../apps/lakehouse/lakeSql";
import { kafkaSettingsOf, WAREHOUSE_PREFIX } from "../../apps/lakehouse/jobs";
import { JOBS_SCRIPT, type LakehouseCell } from "../../apps/lakehouse/sparkSubmit";
import { bundleFile } from "../apps/bundle";
import { cacheDir } from "../runtime";
import { bootstrapOf } from "./kafkaServer";
import type { ScrapeTarget } from "./prometheusServer";
import { s3Url } from "./seaweedfsServer";
import { ruleSet } from "../ruleSet";
import { blobEndpointOf } from "./azuriteServer";
import { LocalPostgresDatabase, LocalPostgresServer } from "./postgres";
import { LocalObject, LocalServer, localSecret } from "./resources";
import type { LocalCertificates } from "./tls";
import { KAFKA_GRANTS, kafkaUserOf } from "../kafkaGrants";
import { s3KeysAccess } from "../s3KeysAccess";
import { COLD_DISK_PREFIX, type ColdDisk, storageConfiguration } from "../coldStorage";
import { coldBucketOf, exportsBucketOf, lakeBucketOf } from "../bucketNames";

/** Where a local cell's part keeps its data, and the port it listens on. */
export interface LocalPartArgs {
    context: CellContext;
    dir: string;
    port: number;
    /** The stack's CA, which issues the part's certificate; absent, the part speaks plain text. */
    certificates?: LocalCertificates;
}

const label = (what: string, context: CellContext) => `${what} of cell ${context.cell.id}`;

/** How a part's clients verify it: against the stack's CA, or not at all where the stack runs in plain text. */
const tlsMode = (args: LocalPartArgs) => (args.certificates ? ("ca" as const) : ("off" as const));
const caOf = (args: LocalPartArgs) => args.certificates && { value: args.certificates.caCertificate() };

export interface LocalPostgresArgs extends LocalPartArgs {
    /** Where postgres_exporter serves the server's statistics; absent, no exporter runs. */
    metricsPort?: number;
}

export class LocalPostgres extends pulumi.ComponentResource implements PostgresDatabase {
    readonly host = pulumi.output("127.0.0.1");
    readonly port: pulumi.Output<number>;
    readonly database = pulumi.output("cellplane");
    readonly user = pulumi.output("cellplane_app");
    readonly password: pulumi.Output<string>;
    readonly access: StoreAccess<PostgresConnection>;

    constructor(name: string, args: LocalPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:Postgres", name, {}, opts);
        const superuserPassword = localSecret(`${name}-superuser-password`, this);
        this.password = localSecret(`${name}-app-password`, this);
        const server = {
            label: label("postgres", args.context),
            dir: args.dir,
            port: args.port,
            superuser: "cellplane",
            superuserPassword,
            tls: args.certificates?.serverTls(name, this),
        };
        const postgresServer = new LocalPostgresServer(`${name}-server`, server, { parent: this });
        const database = new LocalPostgresDatabase(
            `${name}-database`,
            { server: pulumi.output(server), database: "cellplane", owner: "cellplane_app", ownerPassword: this.password },
            { parent: this, dependsOn: [postgresServer] },
        );
        new LocalObject(
            `${name}-schema`,
            {
                kind: "postgresSchema",
                server: pulumi.output(server),
                spec: { database: "cellplane", schema: "cellplane", owner: "cellplane_app" },
            },
            { parent: this, dependsOn: [database] },
        );
        if (args.metricsPort !== undefined) {
            const monitor = new LocalObject(
                `${name}-monitor-role`,
                { kind: "postgresMonitorRole", server: pulumi.output(server), spec: { role: "cellplane_monitor" } },
                { parent: this, dependsOn: [postgresServer] },
            );
            const exporter = {
                label: label("postgres_exporter", args.context),
                dir: `${args.dir}-exporter`,
                port: args.metricsPort,
                postgresPort: args.port,
                user: "cellplane_monitor",
                password: pulumi.secret(monitor.value),
                ca: args.certificates?.caCertificate(),
            };
            new LocalServer(`${name}-exporter`, { kind: "postgresExporter", spec: exporter }, { parent: this, dependsOn: [monitor] });
        }
        this.port = postgresServer.port;
        this.access = {
            connection: pulumi.output({ host: this.host, port: this.port, database: this.database, user: this.user, tls: tlsMode(args) }),
            ca: caOf(args),
            password: { value: this.password },
        };
        this.registerOutputs({ port: this.port });
    }
}

export class LocalKafka extends pulumi.ComponentResource implements KafkaCluster {
    readonly bootstrapServers: pulumi.Output<string>;
    readonly replicationFactor = 1;
    readonly access: Record<KafkaApp, StoreAccess<KafkaConnection>>;
    readonly streaming: StoreAccess<KafkaConnection>;
    readonly lakehouse: StoreAccess<KafkaConnection>;

    /** The broker's own user, for provisioning and operators (a Pulumi secret); none in plain text. */
    readonly admin?: pulumi.Output<{ username: string; password: string }>;

    constructor(name: string, args: LocalKafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:Kafka", name, {}, opts);
        const admin = pulumi.secret(pulumi.output({ username: "cellplane-admin", password: localSecret(`${name}-admin-password`, this) }));
        this.admin = args.certificates && admin;
        const apps = (["ingest", "consumer"] as const).map((app) => ({
            app,
            username: kafkaUserOf(app),
            password: localSecret(`${name}-${app}-password`, this),
        }));
        const spec = pulumi.output({
            label: label("kafka", args.context),
            dir: args.dir,
            port: args.port,
            controllerPort: args.port + 1,
            metricsPort: args.metricsPort,
            security: args.certificates && {
                tls: args.certificates.serverTls(name, this),
                admin,
                users: apps.map(({ app, username, password }) => ({ username, password, grants: KAFKA_GRANTS[app] })),
                plainPort: args.plainPort,
            },
        });
        const server = new LocalServer(`${name}-server`, { kind: "kafka", spec }, { parent: this });
        const topicServer = spec.apply(({ port, security }) => ({ port, security }));
        // One topic at a time: a broker that just started can lose track of a topic created beside another.
        const resourceName = (topic: string) =>
            topic === EVENTS_TOPIC ? "events" : topic === deadLetterTopic(EVENTS_TOPIC) ? "dead-letters" : "windows";
        const topics = cellTopics().reduce<LocalObject[]>(
            (made, topic) => [
                ...made,
                new LocalObject(
                    `${name}-${resourceName(topic.topic)}`,
                    { kind: "topic", server: topicServer, spec: topic },
                    { parent: this, dependsOn: made.length > 0 ? made : [server] },
                ),
            ],
            [],
        );
        // The apps connect once the topics exist, so none of them races the topics' creation.
        this.bootstrapServers = pulumi
            .all([server.running, ...topics.map((t) => t.id)] as pulumi.Input<unknown>[])
            .apply(() => bootstrapOf(args));
        // SASL_SSL with SCRAM-SHA-512, as on MSK and Strimzi, each app as its own user.
        const [ingest, consumer] = apps.map(({ username, password }) => ({
            connection: this.bootstrapServers.apply((brokers) => ({
                brokers: [brokers],
                tls: tlsMode(args),
                sasl: args.certificates ? { mechanism: "scram-sha-512" as const, username } : { mechanism: "none" as const },
            })),
            ca: caOf(args),
            password: args.certificates && { value: password },
        }));
        this.access = { ingest, consumer };
        // The jobs sign in as the admin: a user of their own would replace the broker (see KafkaCluster.lakehouse).
        this.streaming = this.lakehouse = {
            connection: this.bootstrapServers.apply((brokers) => ({
                brokers: [brokers],
                tls: tlsMode(args),
                sasl: args.certificates
                    ? { mechanism: "scram-sha-512" as const, username: "cellplane-admin" }
                    : { mechanism: "none" as const },
            })),
            ca: caOf(args),
            password: args.certificates && { value: admin.apply((a) => a.password) },
        };
        this.registerOutputs({ bootstrapServers: this.bootstrapServers });
    }
}

export interface LocalKafkaArgs extends LocalPartArgs {
    /** Where the broker takes SASL PLAIN (Event Hubs' mechanism) over TLS. */
    plainPort: number;
    /** Where the JMX exporter in the broker's JVM serves its metrics; absent, it does not run. */
    metricsPort?: number;
}

/** The bucket of a local cell's exports. */

export interface LocalClickHouseArgs extends LocalPartArgs {
    /** What the exporter's user may reach: the URL prefix of the cell's exports bucket and the cell's Postgres (`host:port`). */
    exporterReach: string[];
    /** The cold volume's disk, on the cell's object store. */
    coldDisk: pulumi.Output<ColdDisk>;
    /** Each tenant's reader of the lake, where the cell has one. */
    lakeReaders?: LakeReaders;
}

export class LocalClickHouse extends pulumi.ComponentResource implements ClickHouseCluster {
    readonly url: pulumi.Output<string>;
    readonly user = pulumi.output("cellplane");
    readonly password: pulumi.Output<string>;
    readonly access: Record<ClickHouseApp, StoreAccess<ClickHouseConnection>>;

    constructor(name: string, args: LocalClickHouseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:ClickHouse", name, {}, opts);
        this.password = localSecret(`${name}-password`, this);
        const appUser = (app: ClickHouseApp) => ({
            user: pulumi.output(`cellplane_${app}`),
            password: localSecret(`${name}-${app}-password`, this),
        });
        const [ingest, consumer, exporter] = (["ingest", "consumer", "exporter"] as const).map(appUser);
        const spec = pulumi.output({
            label: label("clickhouse", args.context),
            dir: args.dir,
            port: args.port,
            user: "cellplane",
            password: this.password,
            tls: args.certificates?.serverTls(name, this),
            storage: args.coldDisk.apply((disk) => storageConfiguration(disk).xml),
            // The ingest API only reads; the consumer writes events and migrates their schema; the exporter reads the
            // cell's Postgres and writes its bucket.
            apps: [
                { name: "cellplane_ingest", password: ingest.password, readonly: true },
                { name: "cellplane_consumer", password: consumer.password },
                { name: "cellplane_exporter", password: exporter.password, reach: args.exporterReach },
            ],
            readers: lakeReadersOf(args.lakeReaders),
        });
        const server = new LocalServer(`${name}-server`, { kind: "clickhouse", spec }, { parent: this });
        const database = new LocalObject(
            `${name}-analytics`,
            { kind: "clickhouseDatabase", server: spec, spec: { database: "analytics" } },
            { parent: this, dependsOn: [server] },
        );
        new LocalObject(
            `${name}-events`,
            { kind: "clickhouseTable", server: spec, spec: { database: "analytics", table: "events", ddl: TIERED_EVENTS_TABLE } },
            { parent: this, dependsOn: [database] },
        );
        this.url = server.running.apply(() => frontUrl(args.port, Boolean(args.certificates)));
        const accessOf = ({ user, password }: ClickHouseCredentials) => ({
            connection: pulumi.output({ url: this.url, user, tls: tlsMode(args) }),
            ca: caOf(args),
            password: { value: password },
        });
        this.access = { ingest: accessOf(ingest), consumer: accessOf(consumer), exporter: accessOf(exporter) };
        this.registerOutputs({ url: this.url });
    }
}

/** Each tenant's reader: a user that selects from its tenant's database of lake views, with the query guardrails. */
function lakeReadersOf(lake: LakeReaders | undefined): pulumi.Output<LakeReaderUser[]> {
    if (!lake) return pulumi.output([]);
    return lake.querySecret.apply((secret) =>
        lake.tenants.map((tenant) => ({
            name: lakeReaderOf(tenant),
            password: lakeReaderPassword(secret, tenant),
            database: tenantDatabaseOf(tenant),
        })),
    );
}

export interface LocalObjectStoreArgs extends LocalPartArgs {
    /** The first of the ports SeaweedFS's own servers take (`INTERNAL_PORTS` of `seaweedfsServer.ts`). */
    internalPortBase: number;
    /** Where SeaweedFS serves its metrics; absent, nowhere. */
    metricsPort?: number;
}

export class LocalObjectStore extends pulumi.ComponentResource implements ObjectStore {
    readonly bucket: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    readonly accessKeys: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;
    readonly coldDisk: pulumi.Output<ColdDisk>;
    readonly lakeWarehouse: pulumi.Output<string>;
    readonly lake: StoreAccess<S3Connection>;
    readonly access: StoreAccess<ObjectStoreConnection>;
    readonly ca?: pulumi.Output<string>;

    constructor(name: string, args: LocalObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:ObjectStore", name, {}, opts);
        const { cell, retentionDays } = args.context;
        const secretAccessKey = localSecret(`${name}-secret-access-key`, this, 20);
        const spec = pulumi.output({
            label: label("seaweedfs", args.context),
            dir: args.dir,
            port: args.port,
            internalPortBase: args.internalPortBase,
            metricsPort: args.metricsPort,
            accessKeyId: "cellplane",
            secretAccessKey,
            sseKey: localSecret(`${name}-sse-key`, this, 32),
            adminPassword: localSecret(`${name}-admin-password`, this),
            tls: args.certificates?.serverTls(name, this),
        });
        const server = new LocalServer(`${name}-server`, { kind: "seaweedfs", spec }, { parent: this });
        const bucket = exportsBucketOf(cell.id);
        new LocalObject(
            `${name}-exports`,
            { kind: "bucket", server: spec, spec: { bucket, retentionDays } },
            { parent: this, dependsOn: [server] },
        );
        const coldBucket = new LocalObject(
            `${name}-analytics-cold`,
            { kind: "coldBucket", server: spec, spec: { bucket: coldBucketOf(cell.id) } },
            { parent: this, dependsOn: [server] },
        );
        const lake = new LocalObject(
            `${name}-lake`,
            { kind: "lakeBucket", server: spec, spec: { bucket: lakeBucketOf(cell.id) } },
            { parent: this, dependsOn: [server] },
        );
        this.bucket = pulumi.output(bucket);
        this.endpoint = server.running.apply(() => s3Url(args.port, Boolean(args.certificates)));
        this.lakeWarehouse = pulumi
            .all([this.endpoint, lake.id])
            .apply(([endpoint]) => `${endpoint}/${lakeBucketOf(cell.id)}/${WAREHOUSE_PREFIX}`);
        this.coldDisk = pulumi.secret(
            pulumi.all([this.endpoint, secretAccessKey, coldBucket.id]).apply(([endpoint, secret]): ColdDisk => ({
                kind: "s3",
                endpoint: `${endpoint}/${coldBucketOf(cell.id)}/${COLD_DISK_PREFIX}`,
                // SeaweedFS answers any region; the S3 SDK's signature needs one.
                region: "us-east-1",
                keys: { accessKeyId: { value: "cellplane" }, secretAccessKey: { value: secret } },
            })),
        );
        this.ca = args.certificates?.caCertificate();
        this.accessKeys = pulumi.secret(pulumi.output({ accessKeyId: "cellplane", secretAccessKey }));
        this.access = s3KeysAccess(this.endpoint, bucket, { accessKeyId: "cellplane", secretAccessKey });
        this.lake = {
            ...s3KeysAccess(this.endpoint, lakeBucketOf(cell.id), { accessKeyId: "cellplane", secretAccessKey }),
            ca: caOf(args),
        };
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
    }
}

/** The account of a local cell's Blob store: 3-24 lowercase letters and digits, as Azure's. */
export const blobAccountOf = (cellId: string) => cellId.replace(/[^a-z0-9]/g, "").slice(0, 24);

/** A local cell's exports in Azure Blob (Azurite), written by ClickHouse's `azureBlobStorage()` as on Azure cells. */
export class LocalBlobStore extends pulumi.ComponentResource implements ObjectStore {
    readonly bucket: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    readonly access: StoreAccess<ObjectStoreConnection>;
    readonly ca: pulumi.Output<string>;
    readonly accountKey: pulumi.Output<string>;
    readonly coldDisk: pulumi.Output<ColdDisk>;

    constructor(name: string, args: LocalPartArgs & { certificates: LocalCertificates }, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:BlobStore", name, {}, opts);
        const account = blobAccountOf(args.context.cell.id);
        // Azure account keys are base64; 64 hex digits are base64 too (48 bytes).
        const accountKey = localSecret(`${name}-account-key`, this, 32);
        this.accountKey = accountKey;
        const spec = pulumi.output({
            label: label("azurite", args.context),
            dir: args.dir,
            port: args.port,
            account,
            accountKey,
            tls: args.certificates.serverTls(name, this),
        });
        const server = new LocalServer(`${name}-server`, { kind: "azurite", spec }, { parent: this });
        const container = exportsBucketOf(args.context.cell.id);
        const made = new LocalObject(
            `${name}-exports`,
            { kind: "container", server: spec, spec: { container } },
            { parent: this, dependsOn: [server] },
        );
        const coldContainer = new LocalObject(
            `${name}-analytics-cold`,
            { kind: "container", server: spec, spec: { container: coldBucketOf(args.context.cell.id) } },
            { parent: this, dependsOn: [server] },
        );
        this.bucket = made.id.apply(() => container);
        this.endpoint = server.running.apply(() => blobEndpointOf({ port: args.port, account }));
        this.coldDisk = pulumi.secret(
            pulumi.all([this.endpoint, accountKey, coldContainer.id]).apply(([endpoint, key]): ColdDisk => ({
                kind: "azure",
                accountUrl: endpoint,
                container: coldBucketOf(args.context.cell.id),
                key: { account, accountKey: { value: key } },
            })),
        );
        this.ca = args.certificates.caCertificate();
        this.access = {
            connection: pulumi.output({
                protocol: "azblob" as const,
                endpoint: this.endpoint,
                account,
                container,
                credentials: { from: "key" as const },
            }),
            password: { value: accountKey },
        };
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
    }
}

export interface LocalStreamingJobArgs extends LocalPartArgs {
    kafka: StoreAccess<KafkaConnection>;
}

/** The cell's streaming job (`apps/lakehouse/streaming.ts`) on this machine's Flink, supervised like the servers. */
export class LocalStreamingJob extends pulumi.ComponentResource {
    constructor(name: string, args: LocalStreamingJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:StreamingJob", name, {}, opts);
        const { cell, environment } = args.context;
        const spec = pulumi.output({
            label: label("streaming job", args.context),
            dir: args.dir,
            port: args.port,
            settings: pulumi.output(args.kafka.connection).apply((connection) => ({
                kafka: kafkaSettingsOf(connection, ""),
                cell: { region: cell.region, environment },
            })),
            kafkaCa: secretValueOf(args.kafka.ca),
            kafkaPassword: secretValueOf(args.kafka.password),
        });
        new LocalServer(`${name}-process`, { kind: "streaming", spec }, { parent: this });
        this.registerOutputs({});
    }
}

export interface LocalJobSchedulerArgs extends LocalPartArgs {
    stores: LakehouseStores;
}

/**
 * The cell's lakehouse scheduler (`apps/lakehouse/schedulerMain.ts`): a process that runs the jobs on this machine's
 * Spark when their schedules are due, supervised like the apps. Its settings, secrets included, are its environment.
 */
export class LocalJobScheduler extends pulumi.ComponentResource {
    constructor(name: string, args: LocalJobSchedulerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:JobScheduler", name, {}, opts);
        const bundle = bundleFile(path.join(__dirname, "..", "..", "apps", "lakehouse", "schedulerMain.ts"), "lakehouse-scheduler");
        const cell = lakehouseCellOf(args.stores);
        const spec = pulumi.output({
            label: label("lakehouse scheduler", args.context),
            dir: args.dir,
            port: args.port,
            bundle: bundle.file,
            hash: bundle.hash,
            env: {
                CELL_ID: args.context.cell.id,
                CELLPLANE_CACHE: cacheDir(),
                LAKEHOUSE_SCRIPT: JOBS_SCRIPT,
                LAKEHOUSE_CELL: pulumi.secret(cell.apply((c) => JSON.stringify(c))),
            },
        });
        new LocalServer(`${name}-process`, { kind: "app", spec }, { parent: this });
        this.registerOutputs({});
    }
}

/** The cell's stores as a run on this machine reaches them (`sparkSubmit.ts`), from the accesses the Cell gives the jobs. */
function lakehouseCellOf({ postgres, kafka, lake }: LakehouseStores): pulumi.Output<LakehouseCell> {
    const text = (source: SecretSource | undefined) => pulumi.output(secretValueOf(source) ?? "");
    const connections = pulumi.all([pulumi.output(postgres.connection), pulumi.output(kafka.connection), pulumi.output(lake.connection)]);
    const secrets = pulumi.all([
        text(postgres.ca),
        text(postgres.password),
        text(kafka.ca),
        text(kafka.password),
        text(lake.ca),
        text(lake.password),
    ]);
    return pulumi
        .all([connections, secrets])
        .apply(([[pg, broker, store], [pgCa, pgPassword, kafkaCa, kafkaPassword, storeCa, storeSecret]]): LakehouseCell => {
            const { bootstrap, topic, sasl } = kafkaSettingsOf(broker, "");
            if (store.protocol !== "s3") throw new Error(`lake: a local cell's Spark reads an S3 lake, not ${store.protocol}`);
            return {
                postgres: {
                    host: pg.host,
                    port: pg.port,
                    database: pg.database,
                    user: pg.user,
                    password: pgPassword,
                    ca: pgCa || undefined,
                },
                kafka: {
                    bootstrap,
                    topic,
                    ca: kafkaCa || undefined,
                    scram: sasl?.mechanism === "SCRAM-SHA-512" ? { username: sasl.username, password: kafkaPassword } : undefined,
                },
                objectStore: {
                    endpoint: store.endpoint,
                    region: store.region,
                    bucket: store.bucket,
                    ca: storeCa || undefined,
                    accessKeyId: store.credentials.from === "keys" ? store.credentials.accessKeyId : "",
                    secretAccessKey: storeSecret,
                },
            };
        });
}

export interface LocalAppArgs extends LocalPartArgs {
    spec: AppSpec;
}

/** One of the cell's apps as a process this machine supervises, like the servers. */
export class LocalApp extends pulumi.ComponentResource implements AppService {
    readonly url: pulumi.Output<string>;
    readonly ca?: pulumi.Output<string>;

    constructor(name: string, args: LocalAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:App", name, {}, opts);
        const { bundle, env, secretEnv, secretRefs, fileEnv = {} } = args.spec;
        const unsupported = Object.keys(secretRefs);
        if (unsupported.length > 0)
            throw new Error(`${name}: ${unsupported.join(", ")} come from Kubernetes Secrets, which a local cell does not have`);
        const files = Object.entries(fileEnv).map(([variable, content]) => {
            const file = path.join(args.dir, "files", variable);
            return {
                variable,
                file,
                resource: new LocalObject(`${name}-${variable}`, { kind: "file", spec: { path: file, content } }, { parent: this }),
            };
        });
        const tls = args.certificates?.serverTls(name, this);
        this.ca = args.certificates?.caCertificate();
        const spec = pulumi.output({
            label: label(bundle.app, args.context),
            dir: args.dir,
            port: args.port,
            bundle: bundle.file,
            hash: bundle.hash,
            env: {
                ...env,
                ...secretEnv,
                ...Object.fromEntries(files.map(({ variable, file }) => [variable, file])),
                ...(tls ? { TLS_CERT: tls.cert, TLS_KEY: tls.key } : {}),
            },
            ca: this.ca,
        });
        const server = new LocalServer(`${name}-process`, { kind: "app", spec }, { parent: this, dependsOn: files.map((f) => f.resource) });
        this.url = server.running.apply(() => appUrlOf({ port: args.port, https: Boolean(args.certificates) }));
        this.registerOutputs({ url: this.url });
    }
}

export interface LocalMetricsArgs extends LocalPartArgs {
    targets: ScrapeTarget[];
}

/** The cell's metrics server: Prometheus scraping the cell's apps and servers and evaluating the rule set. */
export class LocalMetrics extends pulumi.ComponentResource implements MetricsServer {
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: LocalMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:Metrics", name, {}, opts);
        const spec = pulumi.output({
            label: label("prometheus", args.context),
            dir: args.dir,
            port: args.port,
            cell: args.context.cell.id,
            targets: args.targets,
            rules: ruleSet(),
            tls: args.certificates?.serverTls(name, this),
        });
        // Scrapes start once the parts run, so starting cells never page as stores down.
        const server = new LocalServer(`${name}-server`, { kind: "prometheus", spec }, { parent: this, dependsOn: opts?.dependsOn });
        this.url = server.running.apply(() => appUrlOf({ port: args.port, https: Boolean(args.certificates) }));
        this.registerOutputs({ url: this.url });
    }
}
