import { randomUUID } from "crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Pool } from "pg";
import type { KafkaProducer, KafkaRecord } from "../../apps/shared/kafka";
import type { TenantMove } from "../../apps/shared/tenantMoves";
import type { ExportStore, Job, NewSchedule, Schedule } from "../../apps/export/store";

/**
 * The cell's Postgres as the apps' metadata queries use it (API keys and quota buckets), in memory, for `app.inject`
 * tests that run without the bootstrap. The real queries run against Postgres in test/e2e.
 */
export class FakeMetadataStore {
    private readonly keys = new Map<string, { id: string; org: string; revoked: boolean }>();
    private readonly buckets = new Map<string, { tokens: number; at: number }>();
    /** Tables of the cell's Postgres (schema.table → column names), as `information_schema` lists them. */
    readonly tables: Record<string, string[]> = { "cellplane.api_keys": ["id", "org_id", "key_hash"], "public.invoices": ["id", "amount"] };
    /** Tenants moving between cells (`cellplane.tenant_moves`), as `tenant move --execute` marks them. */
    readonly moves = new Map<string, TenantMove>();
    /** When set, every query fails as a Postgres that does not answer. */
    down = false;

    readonly pool = { query: (sql: string, params: unknown[] = []) => this.query(sql, params) } as unknown as Pool;

    private async query(sql: string, params: unknown[]) {
        if (this.down) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        const hashHex = (value: unknown) => (value as Buffer).toString("hex");
        if (sql.startsWith("INSERT INTO cellplane.api_keys")) {
            const id = randomUUID();
            this.keys.set(hashHex(params[1]), { id, org: params[0] as string, revoked: false });
            return { rows: [{ id }], rowCount: 1 };
        }
        if (sql.startsWith("SELECT k.org_id, m.state, m.other_cell FROM cellplane.api_keys k LEFT JOIN cellplane.tenant_moves")) {
            const key = this.keys.get(hashHex(params[0]));
            const move = key && this.moves.get(key.org);
            const row = { org_id: key?.org, state: move?.state ?? null, other_cell: move?.otherCell ?? null };
            return { rows: key && !key.revoked ? [row] : [], rowCount: key ? 1 : 0 };
        }
        if (sql.startsWith("SELECT * FROM cellplane.take_tokens")) {
            const [org, name, capacity, perSecond, cost] = params as [string, string, number, number, number];
            return { rows: [this.take(`${org}/${name}`, capacity, perSecond, cost)], rowCount: 1 };
        }
        if (sql.includes("FROM information_schema.columns")) {
            const table = this.tables[`${String(params[0])}.${String(params[1])}`] ?? [];
            return { rows: table.map((name) => ({ name, type: "text" })), rowCount: table.length };
        }
        throw new Error(`the fake metadata store has no answer to: ${sql}`);
    }

    /** The token bucket of `cellplane.take_tokens`. */
    private take(bucket: string, capacity: number, perSecond: number, cost: number) {
        const now = Date.now();
        const held = this.buckets.get(bucket) ?? { tokens: capacity, at: now };
        let tokens = Math.min(capacity, held.tokens + ((now - held.at) / 1000) * perSecond);
        const granted = tokens >= Math.min(cost, capacity);
        if (granted) tokens -= cost;
        this.buckets.set(bucket, { tokens, at: now });
        return { granted, tokens };
    }
}

/** A Kafka producer that keeps what it is sent, or fails as a cluster that does not answer. */
export class FakeProducer {
    readonly sent: KafkaRecord[] = [];
    failing = false;

    readonly producer = {
        send: async ({ messages }: { messages: KafkaRecord[] }) => {
            if (this.failing) throw new Error("Connection to the brokers failed");
            this.sent.push(...messages);
            return { offsets: [] };
        },
    } as unknown as KafkaProducer;
}

/** A ClickHouse client whose queries answer `rows`. */
export function fakeClickHouse(rows: () => unknown[] = () => []): ClickHouseClient {
    return {
        query: async () => ({ json: async () => rows() }),
    } as unknown as ClickHouseClient;
}

/** A tenant's export schedules and jobs as `ExportStore` keeps them, in memory (the SQL runs in test/e2e). */
export class FakeExportStore {
    readonly schedules = new Map<string, Schedule>();
    readonly jobs: Job[] = [];

    readonly store = {
        scheduleCount: async (tenant: string) => [...this.schedules.values()].filter((s) => s.tenant === tenant).length,
        createSchedule: async (tenant: string, s: NewSchedule): Promise<Schedule> => {
            const now = new Date().toISOString();
            const schedule: Schedule = {
                id: randomUUID(),
                tenant,
                name: s.name,
                jobType: "PARQUET_EXPORT",
                cron: s.cron,
                params: s.params,
                paused: s.paused,
                nextRunAt: s.nextRunAt?.toISOString() ?? null,
                createdAt: now,
                updatedAt: now,
            };
            this.schedules.set(schedule.id, schedule);
            return schedule;
        },
        schedule: async (tenant: string, id: string) => {
            const schedule = this.schedules.get(id);
            return schedule?.tenant === tenant ? schedule : undefined;
        },
        unfinishedJobCount: async (tenant: string) => this.jobs.filter((j) => j.tenant === tenant && j.status === "queued").length,
        createJob: async (tenant: string, scheduleId: string | null, from: string, to: string, objects: string[]): Promise<Job> => {
            const job = { id: randomUUID(), tenant, scheduleId, status: "queued", from, to, objects } as Job;
            this.jobs.push(job);
            return job;
        },
        job: async (tenant: string, id: string) => this.jobs.find((j) => j.tenant === tenant && j.id === id),
    } as unknown as ExportStore;
}
