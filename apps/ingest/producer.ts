import type { Message, Producer } from "kafkajs";

/**
 * One Kafka produce request at a time (the idempotent producer keeps a single request in flight, so its
 * sequence numbers stay in order), carrying every request's events that arrived while the previous one was in
 * flight. Each caller is answered when the request holding its events is acknowledged by all replicas, or fails.
 */
export class CoalescingProducer {
    private waiting: { messages: Message[]; bytes: number; done: (error?: unknown) => void }[] = [];
    private sending = false;

    constructor(private readonly producer: Producer, private readonly topic: string) {}

    send(messages: Message[]): Promise<void> {
        return new Promise((resolve, reject) => {
            const bytes = messages.reduce((n, m) => n + String(m.value ?? "").length + 100, 0);
            this.waiting.push({ messages, bytes, done: (error) => (error ? reject(error) : resolve()) });
            void this.drain();
        });
    }

    private async drain(): Promise<void> {
        if (this.sending) return;
        this.sending = true;
        while (this.waiting.length > 0) {
            const batch = this.waiting.splice(0, this.fitting());
            const error = await this.producer.send({ topic: this.topic, acks: -1, messages: batch.flatMap((b) => b.messages) }).then(() => undefined, (e: unknown) => e ?? new Error("send failed"));
            for (const { done } of batch) done(error);
        }
        this.sending = false;
    }

    /** How many waiting requests fit in one produce request: at least one, and under the broker's message size limit together. */
    private fitting(): number {
        let bytes = 0;
        const count = this.waiting.findIndex((w) => (bytes += w.bytes) > MAX_REQUEST_BYTES);
        return count === -1 ? this.waiting.length : Math.max(count, 1);
    }
}

/** Under Kafka's default `message.max.bytes` (1 MiB per partition's batch), with room for the protocol's overhead. */
const MAX_REQUEST_BYTES = 900 * 1024;
