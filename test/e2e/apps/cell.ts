import * as fs from "fs";
import { Pool } from "pg";
import { v7 as uuidv7 } from "uuid";
import { createApiKey } from "../../../apps/shared/apiKeys";
import type { ExportBucket } from "../../../apps/export/parquet";
import type { AnalyticsEvent } from "../../../apps/shared/events";
import type { CellOutputs } from "../../../scripts/ops/keys";
import { clickhouseOfCell, postgresConfigOf, s3OfCell } from "../../../scripts/ops/cellClients";
import type { isolatedLocalStack } from "../../support/project";
import { call, trustStack } from "../../support/cellClient";

type IsolatedStack = ReturnType<typeof isolatedLocalStack>;

/** `pulumi up` of an isolated local stack, and its cells as the stack's outputs give them, secrets included. */
export function deployCells(stack: IsolatedStack): Record<string, CellOutput> {
    stack.ok("up", "--yes", "--skip-preview");
    const cells = JSON.parse(stack.pulumi("stack", "output", "cells", "--json", "--show-secrets").stdout);
    trustStack(cells, Object.values(routerUrlsOf(stack)));
    return cells;
}

/** Each residency's router URL, as the stack outputs them. */
export function routerUrlsOf(stack: IsolatedStack): Record<string, string> {
    const routers: Record<string, { url: string }> = JSON.parse(stack.pulumi("stack", "output", "routers", "--json").stdout);
    return Object.fromEntries(Object.entries(routers).map(([residency, router]) => [residency, router.url]));
}

/** A tenant's SQL over its cell's lake, through its residency's router (`POST /v1/query` with its API key). */
export function queryLake(routerUrl: string, key: string, sql: unknown): Promise<Response> {
    return call(`${routerUrl}/v1/query`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ sql }),
    });
}

/** `pulumi destroy` of the stack, then its scratch folder. */
export function destroyCells(stack: IsolatedStack): void {
    stack.pulumi("destroy", "--yes", "--skip-preview");
    fs.rmSync(stack.dir, { recursive: true, force: true });
}

/** A new API key of `tenant`, stored in `cell`'s Postgres. */
export async function apiKeyFor(cell: CellOutput, tenant: string): Promise<string> {
    const pool = new Pool({ ...postgresOf(cell), max: 1 });
    try {
        return (await createApiKey(pool, tenant)).key;
    } finally {
        await pool.end();
    }
}

export const s3Of = (cell: CellOutput) => s3OfCell(cell);

/** The cell's exports bucket as the export app reaches it. */
export const exportBucketOf = (cell: CellOutput): ExportBucket => ({
    store: {
        protocol: "s3",
        endpoint: cell.endpoints.objectStoreEndpoint,
        bucket: cell.endpoints.bucket,
        region: "us-east-1",
        credentials: { from: "keys", accessKeyId: cell.credentials.objectStoreKeys.accessKeyId },
    },
    secret: cell.credentials.objectStoreKeys.secretAccessKey,
});

/** A local cell as `pulumi stack output cells --show-secrets` gives it: the object store's keys included. */
export type CellOutput = CellOutputs & { credentials: Required<CellOutputs["credentials"]> };

/** The cell's Postgres as `pg` takes it, as the stack's owner. */
export const postgresOf = postgresConfigOf;

export const clickhouseOf = (cell: CellOutput) => clickhouseOfCell(cell);

/** A valid event of `org`, now, with `overrides`. */
export const eventOf = (org: string, overrides: Partial<Record<keyof AnalyticsEvent, unknown>> = {}): AnalyticsEvent =>
    ({
        event_id: uuidv7(),
        org_id: org,
        user_id: "u-1",
        session_id: `s-${Math.floor(Math.random() * 100)}`,
        event_type: "code_generated",
        event_category: "usage",
        timestamp: new Date().toISOString(),
        region: "eu-local",
        environment: "production",
        metadata: { tokens: 42 },
        ...overrides,
    }) as AnalyticsEvent;

export const postEvents = (url: string, key: string | undefined, body: unknown, query = "") =>
    call(`${url}/v1/events${query}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify(body),
    });

export async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        if (await check()) return true;
        await new Promise((r) => setTimeout(r, 200));
    }
    return false;
}

/**
 * Rows of one query to a cell's ClickHouse, through a client of its own: a test's CLI runs block its event loop for
 * seconds, so a kept-alive socket would outlive the server's idle timeout unnoticed and meet "socket hang up".
 */
export async function queryCell<Row>(cell: CellOutputs, query: string, query_params?: Record<string, unknown>): Promise<Row[]> {
    const clickhouse = clickhouseOfCell(cell);
    try {
        return await (await clickhouse.query({ query, query_params, format: "JSONEachRow" })).json<Row>();
    } finally {
        await clickhouse.close();
    }
}

/** Events of `org` stored in a cell's ClickHouse: total rows and distinct ids. */
export async function storedEvents(cell: CellOutput, org: string): Promise<{ rows: number; ids: number }> {
    const [row] = await queryCell<{ rows: string; ids: string }>(
        cell,
        "SELECT count() AS rows, uniqExact(event_id) AS ids FROM analytics.events WHERE org_id = {org:String}",
        { org },
    );
    return { rows: Number(row.rows), ids: Number(row.ids) };
}
