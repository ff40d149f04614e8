import type { KafkaProducer, KafkaRecord } from "../shared/kafka";
import { Unavailable } from "../shared/http";

export interface ProducerLimits {
    /** Most bytes of events waiting for Kafka; a request that would exceed it is answered 503 at once. */
    maxQueuedBytes: number;
    /** Longest a request waits for its turn; when Kafka is that slow it is answered 503 and never sent. */
    maxWaitMs: number;
}

const DEFAULT_PRODUCER_LIMITS: ProducerLimits = { maxQueuedBytes: 32 * 1024 * 1024, maxWaitMs: 5_000 };

/** What a caller is told to wait when Kafka is slow or down. */
const RETRY_AFTER_SECONDS = 2;

/** An event's message; the producer knows its topic. */
export type EventRecord = Omit<KafkaRecord, "topic">;

interface Waiting {
    messages: EventRecord[];
    bytes: number;
    since: number;
    done: (error?: unknown) => void;
}

/**
 * One Kafka produce request at a time (the idempotent producer keeps a single request in flight, so its
 * sequence numbers stay in order), carrying every request's events that arrived while the previous one was in
 * flight. Each caller is answered when the request holding its events is acknowledged by all replicas, or fails.
 * The queue is bounded in bytes and in waiting time: when Kafka is slow, callers get 503 and Retry-After and the
 * process's memory stays bounded.
 */
export class CoalescingProducer {
    private waiting: Waiting[] = [];
    private queuedBytes = 0;
    private sending = false;

    constructor(
        private readonly producer: KafkaProducer,
        private readonly topic: string,
        private readonly limits = DEFAULT_PRODUCER_LIMITS,
    ) {}

    send(messages: EventRecord[]): Promise<void> {
        const bytes = messages.reduce((n, m) => n + messageBytes(m), 0);
        if (this.queuedBytes + bytes > this.limits.maxQueuedBytes && this.waiting.length > 0) {
            return Promise.reject(
                new Unavailable(
                    `the cell's event stream is behind (${this.queuedBytes} bytes waiting); nothing was stored`,
                    RETRY_AFTER_SECONDS,
                ),
            );
        }
        return new Promise((resolve, reject) => {
            this.queuedBytes += bytes;
            this.waiting.push({ messages, bytes, since: Date.now(), done: (error) => (error ? reject(error) : resolve()) });
            void this.drain();
        });
    }

    private async drain(): Promise<void> {
        if (this.sending) return;
        this.sending = true;
        const expiry = setInterval(() => this.expire(), Math.min(1_000, this.limits.maxWaitMs));
        while (this.waiting.length > 0) {
            const batch = this.waiting.splice(0, this.fitting());
            const error = await this.sendAll(batch.flatMap((b) => b.messages)).then(
                () => undefined,
                (e: unknown) =>
                    new Unavailable(
                        "the cell's event stream did not acknowledge the events; send them again with the same event ids (they are stored once)",
                        RETRY_AFTER_SECONDS,
                        e,
                    ),
            );
            for (const { bytes, done } of batch) {
                this.queuedBytes -= bytes;
                done(error);
            }
        }
        clearInterval(expiry);
        this.sending = false;
    }

    /** Sends in produce requests under the broker's limit: one request's events alone may exceed it. */
    private async sendAll(messages: EventRecord[]): Promise<void> {
        let chunk: KafkaRecord[] = [];
        let bytes = 0;
        for (const message of messages) {
            if (chunk.length > 0 && bytes + messageBytes(message) > MAX_REQUEST_BYTES) {
                await this.producer.send({ messages: chunk });
                [chunk, bytes] = [[], 0];
            }
            chunk.push({ ...message, topic: this.topic });
            bytes += messageBytes(message);
        }
        if (chunk.length > 0) await this.producer.send({ messages: chunk });
    }

    /** Answers 503 to requests that waited too long; they were never handed to Kafka, so nothing of theirs is stored. */
    private expire(): void {
        const oldest = Date.now() - this.limits.maxWaitMs;
        const [stale, fresh] = [this.waiting.filter((w) => w.since < oldest), this.waiting.filter((w) => w.since >= oldest)];
        this.waiting = fresh;
        for (const { bytes, done } of stale) {
            this.queuedBytes -= bytes;
            done(
                new Unavailable(
                    `the cell's event stream is slow: the events waited over ${this.limits.maxWaitMs} ms and were not stored`,
                    RETRY_AFTER_SECONDS,
                ),
            );
        }
    }

    /** How many waiting requests fit in one produce request: at least one, and under the broker's message size limit together. */
    private fitting(): number {
        let bytes = 0;
        const count = this.waiting.findIndex((w) => (bytes += w.bytes) > MAX_REQUEST_BYTES);
        return count === -1 ? this.waiting.length : Math.max(count, 1);
    }
}

/** A message's size on the wire, roughly: its value and key in bytes, plus room for the event's few short headers and the record's overhead. */
function messageBytes(m: EventRecord): number {
    return (m.value?.length ?? 0) + (m.key?.length ?? 0) + 200;
}

/** Under Kafka's default `message.max.bytes` (1 MiB per partition's batch), with room for the protocol's overhead. */
const MAX_REQUEST_BYTES = 900 * 1024;
