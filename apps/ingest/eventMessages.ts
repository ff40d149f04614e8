import { type KafkaAdmin, type KafkaMessage, type KafkaProducer, headerText } from "../shared/kafka";
import { cellTopics, deadLetterTopic } from "../shared/topics";

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

export const eventHeaders = (e: { event_id: string; org_id: string; timestamp: string }): Record<string, Buffer> => ({
    event_id: Buffer.from(e.event_id),
    org_id: Buffer.from(e.org_id),
    at: Buffer.from(String(Date.parse(e.timestamp))),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads an event message: from its headers, or from its value when a header is missing. Anything that is not an
 * event of the API's making (the topic is writable inside the cell) is a dead letter, not a reason to stop.
 */
export function eventMessageOf(message: KafkaMessage): EventMessage | DeadLetter {
    const header = (name: string) => headerText(message, name);
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
export const isEvent = (m: EventMessage | DeadLetter): m is EventMessage => !isDeadLetter(m);

/** Puts dead letters on the cell's dead-letter topic with their reason and origin, keyed as they were. */
export async function sendDeadLetters(
    producer: KafkaProducer,
    topic: string,
    partition: number,
    letters: readonly DeadLetter[],
): Promise<void> {
    if (letters.length === 0) return;
    const at = new Date().toISOString();
    await producer.send({
        messages: letters.map(({ source, reason, detail }) => ({
            topic: deadLetterTopic(topic),
            key: source.key ?? undefined,
            value: source.value ?? Buffer.alloc(0),
            headers: new Map([
                ...source.headers,
                ...Object.entries({
                    dead_letter_reason: reason,
                    dead_letter_detail: detail,
                    dead_letter_at: at,
                    dead_letter_origin: `${topic}/${partition}/${source.offset}`,
                }).map(([name, value]) => [name, Buffer.from(value)] as const),
            ]),
        })),
    });
}

/**
 * Creates the cell's topics that do not exist yet, where the target leaves that to the consumer (MSK, whose topics
 * only an IAM principal can create); elsewhere the cell made them and this only looks.
 */
export async function ensureTopics(admin: KafkaAdmin, topic: string): Promise<void> {
    const existing = new Set(await admin.listTopics());
    for (const missing of cellTopics(topic).filter((t) => !existing.has(t.topic))) {
        // One request per topic: a request's configs apply to every topic in it, and retention differs.
        await admin.createTopics({
            topics: [missing.topic],
            partitions: missing.partitions,
            configs: [{ name: "retention.ms", value: String(missing.retentionDays * 86_400_000) }],
        });
    }
}
