import type { ClickHouseClient } from "@clickhouse/client";
import type { Consumer, Kafka } from "kafkajs";
import type { StoredEvent } from "../shared/events";
import type { IngestMetrics } from "./metrics";
import { clickhouseTime, eventRow } from "./rows";

/**
 * Moves events from Kafka into ClickHouse. Offsets are committed only after the insert succeeded, so a crash
 * anywhere redelivers; every batch drops events already stored (same `event_id`), so nothing counts twice.
 */
export async function startConsumer(kafka: Kafka, topic: string, clickhouse: ClickHouseClient, metrics: IngestMetrics): Promise<Consumer> {
    const consumer = kafka.consumer({ groupId: "ingest-clickhouse", maxBytesPerPartition: 8 * 1024 * 1024, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, heartbeat, resolveOffset }) => {
            if (batch.messages.length === 0) return;
            const events = batch.messages.map((m) => JSON.parse(m.value!.toString("utf8")) as StoredEvent);
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
export async function insertOnce(clickhouse: ClickHouseClient, events: readonly StoredEvent[]): Promise<number> {
    const unique = [...new Map(events.map((e) => [e.event_id, e])).values()];
    const stored = await storedIds(clickhouse, unique);
    const fresh = unique.filter((e) => !stored.has(e.event_id));
    if (fresh.length === 0) return 0;
    await clickhouse.insert({ table: "analytics.events", values: fresh.map(eventRow), format: "JSONEachRow" });
    return fresh.length;
}

/**
 * Ids already stored in the batch's tenants and time span, read through the sort key (org, time). The ids are
 * matched here rather than sent as a parameter: thousands of UUIDs would not fit in a query URL.
 */
async function storedIds(clickhouse: ClickHouseClient, events: readonly StoredEvent[]): Promise<Set<string>> {
    const times = events.map((e) => Date.parse(e.timestamp));
    const result = await clickhouse.query({
        query: `SELECT toString(event_id) AS id FROM analytics.events
                WHERE org_id IN {orgs:Array(String)} AND timestamp BETWEEN {from:DateTime64(3)} AND {to:DateTime64(3)}`,
        query_params: {
            orgs: [...new Set(events.map((e) => e.org_id))],
            from: clickhouseTime(new Date(Math.min(...times)).toISOString()),
            to: clickhouseTime(new Date(Math.max(...times)).toISOString()),
        },
        format: "JSONEachRow",
    });
    const wanted = new Set(events.map((e) => e.event_id));
    return new Set((await result.json<{ id: string }>()).map((r) => r.id).filter((id) => wanted.has(id)));
}
