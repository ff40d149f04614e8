import { randomUUID } from "crypto";
import { IHeaders, Kafka, KafkaMessage } from "kafkajs";
import { deadLetterTopic, EVENTS_TOPIC } from "../../apps/shared/topics";
import { Refusal, stacksOf } from "./environment";
import { openStack } from "./workspace";
import { kafkaOfCell } from "./cellClients";

/** The consumer group whose committed offsets mark how far the dead letters were replayed. */
const REPLAY_GROUP = "cellplane-dead-letter-replay";
const DEAD_LETTERS = deadLetterTopic(EVENTS_TOPIC);

/** One event set aside, as `dlq list` shows it. */
export interface DeadLetterView {
    offset: string;
    reason: string;
    detail: string;
    at: string;
    origin: string;
    tenant: string;
    eventId: string;
}

/** The Kafka of a cell, from the outputs of the environment's stack that holds it. */
async function cellKafka(projectDir: string, env: string, cell: string): Promise<Kafka> {
    for (const stack of stacksOf(projectDir, env)) {
        const outputs = await (await openStack(projectDir, env, stack)).outputs();
        const found = outputs.cells?.value?.[cell];
        if (found) return kafkaOfCell(found, "cellplane-dlq");
    }
    throw new Refusal(
        `--cell ${cell}: no deployed stack of environment ${env} has that cell (stacks: ${stacksOf(projectDir, env).join(", ") || "none"})`,
    );
}

/** The offsets from which the dead letters are not replayed yet, and the end of each partition. */
async function pendingRange(kafka: Kafka): Promise<{ partition: number; from: bigint; to: bigint }[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
        const [ends, [committed]] = await Promise.all([
            admin.fetchTopicOffsets(DEAD_LETTERS),
            admin.fetchOffsets({ groupId: REPLAY_GROUP, topics: [DEAD_LETTERS] }),
        ]);
        return ends.map(({ partition, low, high }) => {
            const done = BigInt(committed.partitions.find((p) => p.partition === partition)?.offset ?? "-1");
            return { partition, from: done >= BigInt(low) ? done : BigInt(low), to: BigInt(high) };
        });
    } finally {
        await admin.disconnect();
    }
}

/** Reads the messages of each partition from `from` up to `to`, without joining the replay group or committing anything. */
async function readRange(
    kafka: Kafka,
    ranges: { partition: number; from: bigint; to: bigint }[],
): Promise<{ partition: number; message: KafkaMessage }[]> {
    const wanted = ranges.filter((r) => r.from < r.to);
    if (wanted.length === 0) return [];
    const consumer = kafka.consumer({ groupId: `cellplane-dlq-reader-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: DEAD_LETTERS, fromBeginning: true });
    const read: { partition: number; message: KafkaMessage }[] = [];
    const remaining = new Set(wanted.map((r) => r.partition));
    try {
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`reading ${DEAD_LETTERS} took over 60 s`)), 60_000);
            consumer
                .run({
                    autoCommit: false,
                    eachMessage: async ({ partition, message }) => {
                        const range = wanted.find((r) => r.partition === partition);
                        if (!range || BigInt(message.offset) < range.from || BigInt(message.offset) >= range.to) return;
                        read.push({ partition, message });
                        if (BigInt(message.offset) === range.to - 1n) remaining.delete(partition);
                        if (remaining.size === 0) {
                            clearTimeout(timer);
                            resolve();
                        }
                    },
                })
                .catch((error: unknown) => {
                    clearTimeout(timer);
                    reject(error);
                });
            for (const r of wanted) consumer.seek({ topic: DEAD_LETTERS, partition: r.partition, offset: r.from.toString() });
        });
    } finally {
        await consumer.disconnect();
    }
    return read;
}

const text = (headers: IHeaders | undefined, name: string) => headers?.[name]?.toString() ?? "";

/** The events of a cell set aside and not replayed yet, oldest first. */
export async function listDeadLetters(projectDir: string, env: string, cell: string): Promise<DeadLetterView[]> {
    const kafka = await cellKafka(projectDir, env, cell);
    return (await readRange(kafka, await pendingRange(kafka))).map(({ message }) => ({
        offset: message.offset,
        reason: text(message.headers, "dead_letter_reason"),
        detail: text(message.headers, "dead_letter_detail"),
        at: text(message.headers, "dead_letter_at"),
        origin: text(message.headers, "dead_letter_origin"),
        tenant: text(message.headers, "org_id"),
        eventId: text(message.headers, "event_id"),
    }));
}

/**
 * Sends the cell's pending dead letters back to its events topic as they first arrived (their own key, value and
 * headers), then marks them replayed. The consumer stores each once: an event that was stored meanwhile counts as
 * a duplicate, and one that still fails is set aside again with its new reason.
 */
export async function replayDeadLetters(projectDir: string, env: string, cell: string): Promise<{ replayed: number }> {
    const kafka = await cellKafka(projectDir, env, cell);
    const ranges = await pendingRange(kafka);
    const letters = await readRange(kafka, ranges);
    if (letters.length > 0) {
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        try {
            await producer.send({
                topic: EVENTS_TOPIC,
                acks: -1,
                messages: letters.map(({ message }) => ({
                    key: message.key,
                    value: message.value,
                    headers: Object.fromEntries(Object.entries(message.headers ?? {}).filter(([name]) => !name.startsWith("dead_letter_"))),
                })),
            });
        } finally {
            await producer.disconnect();
        }
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
        await admin.setOffsets({
            groupId: REPLAY_GROUP,
            topic: DEAD_LETTERS,
            partitions: ranges.map((r) => ({ partition: r.partition, offset: r.to.toString() })),
        });
    } finally {
        await admin.disconnect();
    }
    return { replayed: letters.length };
}
