import * as pulumi from "@pulumi/pulumi";
import { EVENTS_TABLE } from "../../apps/shared/analytics";
import { DEAD_LETTER_RETENTION_DAYS, deadLetterTopic, EVENTS_TOPIC } from "../../apps/shared/topics";
import type {
    AppService,
    AppSpec,
    CellContext,
    ClickHouseApp,
    ClickHouseCluster,
    ClickHouseCredentials,
    KafkaCluster,
    ObjectStore,
    PostgresDatabase,
} from "../platform";
import { appUrlOf } from "./appServer";
import { urlOf } from "./clickhouseServer";
import { bootstrapOf } from "./kafkaServer";
import { endpointOf } from "./seaweedfsServer";
import { LocalPostgresDatabase, LocalPostgresServer } from "./postgres";
import { LocalObject, LocalServer, localSecret } from "./resources";

/** Where a local cell's part keeps its data, and the port it listens on. */
export interface LocalPartArgs {
    context: CellContext;
    dir: string;
    port: number;
}

const label = (what: string, context: CellContext) => `${what} of cell ${context.cell.id}`;

export class LocalPostgres extends pulumi.ComponentResource implements PostgresDatabase {
    readonly host = pulumi.output("127.0.0.1");
    readonly port: pulumi.Output<number>;
    readonly database = pulumi.output("cellplane");
    readonly user = pulumi.output("cellplane_app");
    readonly password: pulumi.Output<string>;

    constructor(name: string, args: LocalPartArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:Postgres", name, {}, opts);
        const superuserPassword = localSecret(`${name}-superuser-password`, this);
        this.password = localSecret(`${name}-app-password`, this);
        const server = {
            label: label("postgres", args.context),
            dir: args.dir,
            port: args.port,
            superuser: "cellplane",
            superuserPassword,
        };
        const process = new LocalPostgresServer(`${name}-server`, server, { parent: this });
        const database = new LocalPostgresDatabase(
            `${name}-database`,
            { server: pulumi.output(server), database: "cellplane", owner: "cellplane_app", ownerPassword: this.password },
            { parent: this, dependsOn: [process] },
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
        this.port = process.port;
        this.registerOutputs({ port: this.port });
    }
}

export class LocalKafka extends pulumi.ComponentResource implements KafkaCluster {
    readonly bootstrapServers: pulumi.Output<string>;
    readonly replicationFactor = 1;

    constructor(name: string, args: LocalPartArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:Kafka", name, {}, opts);
        const spec = { label: label("kafka", args.context), dir: args.dir, port: args.port, controllerPort: args.port + 1 };
        const server = new LocalServer(`${name}-server`, { kind: "kafka", spec }, { parent: this });
        const events = new LocalObject(
            `${name}-events`,
            { kind: "topic", server: { port: args.port }, spec: { topic: EVENTS_TOPIC, partitions: 3, retentionDays: 7 } },
            { parent: this, dependsOn: [server] },
        );
        // One topic at a time: a broker that just started can lose track of a topic created beside another.
        const deadLetters = new LocalObject(
            `${name}-dead-letters`,
            {
                kind: "topic",
                server: { port: args.port },
                spec: { topic: deadLetterTopic(EVENTS_TOPIC), partitions: 1, retentionDays: DEAD_LETTER_RETENTION_DAYS },
            },
            { parent: this, dependsOn: [events] },
        );
        // The apps connect once the topics exist, so none of them races the topics' creation.
        this.bootstrapServers = pulumi.all([server.running, events.id, deadLetters.id]).apply(() => bootstrapOf(args));
        this.registerOutputs({ bootstrapServers: this.bootstrapServers });
    }
}

/** The bucket of a local cell's exports. */
export const exportsBucketOf = (cellId: string) => `${cellId}-exports`;

export interface LocalClickHouseArgs extends LocalPartArgs {
    /** What the exporter's user may reach: the URL prefix of the cell's exports bucket and the cell's Postgres (`host:port`). */
    exporterReach: string[];
}

export class LocalClickHouse extends pulumi.ComponentResource implements ClickHouseCluster {
    readonly url: pulumi.Output<string>;
    readonly user = pulumi.output("cellplane");
    readonly password: pulumi.Output<string>;
    readonly appUsers: Record<ClickHouseApp, ClickHouseCredentials>;

    constructor(name: string, args: LocalClickHouseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:ClickHouse", name, {}, opts);
        this.password = localSecret(`${name}-password`, this);
        const appUser = (app: ClickHouseApp) => ({
            user: pulumi.output(`cellplane_${app}`),
            password: localSecret(`${name}-${app}-password`, this),
        });
        this.appUsers = { ingest: appUser("ingest"), consumer: appUser("consumer"), exporter: appUser("exporter") };
        const { ingest, consumer, exporter } = this.appUsers;
        const spec = pulumi.output({
            label: label("clickhouse", args.context),
            dir: args.dir,
            port: args.port,
            user: "cellplane",
            password: this.password,
            // The ingest API only reads; the consumer writes events and migrates their schema; the exporter reads the
            // cell's Postgres and writes its bucket.
            apps: [
                { name: "cellplane_ingest", password: ingest.password, readonly: true },
                { name: "cellplane_consumer", password: consumer.password },
                { name: "cellplane_exporter", password: exporter.password, reach: args.exporterReach },
            ],
        });
        const server = new LocalServer(`${name}-server`, { kind: "clickhouse", spec }, { parent: this });
        const database = new LocalObject(
            `${name}-analytics`,
            { kind: "clickhouseDatabase", server: spec, spec: { database: "analytics" } },
            { parent: this, dependsOn: [server] },
        );
        new LocalObject(
            `${name}-events`,
            { kind: "clickhouseTable", server: spec, spec: { database: "analytics", table: "events", ddl: EVENTS_TABLE } },
            { parent: this, dependsOn: [database] },
        );
        this.url = server.running.apply(() => urlOf(args));
        this.registerOutputs({ url: this.url });
    }
}

export interface LocalObjectStoreArgs extends LocalPartArgs {
    /** The first of the ports SeaweedFS's own servers take (`INTERNAL_PORTS` of `seaweedfsServer.ts`). */
    internalPortBase: number;
}

export class LocalObjectStore extends pulumi.ComponentResource implements ObjectStore {
    readonly bucket: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    readonly accessKeys: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;

    constructor(name: string, args: LocalObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:ObjectStore", name, {}, opts);
        const { cell, retentionDays } = args.context;
        const secretAccessKey = localSecret(`${name}-secret-access-key`, this, 20);
        const spec = pulumi.output({
            label: label("seaweedfs", args.context),
            dir: args.dir,
            port: args.port,
            internalPortBase: args.internalPortBase,
            accessKeyId: "cellplane",
            secretAccessKey,
            sseKey: localSecret(`${name}-sse-key`, this, 32),
            adminPassword: localSecret(`${name}-admin-password`, this),
        });
        const server = new LocalServer(`${name}-server`, { kind: "seaweedfs", spec }, { parent: this });
        const bucket = exportsBucketOf(cell.id);
        new LocalObject(
            `${name}-exports`,
            { kind: "bucket", server: spec, spec: { bucket, retentionDays } },
            { parent: this, dependsOn: [server] },
        );
        this.bucket = pulumi.output(bucket);
        this.endpoint = server.running.apply(() => endpointOf(args));
        this.accessKeys = pulumi.secret(pulumi.output({ accessKeyId: "cellplane", secretAccessKey }));
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
    }
}

export interface LocalAppArgs extends LocalPartArgs {
    spec: AppSpec;
}

/** One of the cell's apps as a process this machine supervises, like the servers. */
export class LocalApp extends pulumi.ComponentResource implements AppService {
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: LocalAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:local:App", name, {}, opts);
        const { bundle, env, secretEnv } = args.spec;
        const spec = pulumi.output({
            label: label(bundle.app, args.context),
            dir: args.dir,
            port: args.port,
            bundle: bundle.file,
            hash: bundle.hash,
            env: { ...env, ...secretEnv },
        });
        const server = new LocalServer(`${name}-process`, { kind: "app", spec }, { parent: this });
        this.url = server.running.apply(() => appUrlOf(args));
        this.registerOutputs({ url: this.url });
    }
}
