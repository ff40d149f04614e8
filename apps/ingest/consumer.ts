import { ClickHouseClient, ClickHouseError } from "@clickhouse/client";
import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage, Producer } from "kafkajs";
import { Readable } from "stream";
import { DEAD_LETTER_RETENTION_DAYS, deadLetterTopic } from "../shared/topics";
import type { ConsumerMetrics } from "./metrics";

/**
 * What the consumer needs of an event without parsing it: the API puts these in each message's headers, and the
 * message's value, the stored event as JSON, goes into ClickHouse as it is.
 */
export interface EventMessage {
    id: string;
    org: string;
    /** The event's time, epoch milliseconds. */
    at: number;
    /** When the API handed it to Kafka (the message's create time, just before the 202), epoch milliseconds. */
    received: number;
    value: Buffer;
    /** The Kafka message it came from, kept whole for the dead-letter topic. */
    source: KafkaMessage;
}

/** An event the cell could not store, with why: it goes to the dead-letter topic instead of blocking its partition. */
export interface DeadLetter {
    source: KafkaMessage;
    reason: DeadLetterReason;
    detail: string;
}

/** Why an event was set aside (a metric's label, so a short fixed list; the detail says the rest). */
export type DeadLetterReason = "not_an_event" | "refused_by_clickhouse";

export const eventHeaders = (e: { event_id: string; org_id: string; timestamp: string }): IHeaders => ({
    event_id: e.event_id, org_id: e.org_id, at: String(Date.parse(e.timestamp)),
});

/**
 * Most (tenant, UTC month) groups one insert writes. ClickHouse's `max_partitions_per_insert_block` refuses more
 * than 100 partitions, and the table's months are the server's, so a UTC month can touch two of them.
 */
export const PARTITIONS_PER_INSERT = 50;
/** Most ids one duplicate check sends: 37 bytes each, its query text stays under ClickHouse's 256 KiB `max_query_size`. */
const IDS_PER_CHECK = 6_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads an event message: from its headers, or from its value when a header is missing. Anything that is not an
 * event of the API's making (the topic is writable inside the cell) is a dead letter, not a reason to stop.
 */
export function eventMessageOf(message: KafkaMessage): EventMessage | DeadLetter {
    const header = (name: string) => message.headers?.[name]?.toString();
    try {
        const value = message.value ?? Buffer.alloc(0);
        const needsBody = ["event_id", "org_id", "at"].some((name) => header(name) === undefined);
        const body = needsBody ? JSON.parse(value.toString()) : {};
        const event = {
            id: header("event_id") ?? body.event_id,
            org: header("org_id") ?? body.org_id,
            at: Number(header("at") ?? Date.parse(body.timestamp)),
            received: Number(message.timestamp),
            value,
            source: message,
        };
        if (!UUID.test(String(event.id)) || typeof event.org !== "string" || !Number.isSafeInteger(event.at)) {
            return { source: message, reason: "not_an_event", detail: "the message lacks a UUID event_id, an org_id or a timestamp" };
        }
        return event;
    } catch (error) {
        return { source: message, reason: "not_an_event", detail: `the message is not an event's JSON: ${(error as Error).message}` };
    }
}

export const isDeadLetter = (m: EventMessage | DeadLetter): m is DeadLetter => "reason" in m;

export interface StoreOutcome {
    stored: EventMessage[];
    duplicates: number;
    deadLetters: DeadLetter[];
}

/**
 * Stores what ClickHouse does not hold yet, keyed on (tenant, event id). An insert ClickHouse refuses while it is
 * healthy is split until the events it refuses are alone; those become dead letters and the rest is stored. An
 * insert that fails because ClickHouse is unwell throws, so Kafka redelivers the batch later.
 */
export class EventStore {
    constructor(private readonly clickhouse: ClickHouseClient, private readonly table = "analytics.events", private readonly idIndex = "analytics.event_ids") {}

    async store(events: readonly EventMessage[], beforeInsert: () => Promise<void> = async () => undefined): Promise<StoreOutcome> {
        const unique = [...new Map(events.map((e) => [keyOf(e), e])).values()];
        const outcome: StoreOutcome = { stored: [], duplicates: events.length - unique.length, deadLetters: [] };
        for (const chunk of partitionChunks(unique)) {
            await beforeInsert();
            await this.storeChunk(chunk, outcome);
        }
        return outcome;
    }

    private async storeChunk(chunk: readonly EventMessage[], outcome: StoreOutcome): Promise<void> {
        const stored = await this.storedKeys(chunk);
        const fresh = chunk.filter((e) => !stored.has(keyOf(e)));
        outcome.duplicates += chunk.length - fresh.length;
        if (fresh.length === 0) return;
        try {
            await this.insert(fresh.map((e) => e.value));
            outcome.stored.push(...fresh);
        } catch (error) {
            if (mayPassLater(error) || !(await this.clickhouse.ping()).success) throw error;
            if (fresh.length === 1) {
                outcome.deadLetters.push({ source: fresh[0].source, reason: "refused_by_clickhouse", detail: (error as Error).message.slice(0, 2_000) });
                return;
            }
            const half = Math.ceil(fresh.length / 2);
            // Part of a refused insert may have landed, so each half checks for stored events again.
            await this.storeChunk(fresh.slice(0, half), outcome);
            await this.storeChunk(fresh.slice(half), outcome);
        }
    }

    /** Inserts events as they are in Kafka: JSON documents with ISO times and a `metadata` object, read by ClickHouse into the table's columns. */
    async insert(documents: readonly Buffer[]): Promise<void> {
        const { stream } = await this.clickhouse.exec({
            query: `INSERT INTO ${this.table}
                    SETTINGS date_time_input_format = 'best_effort', input_format_json_read_objects_as_strings = 1, input_format_skip_unknown_fields = 1
                    FORMAT JSONEachRow`,
            values: Readable.from([Buffer.concat(documents.flatMap((d) => [d, NEWLINE]))]),
        });
        for await (const _ of stream);
    }

    /**
     * The (tenant, id) keys of `events` already stored, looked up in the id index (`analytics.event_ids`, ordered by
     * tenant and id): the cost follows the number of events, never the time span they cover.
     */
    private async storedKeys(events: readonly EventMessage[]): Promise<Set<string>> {
        const found = new Set<string>();
        const idsByOrg = new Map<string, string[]>();
        for (const e of events) {
            const ids = idsByOrg.get(e.org);
            if (ids) ids.push(e.id);
            else idsByOrg.set(e.org, [e.id]);
        }
        for (const [org, ids] of idsByOrg) {
            for (let i = 0; i < ids.length; i += IDS_PER_CHECK) {
                // One string literal split by ClickHouse: parsing a list of 5,000 literals costs it four times as much.
                const result = await this.clickhouse.query({
                    query: `SELECT toString(event_id) AS id FROM ${this.idIndex}
                            WHERE org_id = {org:String} AND event_id IN (SELECT toUUID(arrayJoin(splitByChar(',', '${ids.slice(i, i + IDS_PER_CHECK).join(",")}'))))`,
                    query_params: { org },
                    format: "JSONEachRow",
                });
                for (const row of await result.json<{ id: string }>()) found.add(`${org}/${row.id}`);
            }
        }
        return found;
    }
}

const NEWLINE = Buffer.from("\n");

/**
 * ClickHouse's answers that say nothing about the events: overload, timeouts, read-only replicas. The same insert
 * may pass later, so the batch is retried whole rather than split.
 */
const TRANSIENT_CODES = new Set([
    "159", // TIMEOUT_EXCEEDED
    "202", // TOO_MANY_SIMULTANEOUS_QUERIES
    "241", // MEMORY_LIMIT_EXCEEDED
    "242", // TABLE_IS_READ_ONLY
    "252", // TOO_MANY_PARTS: merges have not caught up
    "319", // UNKNOWN_STATUS_OF_INSERT
    "425", // SYSTEM_ERROR
]);

function mayPassLater(error: unknown): boolean {
    const code = (error as { code?: unknown }).code;
    return !(error instanceof ClickHouseError) || (typeof code === "string" && TRANSIENT_CODES.has(code));
}

const keyOf = (e: Pick<EventMessage, "org" | "id">) => `${e.org}/${e.id.toLowerCase()}`;

/** The (tenant, month) partition of the events table an event lands in. */
const partitionOf = (e: EventMessage) => `${e.org}/${new Date(e.at).toISOString().slice(0, 7)}`;

/** Splits events into inserts of at most PARTITIONS_PER_INSERT partitions each, keeping each partition's events together. */
export function partitionChunks(events: readonly EventMessage[]): EventMessage[][] {
    const byPartition = new Map<string, EventMessage[]>();
    for (const e of events) {
        const partition = partitionOf(e);
        const group = byPartition.get(partition);
        if (group) group.push(e);
        else byPartition.set(partition, [e]);
    }
    const groups = [...byPartition.values()];
    const chunks: EventMessage[][] = [];
    for (let i = 0; i < groups.length; i += PARTITIONS_PER_INSERT) chunks.push(groups.slice(i, i + PARTITIONS_PER_INSERT).flat());
    return chunks;
}

/** Puts dead letters on the cell's dead-letter topic with their reason and origin, keyed as they were. */
export async function sendDeadLetters(producer: Producer, topic: string, partition: number, letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const at = new Date().toISOString();
    await producer.send({
        topic: deadLetterTopic(topic),
        acks: -1,
        messages: letters.map(({ source, reason, detail }) => ({
            key: source.key,
            value: source.value,
            headers: { ...source.headers, dead_letter_reason: reason, dead_letter_detail: detail, dead_letter_at: at, dead_letter_origin: `${topic}/${partition}/${source.offset}` },
        })),
    });
}

/** Creates the dead-letter topic where the cell's resources did not (a no-op where they did). */
async function ensureDeadLetterTopic(kafka: Kafka, topic: string): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
        await admin.createTopics({
            waitForLeaders: true,
            topics: [{ topic: deadLetterTopic(topic), numPartitions: 1, configEntries: [{ name: "retention.ms", value: String(DEAD_LETTER_RETENTION_DAYS * 86_400_000) }] }],
        });
    } finally {
        await admin.disconnect();
    }
}

export interface ConsumerOptions {
    kafka: Kafka;
    topic: string;
    clickhouse: ClickHouseClient;
    metrics: ConsumerMetrics;
    groupId?: string;
}

/** The consumer group that moves a cell's events into ClickHouse. */
export const CONSUMER_GROUP = "ingest-clickhouse";

/**
 * Moves events from Kafka into ClickHouse. Offsets are committed only after every event of a batch is stored or
 * set aside on the dead-letter topic, so a crash anywhere redelivers and no event can hold its partition up.
 * Between inserts the consumer heartbeats and stops if it lost the partition, so a rebalance never has two
 * consumers inserting the same events.
 */
export async function startConsumer({ kafka, topic, clickhouse, metrics, groupId = CONSUMER_GROUP }: ConsumerOptions): Promise<{ consumer: Consumer; producer: Producer }> {
    const store = new EventStore(clickhouse);
    await ensureDeadLetterTopic(kafka, topic);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Fetches wait for a few megabytes (or half a second): fewer, larger inserts cost ClickHouse far less than many small ones.
    const consumer = kafka.consumer({
        groupId, minBytes: 4 * 1024 * 1024, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 16 * 1024 * 1024, maxWaitTimeInMs: 500,
        sessionTimeout: 30_000, rebalanceTimeout: 60_000,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, heartbeat, isStale, resolveOffset }) => {
            if (batch.messages.length === 0) return;
            const read = batch.messages.map(eventMessageOf);
            const stop = metrics.insertSeconds.startTimer();
            const outcome = await store.store(read.filter((m) => !isDeadLetter(m)) as EventMessage[], async () => {
                await heartbeat();
                if (isStale()) throw new Error(`partition ${batch.partition} was reassigned; its new owner takes the batch from the last commit`);
            }).catch((error: unknown) => {
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
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
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
export async function partitionLags(admin: Admin, topic: string, groupId = CONSUMER_GROUP): Promise<{ partition: number; lag: number; committed: string; high: string }[]> {
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
export function watchLag(kafka: Kafka, topic: string, metrics: ConsumerMetrics, intervalMs = 5_000, groupId = CONSUMER_GROUP): { stop: () => Promise<void> } {
    const admin = kafka.admin();
    const connected = admin.connect();
    const measure = async () => {
        await connected;
        for (const { partition, lag } of await partitionLags(admin, topic, groupId)) metrics.lag.set({ partition: String(partition) }, lag);
    };
    const timer = setInterval(() => measure().catch(() => metrics.lagReadFailures.inc()), intervalMs);
    void measure().catch(() => metrics.lagReadFailures.inc());
    return {
        stop: async () => {
            clearInterval(timer);
            await admin.disconnect();
        },
    };
}
