import type { ClickHouseClient } from "@clickhouse/client";
import { MessagesStreamFallbackModes, MessagesStreamModes } from "@platformatic/kafka";
import { z } from "zod";
import { Batches, byPartition, type EventStream } from "./consumer";
import type { KafkaClients, KafkaConsumer, KafkaMessage } from "../shared/kafka";
import { windowsTopic, WINDOWS_GROUP } from "../shared/topics";

/** ClickHouse's DateTime64(3) text, as the streaming job writes window bounds (UTC). */
const WINDOW_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$/;
const count = z.number().int().nonnegative();

/** One window as the streaming job sends it (apps/lakehouse/streaming.ts). */
export const windowSchema = z.strictObject({
    org_id: z.string().min(1).max(64),
    event_type: z.string().min(1).max(64),
    window_start: z.string().regex(WINDOW_TIME),
    window_end: z.string().regex(WINDOW_TIME),
    events: count,
    unique_users: count,
});
export type EventWindow = z.output<typeof windowSchema>;

const RETRY_MS = 2_000;

/**
 * Loads the streaming job's windows from the cell's windows topic into `analytics.event_windows`, committing each
 * partition's offsets after its insert. A window loaded twice replaces itself (a ReplacingMergeTree keyed by
 * tenant, start and type). A message that is not a window is skipped with its reason: it can hold nothing up.
 */
export class WindowLoader {
    private stream?: EventStream;
    private closing = false;
    private running?: Promise<void>;
    private readonly topic: string;

    private constructor(
        private readonly consumer: KafkaConsumer,
        private readonly clickhouse: ClickHouseClient,
        eventsTopic: string,
    ) {
        this.topic = windowsTopic(eventsTopic);
    }

    static start(options: { kafka: KafkaClients; topic: string; clickhouse: ClickHouseClient }): WindowLoader {
        const consumer = options.kafka.consumer(WINDOWS_GROUP, { autocommit: false, maxWaitTime: 500, sessionTimeout: 30_000 });
        const loader = new WindowLoader(consumer, options.clickhouse, options.topic);
        loader.running = loader.run();
        return loader;
    }

    async close(): Promise<void> {
        this.closing = true;
        await this.stream?.close().catch(() => undefined);
        await this.running;
        await this.consumer.close(true).catch(() => undefined);
    }

    private async run(): Promise<void> {
        while (!this.closing) {
            try {
                this.stream = await this.consumer.consume({
                    topics: [this.topic],
                    mode: MessagesStreamModes.COMMITTED,
                    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
                });
                const batches = new Batches(this.stream);
                for (let batch = await batches.next(); batch && !this.closing; batch = await batches.next()) {
                    for (const [partition, messages] of byPartition(batch)) await this.load(partition, messages);
                }
            } catch (error) {
                if (this.closing) break;
                console.error(`window loader: ${(error as Error).message}; starting again from the last commit in ${RETRY_MS} ms`);
                await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
            }
            await this.stream?.close().catch(() => undefined);
            this.stream = undefined;
        }
    }

    private async load(partition: number, messages: KafkaMessage[]): Promise<void> {
        const windows = messages.map((message) => windowOf(message, this.topic)).filter((w): w is EventWindow => w !== undefined);
        if (windows.length > 0)
            await this.clickhouse.insert({
                table: "analytics.event_windows",
                values: windows,
                format: "JSONEachRow",
                columns: ["org_id", "event_type", "window_start", "window_end", "events", "unique_users"],
            });
        const last = messages[messages.length - 1];
        await this.consumer.commit({
            offsets: [{ topic: this.topic, partition, offset: last.offset + 1n, leaderEpoch: last.leaderEpoch }],
        });
    }
}

/** The window a message holds, or undefined (logged with its offset and reason) when it holds none. */
export function windowOf(message: KafkaMessage, topic: string): EventWindow | undefined {
    const where = `${topic}/${message.partition}/${message.offset}`;
    let parsed: unknown;
    try {
        parsed = JSON.parse((message.value ?? Buffer.alloc(0)).toString());
    } catch (error) {
        console.error(`window loader: skipped ${where}: not JSON (${(error as Error).message})`);
        return undefined;
    }
    const result = windowSchema.safeParse(parsed);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    console.error(`window loader: skipped ${where}: ${issue.path.join(".") || "(window)"} ${issue.message}`);
    return undefined;
}
