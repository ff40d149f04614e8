import type { ClickHouseClient } from "@clickhouse/client";
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import { ensureTopics, eventMessageOf, isDeadLetter, isEvent, sendDeadLetters } from "./eventMessages";
import { EventStore } from "./eventStore";
import type { ConsumerMetrics } from "./metrics";
import { CONSUMER_GROUP } from "../shared/topics";

export interface ConsumerOptions {
    kafka: Kafka;
    topic: string;
    clickhouse: ClickHouseClient;
    metrics: ConsumerMetrics;
    groupId?: string;
}

/**
 * Moves events from Kafka into ClickHouse. Offsets are committed only after every event of a batch is stored or
 * set aside on the dead-letter topic, so a crash anywhere redelivers and no event can hold its partition up.
 * Between inserts the consumer heartbeats and stops if it lost the partition, so a rebalance never has two
 * consumers inserting the same events.
 */
export async function startConsumer({
    kafka,
    topic,
    clickhouse,
    metrics,
    groupId = CONSUMER_GROUP,
}: ConsumerOptions): Promise<{ consumer: Consumer; producer: Producer }> {
    const store = new EventStore(clickhouse);
    await ensureTopics(kafka, topic);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Fetches wait for a few megabytes (or half a second): fewer, larger inserts cost ClickHouse far less than many small ones.
    const consumer = kafka.consumer({
        groupId,
        minBytes: 4 * 1024 * 1024,
        maxBytes: 64 * 1024 * 1024,
        maxBytesPerPartition: 16 * 1024 * 1024,
        maxWaitTimeInMs: 500,
        sessionTimeout: 30_000,
        rebalanceTimeout: 60_000,
    });
    try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
    } catch (error) {
        // The caller tries again from the start; nothing of this attempt stays connected.
        await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
        throw error;
    }
    await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, heartbeat, isStale, resolveOffset }) => {
            if (batch.messages.length === 0) return;
            const read = batch.messages.map(eventMessageOf);
            const stop = metrics.insertSeconds.startTimer();
            const outcome = await store
                .store(read.filter(isEvent), async () => {
                    await heartbeat();
                    if (isStale())
                        throw new Error(`partition ${batch.partition} was reassigned; its new owner takes the batch from the last commit`);
                })
                .catch((error: unknown) => {
                    metrics.failedBatches.inc();
                    throw error;
                });
            stop();
            const deadLetters = [...read.filter(isDeadLetter), ...outcome.deadLetters];
            await sendDeadLetters(producer, topic, batch.partition, deadLetters);
            const now = Date.now();
            for (const e of outcome.stored) if (e.received > 0) metrics.freshnessSeconds.observe(Math.max(0, now - e.received) / 1000);
            metrics.stored.inc(outcome.stored.length);
            metrics.duplicates.inc(outcome.duplicates);
            for (const letter of deadLetters) metrics.deadLetters.inc({ reason: letter.reason });
            await consumer.commitOffsets([
                { topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
            ]);
            resolveOffset(batch.lastOffset());
            await heartbeat();
        },
    });
    return { consumer, producer };
}

/**
 * Each partition's lag: its high watermark less the group's committed offset (or, before the group's first commit,
 * less the oldest offset still kept).
 */
export async function partitionLags(
    admin: Admin,
    topic: string,
    groupId = CONSUMER_GROUP,
): Promise<{ partition: number; lag: number; committed: string; high: string }[]> {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    return ends.map(({ partition, high, low }) => {
        const at = committed.partitions.find((p) => p.partition === partition)?.offset ?? "-1";
        const from = Number(at) >= 0 ? Number(at) : Number(low);
        return { partition, lag: Math.max(0, Number(high) - from), committed: at, high };
    });
}

/**
 * Reports each partition's lag, its high watermark less the group's committed offset, every `intervalMs`, read
 * from the brokers rather than from the consumer, so a consumer that fails or hangs still shows its lag growing.
 */
export function watchLag(
    kafka: Kafka,
    topic: string,
    metrics: ConsumerMetrics,
    intervalMs = 5_000,
    groupId = CONSUMER_GROUP,
): { stop: () => Promise<void> } {
    const admin = kafka.admin();
    const connected = admin.connect();
    const measure = async () => {
        await connected;
        for (const { partition, lag } of await partitionLags(admin, topic, groupId)) metrics.lag.set({ partition: String(partition) }, lag);
    };
    const timer = setInterval(() => void measure().catch(() => metrics.lagReadFailures.inc()), intervalMs);
    void measure().catch(() => metrics.lagReadFailures.inc());
    return {
        stop: async () => {
            clearInterval(timer);
            await admin.disconnect();
        },
    };
}
