import { z } from "zod";

/**
 * How an app connects to each of its cell's stores: what every target hands the apps (`components/platform.ts`) and
 * what the apps parse at start-up (`apps/shared/connections.ts`). Each connection travels as one JSON environment
 * variable; its CA bundle and its secret travel beside it (`<NAME>_CA`, `<NAME>_PASSWORD`), because on Kubernetes
 * they come from Secrets that operators write.
 */

/** Plain text (local cells before TLS, never a cloud service), the system's roots, or the CA in `<NAME>_CA`. */
export const TLS_MODES = ["off", "system", "ca"] as const;
const tls = z.enum(TLS_MODES);
export type TlsMode = z.output<typeof tls>;

const hostPort = z.string().regex(/^[^\s:/,]+:\d{1,5}$/, "must be host:port");
const name = z.string().min(1);

/** Where an OAUTHBEARER client gets its tokens: the pod's AWS identity (MSK IAM) or its Entra ID identity (Event Hubs). */
const oauthTokens = z.discriminatedUnion("from", [
    z.object({ from: z.literal("aws-msk-iam"), region: name }),
    z.object({ from: z.literal("azure-entra"), scope: z.url() }),
]);

export const kafkaConnectionSchema = z.object({
    brokers: z.array(hostPort).min(1),
    tls,
    sasl: z.discriminatedUnion("mechanism", [
        z.object({ mechanism: z.literal("none") }),
        // The password is KAFKA_PASSWORD; Event Hubs takes `$ConnectionString` as the user and the connection string.
        z.object({ mechanism: z.literal("scram-sha-512"), username: name }),
        z.object({ mechanism: z.literal("plain"), username: name }),
        z.object({ mechanism: z.literal("oauthbearer"), tokens: oauthTokens }),
    ]),
});
export type KafkaConnection = z.output<typeof kafkaConnectionSchema>;

/** TLS is verified in full (`sslmode=verify-full`): the chain and the host name. */
export const postgresConnectionSchema = z.object({
    host: name,
    port: z.number().int().min(1).max(65_535),
    database: name,
    user: name,
    tls,
});
export type PostgresConnection = z.output<typeof postgresConnectionSchema>;

export const clickhouseConnectionSchema = z.object({
    url: z.url(),
    user: name,
    tls,
    /** The cluster the schema is created `ON CLUSTER`, where the cell has more than one replica or shard. */
    cluster: name.optional(),
});
export type ClickHouseConnection = z.output<typeof clickhouseConnectionSchema>;

export const objectStoreConnectionSchema = z.discriminatedUnion("protocol", [
    z.object({
        protocol: z.literal("s3"),
        endpoint: z.url(),
        bucket: name,
        region: name,
        /** Static keys (the secret one in OBJECT_STORE_PASSWORD), or the identity of the pod that writes. */
        credentials: z.discriminatedUnion("from", [
            z.object({ from: z.literal("keys"), accessKeyId: name }),
            z.object({ from: z.literal("identity") }),
        ]),
        /**
         * Where tenants fetch the files their download URLs sign for, where `endpoint` answers only inside the cluster
         * (SeaweedFS, published GET-only at the cell's public name); absent, `endpoint`.
         */
        publicEndpoint: z.url().optional(),
        /**
         * The bucket's expiry, which the export app keeps where nothing else does (SeaweedFS in a cluster, whose chart
         * sets no lifecycle rules); absent where the cell's resources keep it (S3, a local cell's bucket).
         */
        expiry: z.object({ expireAfterDays: z.number().int().positive(), tempExpireAfterDays: z.number().int().positive() }).optional(),
    }),
    z.object({
        protocol: z.literal("azblob"),
        /** The account's Blob endpoint, `https://<account>.blob.core.windows.net/` or Azurite's. */
        endpoint: z.url(),
        account: name,
        container: name,
        /** The account key in OBJECT_STORE_PASSWORD, or the workload identity of the pod that writes. */
        credentials: z.discriminatedUnion("from", [z.object({ from: z.literal("key") }), z.object({ from: z.literal("identity") })]),
    }),
]);
export type ObjectStoreConnection = z.output<typeof objectStoreConnectionSchema>;
export type S3Connection = Extract<ObjectStoreConnection, { protocol: "s3" }>;

/** The environment variables of each connection: `<prefix>` holds the JSON. */
export const CONNECTION_ENV = {
    kafka: "KAFKA",
    postgres: "POSTGRES",
    clickhouse: "CLICKHOUSE",
    objectStore: "OBJECT_STORE",
} as const;
export type ConnectionName = keyof typeof CONNECTION_ENV;
