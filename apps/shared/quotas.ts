import type { Pool } from "pg";

/**
 * Token buckets shared by every replica of a cell's apps, kept in the cell's Postgres: it is already the one store
 * all of them reach, and a row lock makes each take atomic, so two replicas never grant a tenant twice its rate.
 * The cost is one round trip per request. A take larger than the bucket passes when the bucket is full and leaves
 * it in debt, so a batch bigger than a second's quota is slowed, never refused forever.
 */
export const QUOTAS_DDL = [
    `CREATE TABLE IF NOT EXISTS cellplane.quota_buckets (
        org_id text NOT NULL,
        quota text NOT NULL,
        tokens double precision NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (org_id, quota)
    )`,
    `CREATE OR REPLACE FUNCTION cellplane.take_tokens(org text, bucket text, capacity double precision, per_second double precision, cost double precision,
        OUT granted boolean, OUT tokens double precision) LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO cellplane.quota_buckets VALUES (org, bucket, capacity, clock_timestamp()) ON CONFLICT DO NOTHING;
        SELECT LEAST(capacity, b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.at) * per_second) INTO tokens
            FROM cellplane.quota_buckets b WHERE b.org_id = org AND b.quota = bucket FOR UPDATE;
        granted := tokens >= LEAST(cost, capacity);
        IF granted THEN
            tokens := tokens - cost;
        END IF;
        UPDATE cellplane.quota_buckets b SET tokens = take_tokens.tokens, at = clock_timestamp() WHERE b.org_id = org AND b.quota = bucket;
    END $$`,
];

/** One quota: how many tokens a bucket holds and how fast it refills. */
export interface QuotaRate {
    capacity: number;
    perSecond: number;
}

type Take = { ok: true; remaining: number } | { ok: false; remaining: number; retryAfterSeconds: number };

export class Quotas {
    constructor(private readonly pool: Pool) {}

    /** Takes `cost` tokens of tenant `org`'s quota `name`, or says how long until they would be there. */
    async take(org: string, name: string, rate: QuotaRate, cost: number): Promise<Take> {
        const { rows } = await this.pool.query<{ granted: boolean; tokens: number }>(
            "SELECT * FROM cellplane.take_tokens($1, $2, $3, $4, $5)",
            [org, name, rate.capacity, rate.perSecond, cost],
        );
        const { granted, tokens } = rows[0];
        if (granted) return { ok: true, remaining: Math.max(0, Math.floor(tokens)) };
        return {
            ok: false,
            remaining: 0,
            retryAfterSeconds: Math.max(1, Math.ceil((Math.min(cost, rate.capacity) - tokens) / rate.perSecond)),
        };
    }
}

/** A tenant's quotas as buckets: events per second (a second's burst) and API requests per minute (a minute's). */
export const eventsRate = (eventsPerSecond: number): QuotaRate => ({ capacity: eventsPerSecond, perSecond: eventsPerSecond });
export const requestsRate = (perMinute: number): QuotaRate => ({ capacity: perMinute, perSecond: perMinute / 60 });
