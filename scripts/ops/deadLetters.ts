import {
    committedOffsets,
    headerText,
    type KafkaClients,
    type KafkaMessage,
    type PartitionRange,
    readRanges,
    topicOffsets,
} from "../../apps/shared/kafka";
import { deadLetterTopic, EVENTS_TOPIC } from "../../apps/shared/topics";
import { deployedCell, kafkaOfCell } from "./cellClients";

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
async function cellKafka(projectDir: string, env: string, cell: string): Promise<KafkaClients> {
    return kafkaOfCell(await deployedCell(projectDir, env, cell), "cellplane-dlq");
}

/** The offsets from which the dead letters are not replayed yet, and the end of each partition. */
async function pendingRange(kafka: KafkaClients): Promise<PartitionRange[]> {
    const admin = kafka.admin();
    try {
        const [ends, committed] = await Promise.all([
            topicOffsets(admin, DEAD_LETTERS),
            committedOffsets(admin, REPLAY_GROUP, DEAD_LETTERS),
        ]);
        return ends.map(({ partition, low, high }) => {
            const done = committed.get(partition) ?? -1n;
            return { topic: DEAD_LETTERS, partition, from: done >= low ? done : low, to: high };
        });
    } finally {
        await admin.close();
    }
}

const text = (message: KafkaMessage, name: string) => headerText(message, name) ?? "";

/** The events of a cell set aside and not replayed yet, oldest first. */
export async function listDeadLetters(projectDir: string, env: string, cell: string): Promise<DeadLetterView[]> {
    const kafka = await cellKafka(projectDir, env, cell);
    return (await readRanges(kafka, await pendingRange(kafka))).map((message) => ({
        offset: String(message.offset),
        reason: text(message, "dead_letter_reason"),
        detail: text(message, "dead_letter_detail"),
        at: text(message, "dead_letter_at"),
        origin: text(message, "dead_letter_origin"),
        tenant: text(message, "org_id"),
        eventId: text(message, "event_id"),
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
    const letters = await readRanges(kafka, ranges);
    if (letters.length > 0) {
        const producer = kafka.producer();
        try {
            await producer.send({
                messages: letters.map((message) => ({
                    topic: EVENTS_TOPIC,
                    key: message.key ?? undefined,
                    value: message.value,
                    headers: new Map([...message.headers].filter(([name]) => !name.startsWith("dead_letter_"))),
                })),
            });
        } finally {
            await producer.close();
        }
    }
    const admin = kafka.admin();
    try {
        await admin.alterConsumerGroupOffsets({
            groupId: REPLAY_GROUP,
            topics: [{ name: DEAD_LETTERS, partitionOffsets: ranges.map((r) => ({ partition: r.partition, offset: r.to })) }],
        });
    } finally {
        await admin.close();
    }
    return { replayed: letters.length };
}
