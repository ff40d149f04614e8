import type { ClickHouseClient } from "@clickhouse/client";
import type { Consumer, IHeaders, Kafka } from "kafkajs";
import { Readable } from "stream";
import { clickhouseTime } from "../shared/analytics";
import type { ConsumerMetrics } from "./metrics";

/**
 * What the consumer needs of an event without parsing it: the producer puts these in each message's headers, and
 * the message's value, the stored event as JSON, goes into ClickHouse as it is.
 */
export interface EventMessage {
    id: string;
    org: string;
    /** The event's time, epoch milliseconds. */
    at: number;
    value: Buffer;
}

export const eventHeaders = (e: { event_id: string; org_id: string; timestamp: string }): IHeaders => ({
    event_id: e.event_id, org_id: e.org_id, at: String(Date.parse(e.timestamp)),
});

const header = (headers: IHeaders | undefined, name: string) => String(headers?.[name] ?? "");

/**
 * Moves events from Kafka into ClickHouse. Offsets are committed only after the insert succeeded, so a crash
 * anywhere redelivers; every batch drops events already stored (same `event_id`), so nothing counts twice.
 */
export async function startConsumer(kafka: Kafka, topic: string, clickhouse: ClickHouseClient, metrics: ConsumerMetrics): Promise<Consumer> {
    // Fetches wait for a few megabytes (or half a second): fewer, larger inserts cost ClickHouse far less than many small ones.
    const consumer = kafka.consumer({ groupId: "ingest-clickhouse", minBytes: 4 * 1024 * 1024, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 16 * 1024 * 1024, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, heartbeat, resolveOffset }) => {
            if (batch.messages.length === 0) return;
            const events = batch.messages.map((m): EventMessage => ({ id: header(m.headers, "event_id"), org: header(m.headers, "org_id"), at: Number(header(m.headers, "at")), value: m.value! }));
            const stop = metrics.insertSeconds.startTimer();
            const inserted = await insertOnce(clickhouse, events);
            stop();
            metrics.stored.inc(inserted);
            metrics.duplicates.inc(events.length - inserted);
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
            resolveOffset(batch.lastOffset());
            metrics.lag.set({ partition: String(batch.partition) }, Number(batch.offsetLag()));
            await heartbeat();
        },
    });
    return consumer;
}

/** Inserts the events not yet in ClickHouse; returns how many were new. */
export async function insertOnce(clickhouse: ClickHouseClient, events: readonly EventMessage[]): Promise<number> {
    const unique = [...new Map(events.map((e) => [e.id, e])).values()];
    const stored = await storedIds(clickhouse, unique);
    const fresh = unique.filter((e) => !stored.has(e.id));
    if (fresh.length > 0) await insertJson(clickhouse, fresh.map((e) => e.value));
    return fresh.length;
}

/**
 * Inserts stored events as they are in Kafka: JSON documents with ISO times and a `metadata` object, which
 * ClickHouse reads into the events table's columns itself.
 */
export async function insertJson(clickhouse: ClickHouseClient, documents: readonly Buffer[], table = "analytics.events"): Promise<void> {
    const { stream } = await clickhouse.exec({
        query: `INSERT INTO ${table}
                SETTINGS date_time_input_format = 'best_effort', input_format_json_read_objects_as_strings = 1, input_format_skip_unknown_fields = 1
                FORMAT JSONEachRow`,
        values: Readable.from([Buffer.concat(documents.flatMap((d) => [d, NEWLINE]))]),
    });
    for await (const _ of stream);
}

const NEWLINE = Buffer.from("\n");

/**
 * Ids already stored in the batch's tenants and time span, read through the sort key (org, time). The ids are
 * matched here rather than sent as a parameter: thousands of UUIDs would not fit in a query URL.
 */
async function storedIds(clickhouse: ClickHouseClient, events: readonly EventMessage[]): Promise<Set<string>> {
    let from = Infinity;
    let to = -Infinity;
    for (const e of events) {
        from = Math.min(from, e.at);
        to = Math.max(to, e.at);
    }
    const result = await clickhouse.query({
        query: `SELECT toString(event_id) AS id FROM analytics.events
                WHERE org_id IN {orgs:Array(String)} AND timestamp BETWEEN {from:DateTime64(3)} AND {to:DateTime64(3)}`,
        query_params: {
            orgs: [...new Set(events.map((e) => e.org))],
            from: clickhouseTime(new Date(from).toISOString()),
            to: clickhouseTime(new Date(to).toISOString()),
        },
        format: "JSONEachRow",
    });
    const wanted = new Set(events.map((e) => e.id));
    return new Set((await result.json<{ id: string }>()).map((r) => r.id).filter((id) => wanted.has(id)));
}
