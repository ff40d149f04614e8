import { S3Client } from "@aws-sdk/client-s3";
import { ClickHouseClient, createClient } from "@clickhouse/client";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import * as https from "https";
import { Kafka, logLevel } from "kafkajs";
import type { PoolConfig } from "pg";
import type { CellOutputs } from "./keys";

/** The cell's Postgres as `pg` takes it, as the stack's owner, verified against the cell's CA where it has one. */
export function postgresConfigOf({ endpoints: { postgres }, credentials }: CellOutputs): PoolConfig {
    const { ca, ...address } = postgres;
    return { ...address, password: credentials.postgresPassword, ssl: ca ? { ca } : false };
}

/** The cell's ClickHouse as its admin (or with another `password`, to be refused). */
export function clickhouseOfCell({ endpoints, credentials }: CellOutputs, password = credentials.clickhousePassword): ClickHouseClient {
    return createClient({
        url: endpoints.clickhouseUrl,
        username: credentials.clickhouseUser,
        password,
        ...(endpoints.clickhouseCa ? { tls: { ca_cert: Buffer.from(endpoints.clickhouseCa) } } : {}),
    });
}

/** The cell's Kafka as its admin, over TLS and SCRAM where the cell has them. */
export function kafkaOfCell({ endpoints, credentials }: CellOutputs, clientId = "cellplane-ops"): Kafka {
    const admin = credentials.kafkaAdmin;
    return new Kafka({
        clientId,
        brokers: endpoints.kafkaBootstrap.split(","),
        logLevel: logLevel.NOTHING,
        ...(endpoints.kafkaCa ? { ssl: { ca: [endpoints.kafkaCa] } } : {}),
        ...(admin ? { sasl: { mechanism: "scram-sha-512" as const, ...admin } } : {}),
    });
}

/** The cell's object store with its static keys, verified against the cell's CA where it has one. */
export function s3OfCell({ endpoints, credentials }: CellOutputs): S3Client {
    return new S3Client({
        endpoint: endpoints.objectStoreEndpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: credentials.objectStoreKeys,
        ...(endpoints.objectStoreCa
            ? { requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: endpoints.objectStoreCa }) }) }
            : {}),
    });
}
