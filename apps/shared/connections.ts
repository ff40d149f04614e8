import { ClickHouseClient, ClickHouseClientConfigOptions, createClient } from "@clickhouse/client";
import { Pool } from "pg";
import { z } from "zod";
import {
    clickhouseConnectionSchema,
    CONNECTION_ENV,
    kafkaConnectionSchema,
    type KafkaConnection,
    objectStoreConnectionSchema,
    postgresConnectionSchema,
    type TlsMode,
} from "../../model/connections";
import { json } from "./config";
import { type KafkaAccess, KafkaClients } from "./kafka";

const pem = z.string().includes("-----BEGIN CERTIFICATE-----", { message: "is not a PEM certificate bundle" }).optional();
const secret = z.string().min(1).optional();

/** The environment variables of each connection (`model/connections.ts`), for an app's configuration schema. */
export const kafkaEnvironment = { KAFKA: json(kafkaConnectionSchema), KAFKA_CA: pem, KAFKA_PASSWORD: secret };
export const postgresEnvironment = { POSTGRES: json(postgresConnectionSchema), POSTGRES_CA: pem, POSTGRES_PASSWORD: secret };
export const clickhouseEnvironment = { CLICKHOUSE: json(clickhouseConnectionSchema), CLICKHOUSE_CA: pem, CLICKHOUSE_PASSWORD: secret };
export const objectStoreEnvironment = { OBJECT_STORE: json(objectStoreConnectionSchema), OBJECT_STORE_PASSWORD: secret };

interface AnyConnection {
    tls?: TlsMode;
    sasl?: { mechanism: string };
    credentials?: { from: string };
}

const needsPassword = (name: string, c: AnyConnection) =>
    name === "POSTGRES" ||
    name === "CLICKHOUSE" ||
    c.sasl?.mechanism === "scram-sha-512" ||
    c.sasl?.mechanism === "plain" ||
    c.credentials?.from === "keys" ||
    c.credentials?.from === "key";

/** A connection's CA and secret are present exactly when it needs them; checked with the rest of the configuration. */
export function requireConnectionSecrets(config: Record<string, unknown>, ctx: z.RefinementCtx): void {
    for (const name of Object.values(CONNECTION_ENV)) {
        const connection = config[name] as AnyConnection | undefined;
        if (!connection) continue;
        if (connection.tls === "ca" && !config[`${name}_CA`])
            ctx.addIssue({
                code: "custom",
                path: [`${name}_CA`],
                message: `is required because ${name}.tls is "ca": give the PEM bundle of the CA that signed the server's certificate`,
            });
        if (needsPassword(name, connection) && !config[`${name}_PASSWORD`])
            ctx.addIssue({ code: "custom", path: [`${name}_PASSWORD`], message: `is required by ${name} (its secret)` });
    }
}

/** Node's TLS options: verified against the given CA or the system's roots, host name included. */
function tlsOf(mode: TlsMode, ca: string | undefined): { ca?: string; rejectUnauthorized: true } | undefined {
    if (mode === "off") return undefined;
    return mode === "ca" ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: true };
}

export interface KafkaConfig {
    KAFKA: KafkaConnection;
    KAFKA_CA?: string;
    KAFKA_PASSWORD?: string;
}

/** A token for MSK's IAM authentication, signed with the pod's AWS identity; asked for again at each (re)authentication. */
async function mskIamToken(region: string): Promise<string> {
    const { generateAuthToken } = await import("aws-msk-iam-sasl-signer-js");
    return (await generateAuthToken({ region })).token;
}

/** An Entra ID token of the pod's workload identity, for Event Hubs' Kafka endpoint. */
async function entraToken(scope: string): Promise<string> {
    const { DefaultAzureCredential } = await import("@azure/identity");
    return (await new DefaultAzureCredential().getToken(scope)).token;
}

/** The SASL settings of a Kafka connection, as the Kafka client takes them. */
export function kafkaSaslOf({ KAFKA: { sasl }, KAFKA_PASSWORD: password = "" }: KafkaConfig): KafkaAccess["sasl"] {
    switch (sasl.mechanism) {
        case "none":
            return undefined;
        case "scram-sha-512":
            return { mechanism: "SCRAM-SHA-512", username: sasl.username, password };
        case "plain":
            return { mechanism: "PLAIN", username: sasl.username, password };
        case "oauthbearer": {
            const { tokens } = sasl;
            return {
                mechanism: "OAUTHBEARER",
                token: () => (tokens.from === "aws-msk-iam" ? mskIamToken(tokens.region) : entraToken(tokens.scope)),
            };
        }
    }
}

export function kafkaOf(config: KafkaConfig, clientId: string): KafkaClients {
    return new KafkaClients(
        { brokers: config.KAFKA.brokers, tls: tlsOf(config.KAFKA.tls, config.KAFKA_CA), sasl: kafkaSaslOf(config) },
        clientId,
    );
}

export interface PostgresConfig {
    POSTGRES: z.output<typeof postgresConnectionSchema>;
    POSTGRES_CA?: string;
    POSTGRES_PASSWORD?: string;
}

/** A pool on the cell's Postgres; TLS is `verify-full` (chain and host name) whenever it is on. */
export function postgresPoolOf({ POSTGRES: pg, POSTGRES_CA, POSTGRES_PASSWORD }: PostgresConfig, max = 4): Pool {
    const ssl = tlsOf(pg.tls, POSTGRES_CA);
    return new Pool({
        host: pg.host,
        port: pg.port,
        database: pg.database,
        user: pg.user,
        password: POSTGRES_PASSWORD,
        ssl: ssl ?? false,
        max,
    });
}

export interface ClickHouseConfig {
    CLICKHOUSE: z.output<typeof clickhouseConnectionSchema>;
    CLICKHOUSE_CA?: string;
    CLICKHOUSE_PASSWORD?: string;
}

export function clickhouseOf(config: ClickHouseConfig, options: ClickHouseClientConfigOptions = {}): ClickHouseClient {
    const { CLICKHOUSE: ch, CLICKHOUSE_CA } = config;
    return createClient({
        url: ch.url,
        username: ch.user,
        password: config.CLICKHOUSE_PASSWORD,
        ...(ch.tls === "ca" && CLICKHOUSE_CA ? { tls: { ca_cert: Buffer.from(CLICKHOUSE_CA) } } : {}),
        ...options,
        // On a cluster an insert returns once its shards hold the rows, not once they are queued for them.
        clickhouse_settings: { ...(ch.cluster ? { distributed_foreground_insert: 1 } : {}), ...options.clickhouse_settings },
    });
}
