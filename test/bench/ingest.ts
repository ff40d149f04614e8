import { call } from "../support/cellClient";
/**
 * `npm run bench:ingest`: sustained events/s through the ingest service of one real local cell (an isolated local
 * stack), p50/p99 freshness (202 → row visible in ClickHouse), loss and duplicates, and beside it ClickHouse's own
 * insert rate of the same rows straight into a copy of the events table; first on a cell in plain text, then on
 * one with TLS and SASL on every server, and what the second costs; on that cell, the apps' Kafka client against
 * kafkajs, the one it replaced (kafkaClients.ts).
 */
import { v7 as uuidv7 } from "uuid";
import { EventStore } from "../../apps/ingest/eventStore";
import { clickhouseTime } from "../../apps/shared/analytics";
import type { AnalyticsEvent } from "../../apps/shared/events";
import { apiKeyFor, clickhouseOf, deployCells, destroyCells } from "../e2e/apps/cell";
import { isolatedLocalStack } from "../support/project";
import { compareKafkaClients } from "./kafkaClients";
import { percentile } from "./stats";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SENDERS = 8;
const BATCH = 1_000;
/** Batches made before the clock starts, so the load generator does not compete with the cell for the two cores. */
const PREPARED_EVENTS_PER_SECOND = 60_000;

const event = (session: string): AnalyticsEvent => ({
    event_id: uuidv7(),
    org_id: "acme",
    user_id: `u-${Math.floor(Math.random() * 1000)}`,
    session_id: session,
    event_type: "code_generated",
    event_category: "usage",
    timestamp: new Date().toISOString(),
    region: "eu-local",
    environment: "production",
    metadata: { tokens: 42, model: "m-1" },
});

/** One run against a fresh cell: `tls` says whether its servers speak TLS and SASL (the default) or plain text. */
async function measure(tls: boolean): Promise<number> {
    const transport = tls ? "TLS and SASL" : "plain text";
    console.log(`bench:ingest: bringing up an isolated local cell speaking ${transport}…`);
    const stack = isolatedLocalStack("cellplane-bench-", (config) => {
        config["cellplane:localTls"] = tls;
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu", quotas: { eventsPerSecond: 1_000_000 } }];
    });
    try {
        const eu = deployCells(stack)["local-eu"];
        const url = eu.endpoints.ingestUrl;
        const key = await apiKeyFor(eu, "acme");
        const clickhouse = clickhouseOf(eu);

        const prepared = Array.from({ length: Math.ceil((PREPARED_EVENTS_PER_SECOND * SECONDS) / BATCH) }, (_, n) => {
            const batch = Array.from({ length: BATCH }, () => event(`probe-${n}`));
            return { session: `probe-${n}`, batch, body: JSON.stringify(batch), since: Date.parse(batch[0].timestamp) };
        });
        const since = new Map(prepared.map((p) => [p.session, p.since]));
        console.log(`bench:ingest: ${SENDERS} senders × batches of ${BATCH} for ${SECONDS} s (${prepared.length} batches prepared)…`);
        const acked = new Map<string, number>();
        const seen = new Map<string, number>();
        const sent: AnalyticsEvent[][] = [];
        let accepted = 0;
        const until = Date.now() + SECONDS * 1000;
        let sending = true;
        let failed = false;
        const senders = Promise.all(
            Array.from({ length: SENDERS }, async () => {
                for (let next = prepared.shift(); next && Date.now() < until; next = prepared.shift()) {
                    const { session, batch, body } = next;
                    const response = await call(`${url}/v1/events`, {
                        method: "POST",
                        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
                        body,
                    });
                    if (response.status !== 202) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
                    accepted += BATCH;
                    acked.set(session, Date.now());
                    sent.push(batch);
                }
            }),
        )
            .catch((error) => {
                failed = true;
                throw error;
            })
            .finally(() => (sending = false));
        // Watches, while the load runs, for each acknowledged batch (one session each) to become visible in ClickHouse.
        const watcher = (async () => {
            const deadline = until + 120_000;
            while (!failed && (sending || seen.size < acked.size) && Date.now() < deadline) {
                const pending = [...acked.keys()].filter((s) => !seen.has(s));
                if (pending.length > 0) {
                    const result = await clickhouse.query({
                        query: "SELECT DISTINCT session_id FROM analytics.events WHERE org_id = 'acme' AND event_type = 'code_generated' AND timestamp >= {since:DateTime64(3)} AND session_id IN {pending:Array(String)}",
                        query_params: {
                            since: clickhouseTime(new Date(Math.min(...pending.map((s) => since.get(s)!)) - 1_000).toISOString()),
                            pending,
                        },
                        format: "JSONEachRow",
                    });
                    const now = Date.now();
                    for (const { session_id } of await result.json<{ session_id: string }>()) seen.set(session_id, now);
                }
                await new Promise((r) => setTimeout(r, 200));
            }
        })();
        await Promise.allSettled([senders, watcher]);
        await senders;
        await watcher;
        const rate = accepted / SECONDS;
        if (prepared.length === 0)
            console.log("bench:ingest: the prepared batches ran out before the time did; raise PREPARED_EVENTS_PER_SECOND");
        const freshness = [...acked].filter(([s]) => seen.has(s)).map(([s, at]) => (seen.get(s)! - at) / 1000);
        const stored = await (
            await clickhouse.query({
                query: "SELECT count() AS n, uniqExact(event_id) AS u FROM analytics.events WHERE org_id = 'acme'",
                format: "JSONEachRow",
            })
        ).json<{ n: string; u: string }>();

        await clickhouse.command({ query: "CREATE TABLE analytics.anchor AS analytics.events" });
        const rows = sent.flat().map((e) => Buffer.from(JSON.stringify({ ...e, received_at: e.timestamp, _processing_time: e.timestamp })));
        const anchorTable = new EventStore(clickhouse, "analytics.anchor");
        const started = Date.now();
        for (let i = 0; i < rows.length; i += 10_000) await anchorTable.insert(rows.slice(i, i + 10_000));
        const anchor = rows.length / ((Date.now() - started) / 1000);
        await clickhouse.command({ query: "DROP TABLE analytics.anchor" });
        await clickhouse.close();
        if (tls) await compareKafkaClients(eu);

        console.log(`\n${transport}:`);
        console.log(
            `ingest, sustained:      ${Math.round(rate).toLocaleString("en")} events/s (${accepted.toLocaleString("en")} accepted in ${SECONDS} s)`,
        );
        console.log(
            `freshness 202 → stored: p50 ${percentile(freshness, 50).toFixed(2)} s, p99 ${percentile(freshness, 99).toFixed(2)} s (${freshness.length} of ${acked.size} batches seen)`,
        );
        console.log(
            `stored:                 ${Number(stored[0].n).toLocaleString("en")} rows, ${Number(stored[0].u).toLocaleString("en")} distinct; lost ${accepted - Number(stored[0].u)}, duplicated ${Number(stored[0].n) - Number(stored[0].u)}`,
        );
        console.log(
            `anchor, ClickHouse raw: ${Math.round(anchor).toLocaleString("en")} rows/s (the consumer's JSONEachRow insert, batches of 10,000, same rows)\n`,
        );
        return rate;
    } finally {
        destroyCells(stack);
    }
}

/** The same load on a plain-text cell, then on one with TLS and SASL everywhere: what the clouds' protocols cost. */
async function main() {
    const plain = await measure(false);
    const secured = await measure(true);
    const cost = 1 - secured / plain;
    console.log(
        `TLS and SASL cost ${(cost * 100).toFixed(1)}% of plain text's events/s (${Math.round(secured).toLocaleString("en")} against ${Math.round(plain).toLocaleString("en")}; the limit is 20%)`,
    );
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
