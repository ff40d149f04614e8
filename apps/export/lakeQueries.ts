import { ClickHouseError, type ClickHouseClient } from "@clickhouse/client";
import { clickhouseOf } from "../shared/connections";
import {
    lakeReaderOf,
    lakeReaderPassword,
    lakeTablesDdl,
    QUERY_GUARDRAILS,
    tenantDatabaseOf,
    tenantViewsDdl,
    type Warehouse,
} from "../lakehouse/lakeSql";
import type { ExportConfig } from "./config";

/** A query's answer: its columns and rows, as ClickHouse's JSON format gives them, and what it read. */
export interface QueryAnswer {
    columns: { name: string; type: string }[];
    rows: Record<string, unknown>[];
    rowsRead: number;
    elapsedSeconds: number;
}

/** Why ClickHouse refused a tenant's query, as the API answers it. */
export class QueryRefused extends Error {
    override name = "QueryRefused";
    constructor(
        readonly status: 400 | 403 | 422,
        message: string,
    ) {
        super(message);
    }
}

/** ClickHouse's codes for what the guardrails stop, and for a statement the reader may not run. */
const GUARDRAILS: Record<string, string> = {
    "159": `the query ran past the statement timeout of ${QUERY_GUARDRAILS.statementTimeoutSeconds} s; narrow it (a day, a table of gold)`,
    "396": `the answer has more than ${QUERY_GUARDRAILS.maxResultRows} rows; aggregate or add LIMIT`,
};
const NOT_ALLOWED = new Set(["164", "497"]);

type LakeConfig = Pick<ExportConfig, "CLICKHOUSE" | "CLICKHOUSE_CA" | "OBJECT_STORE" | "OBJECT_STORE_PASSWORD"> & {
    LAKE_WAREHOUSE: string;
    LAKE_QUERY_SECRET: string;
};

/**
 * Tenants' SQL over the cell's lake (seed 004). Each runs as the tenant's own ClickHouse reader, which may select
 * from its tenant's views and nothing else, read-only, within the statement timeout and the row limit its settings
 * hold. The lake's tables and each tenant's views are made by the export app's user on first use.
 */
export class LakeQueries {
    private lakeTables?: Promise<void>;
    private readonly tenantViews = new Map<string, Promise<void>>();

    constructor(
        private readonly config: LakeConfig,
        private readonly owner: ClickHouseClient,
    ) {}

    async run(tenant: string, sql: string): Promise<QueryAnswer> {
        await this.prepared(tenant);
        const reader = clickhouseOf(
            {
                // No cluster: a read-only reader may send no settings, and a cluster's insert setting is one.
                CLICKHOUSE: { ...this.config.CLICKHOUSE, user: lakeReaderOf(tenant), cluster: undefined },
                CLICKHOUSE_CA: this.config.CLICKHOUSE_CA,
                CLICKHOUSE_PASSWORD: lakeReaderPassword(this.config.LAKE_QUERY_SECRET, tenant),
            },
            { database: tenantDatabaseOf(tenant), request_timeout: (QUERY_GUARDRAILS.statementTimeoutSeconds + 5) * 1000 },
        );
        try {
            const result = await reader.query({ query: sql, format: "JSON" });
            const answer = await result.json<Record<string, unknown>>();
            return {
                columns: answer.meta ?? [],
                rows: answer.data,
                rowsRead: Number(answer.statistics?.rows_read ?? 0),
                elapsedSeconds: answer.statistics?.elapsed ?? 0,
            };
        } catch (error) {
            throw refusalOf(error);
        } finally {
            await reader.close();
        }
    }

    /** The lake's tables once, then the tenant's views once, per process; a failure is tried again on the next query. */
    private async prepared(tenant: string): Promise<void> {
        const { cluster } = this.config.CLICKHOUSE;
        this.lakeTables ??= this.make(lakeTablesDdl(this.warehouse(), cluster), () => (this.lakeTables = undefined));
        await this.lakeTables;
        let views = this.tenantViews.get(tenant);
        if (!views) {
            views = this.make(tenantViewsDdl(tenant, cluster), () => this.tenantViews.delete(tenant));
            this.tenantViews.set(tenant, views);
        }
        await views;
    }

    /** Runs idempotent statements in order; `forget` clears their memo when one fails. */
    private async make(statements: string[], forget: () => void): Promise<void> {
        try {
            for (const statement of statements) await this.owner.command({ query: statement });
        } catch (error) {
            forget();
            throw error;
        }
    }

    private warehouse(): Warehouse {
        const store = this.config.OBJECT_STORE;
        const keys =
            store.protocol === "s3" && store.credentials.from === "keys"
                ? { accessKeyId: store.credentials.accessKeyId, secretAccessKey: this.config.OBJECT_STORE_PASSWORD ?? "" }
                : undefined;
        return { url: this.config.LAKE_WAREHOUSE, keys };
    }
}

function refusalOf(error: unknown): unknown {
    if (!(error instanceof ClickHouseError)) return error;
    const guardrail = GUARDRAILS[error.code];
    if (guardrail) return new QueryRefused(422, guardrail);
    if (NOT_ALLOWED.has(error.code))
        return new QueryRefused(
            403,
            `${error.message.split("\n")[0]}: tenants read their own tables (events, sessions, daily_metrics, daily_events_by_type), read-only`,
        );
    return new QueryRefused(400, error.message.split("\n")[0]);
}
