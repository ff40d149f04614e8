/**
 * The apps' Kafka client (@platformatic/kafka) against the one it replaced (kafkajs, the reference), on the same
 * cell's Kafka over TLS and SCRAM: events/s produced as the ingest API produces them (idempotent, acks=all, batches
 * of 1,000), and events/s read back by a fresh consumer group with the ingest consumer's fetch settings (kafkajs
 * with its defaults, which fetch the same megabyte per partition).
 */
import { randomUUID } from "crypto";
import { Kafka, logLevel } from "kafkajs";
import { MessagesStreamFallbackModes, MessagesStreamModes } from "@platformatic/kafka";
import type { CellOutputs } from "../../scripts/ops/keys";
import { kafkaOfCell } from "../../scripts/ops/cellClients";
import { FETCHES } from "../../apps/ingest/consumer";

const EVENTS = 200_000;
const BATCH = 1_000;
const PARTITIONS = 3;

interface Rates {
    produced: number;
    consumed: number;
}

const perSecond = (count: number, since: bigint) => count / (Number(process.hrtime.bigint() - since) / 1e9);

function batchesOf(size: number): { key: Buffer; value: Buffer }[][] {
    const value = Buffer.from(
        JSON.stringify({ event_id: randomUUID(), org_id: "acme", metadata: { tokens: 42, model: "m-1" } }).padEnd(400),
    );
    return Array.from({ length: EVENTS / size }, (_batch, b) =>
        Array.from({ length: size }, (_event, i) => ({ key: Buffer.from(`session-${b}-${i % 50}`), value })),
    );
}

async function platformatic(cell: CellOutputs, topic: string): Promise<Rates> {
    const kafka = kafkaOfCell(cell, "bench-platformatic");
    const producer = kafka.producer();
    const batches = batchesOf(BATCH);
    let since = process.hrtime.bigint();
    for (const batch of batches) await producer.send({ messages: batch.map((m) => ({ ...m, topic })) });
    const produced = perSecond(EVENTS, since);
    await producer.close();

    const consumer = kafka.consumer(`bench-${randomUUID()}`, { autocommit: false, ...FETCHES });
    since = process.hrtime.bigint();
    const stream = await consumer.consume({
        topics: [topic],
        mode: MessagesStreamModes.EARLIEST,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    });
    let read = 0;
    for await (const _ of stream) if (++read === EVENTS) break;
    const consumed = perSecond(read, since);
    await consumer.close(true);
    return { produced, consumed };
}

async function kafkajs(cell: CellOutputs, topic: string): Promise<Rates> {
    const admin = cell.credentials.kafkaAdmin!;
    const kafka = new Kafka({
        clientId: "bench-kafkajs",
        brokers: cell.endpoints.kafkaBootstrap.split(","),
        ssl: { ca: [cell.endpoints.kafkaCa!] },
        sasl: { mechanism: "scram-sha-512", ...admin },
        logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const batches = batchesOf(BATCH);
    let since = process.hrtime.bigint();
    for (const batch of batches) await producer.send({ topic, acks: -1, messages: batch });
    const produced = perSecond(EVENTS, since);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    since = process.hrtime.bigint();
    let read = 0;
    let consumed = 0;
    await new Promise<void>((resolve, reject) => {
        consumer
            .run({
                eachBatch: async ({ batch }) => {
                    read += batch.messages.length;
                    if (read >= EVENTS && consumed === 0) {
                        consumed = perSecond(read, since);
                        resolve();
                    }
                },
            })
            .catch(reject);
    });
    await consumer.disconnect();
    return { produced, consumed };
}

/** Each client on a topic of its own, so each reads back exactly what it wrote. */
export async function compareKafkaClients(cell: CellOutputs): Promise<void> {
    console.log(`bench:ingest: Kafka clients, ${EVENTS.toLocaleString("en")} events of 400 bytes each way, over TLS and SCRAM…`);
    const admin = kafkaOfCell(cell, "bench-admin").admin();
    const topics = { platformatic: `bench-platformatic-${Date.now()}`, kafkajs: `bench-kafkajs-${Date.now()}` };
    await admin.createTopics({ topics: Object.values(topics), partitions: PARTITIONS, replicas: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    try {
        const reference = await kafkajs(cell, topics.kafkajs);
        const ours = await platformatic(cell, topics.platformatic);
        const row = (name: string, r: Rates) =>
            `${name.padEnd(22)} produce ${Math.round(r.produced).toLocaleString("en").padStart(9)} events/s, consume ${Math.round(r.consumed).toLocaleString("en").padStart(9)} events/s`;
        console.log(`\nKafka clients (same cell, same events):`);
        console.log(row("@platformatic/kafka", ours));
        console.log(row("kafkajs (reference)", reference));
        console.log(
            `ratio                  produce ×${(ours.produced / reference.produced).toFixed(2)}, consume ×${(ours.consumed / reference.consumed).toFixed(2)}\n`,
        );
    } finally {
        await admin.deleteTopics({ topics: Object.values(topics) });
        await admin.close();
    }
}
