/**
 * The cell's Kafka clients, on @platformatic/kafka. Messages are bytes (an event's JSON goes into ClickHouse as it is,
 * and a dead letter keeps whatever bytes it came with); header names are text, header values bytes.
 */
import { randomUUID } from "crypto";
import {
    Admin,
    compatibilityPartitioner,
    Consumer,
    MessagesStreamModes,
    type ConsumeBaseOptions,
    type GroupOptions,
    type Message,
    type MessageToProduce,
    ProduceAcks,
    Producer,
    type SASLOptions,
    stringDeserializer,
    stringSerializer,
} from "@platformatic/kafka";

export type KafkaMessage = Message<Buffer, Buffer, string, Buffer>;
export type KafkaRecord = MessageToProduce<Buffer, Buffer, string, Buffer>;
export type KafkaProducer = Producer<Buffer, Buffer, string, Buffer>;
export type KafkaConsumer = Consumer<Buffer, Buffer, string, Buffer>;
export { Admin as KafkaAdmin };

/** Where the brokers are and how to reach them: what every client of one cell's Kafka shares. */
export interface KafkaAccess {
    brokers: string[];
    tls?: { ca?: string; rejectUnauthorized: true };
    sasl?: SASLOptions;
}

/** Access as a SCRAM-SHA-512 user over TLS verified against `ca`; plain text when the broker has neither (`localTls: false`). */
export function scramAccess(
    brokers: string[],
    ca: string | undefined,
    user: { username: string; password: string } | undefined,
): KafkaAccess {
    return {
        brokers,
        ...(ca ? { tls: { ca, rejectUnauthorized: true } } : {}),
        ...(user ? { sasl: { mechanism: "SCRAM-SHA-512", ...user } } : {}),
    };
}

/** How a consumer fetches and keeps its place in the group (the classic protocol, which every target's Kafka speaks). */
type ConsumerSettings = Omit<ConsumeBaseOptions<Buffer, Buffer, string, Buffer>, "deserializers"> & GroupOptions;

/** The producer, consumers and admin of one cell's Kafka, each a client of its own with the cell's access. */
export class KafkaClients {
    constructor(
        private readonly access: KafkaAccess,
        readonly clientId: string,
        /** How often a request is tried again before it fails (a failed connection or an unavailable broker). */
        private readonly retries = 10,
    ) {}

    private base() {
        return {
            clientId: this.clientId,
            bootstrapBrokers: this.access.brokers,
            tls: this.access.tls,
            sasl: this.access.sasl,
            retries: this.retries,
            retryDelay: 500,
        };
    }

    /**
     * Idempotent, acknowledged by every in-sync replica, and partitioning keys as Java clients (and kafkajs, which
     * wrote the cells' topics before) do, so a session's events stay on their partition across the change of client.
     */
    producer(): KafkaProducer {
        return new Producer({
            ...this.base(),
            idempotent: true,
            acks: ProduceAcks.ALL,
            partitioner: compatibilityPartitioner,
            serializers: { headerKey: stringSerializer },
        });
    }

    consumer(groupId: string, options: ConsumerSettings = {}): KafkaConsumer {
        return new Consumer({ ...this.base(), groupId, ...options, deserializers: { headerKey: stringDeserializer } });
    }

    admin(): Admin {
        return new Admin(this.base());
    }
}

/** A header's value as text; undefined when the message lacks it. */
export const headerText = (message: KafkaMessage, name: string): string | undefined => message.headers.get(name)?.toString();

/** Each partition's oldest and next offsets ("low" and "high"), as the brokers see them now. */
export async function topicOffsets(admin: Admin, topic: string): Promise<{ partition: number; low: bigint; high: bigint }[]> {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const partitions = metadata.topics.get(topic)!.partitions.map((_, partition) => partition);
    const at = async (timestamp: bigint) => {
        const [listed] = await admin.listOffsets({
            topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, timestamp })) }],
        });
        return new Map(listed.partitions.map((p) => [p.partitionIndex, p.offset]));
    };
    const [low, high] = await Promise.all([at(EARLIEST), at(LATEST)]);
    return partitions.map((partition) => ({ partition, low: low.get(partition)!, high: high.get(partition)! }));
}

/** Kafka's ListOffsets timestamps that ask for a partition's oldest and next offsets. */
const EARLIEST = -2n;
const LATEST = -1n;

/** The group's committed offset of each partition of `topic`; a partition it never committed is absent. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
    const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const partitions = group?.topics.find((t) => t.name === topic)?.partitions ?? [];
    return new Map(partitions.filter((p) => p.committedOffset >= 0n).map((p) => [p.partitionIndex, p.committedOffset]));
}

/** The offsets `from` (included) to `to` (excluded) of one partition. */
export interface PartitionRange {
    topic: string;
    partition: number;
    from: bigint;
    to: bigint;
}

/** Reads the messages of the ranges, in a throwaway group that commits nothing; fails after `timeoutMs`. */
export async function readRanges(kafka: KafkaClients, ranges: PartitionRange[], timeoutMs = 60_000): Promise<KafkaMessage[]> {
    const wanted = new Map(ranges.filter((r) => r.from < r.to).map((r) => [`${r.topic}/${r.partition}`, r]));
    if (wanted.size === 0) return [];
    const consumer = kafka.consumer(`${kafka.clientId}-reader-${randomUUID()}`, { autocommit: false });
    const read: KafkaMessage[] = [];
    const remaining = new Set(wanted.keys());
    const timer = setTimeout(() => void consumer.close(true), timeoutMs);
    try {
        const stream = await consumer.consume({
            topics: [...new Set(ranges.map((r) => r.topic))],
            mode: MessagesStreamModes.MANUAL,
            offsets: [...wanted.values()].map(({ topic, partition, from }) => ({ topic, partition, offset: from })),
        });
        for await (const message of stream) {
            const key = `${message.topic}/${message.partition}`;
            const range = wanted.get(key);
            if (!range || message.offset < range.from || message.offset >= range.to) continue;
            read.push(message);
            if (message.offset === range.to - 1n) remaining.delete(key);
            if (remaining.size === 0) break;
        }
        if (remaining.size > 0) throw new Error(`reading ${[...remaining].join(", ")} took over ${timeoutMs / 1000} s`);
    } finally {
        clearTimeout(timer);
        await consumer.close(true);
    }
    return read;
}
