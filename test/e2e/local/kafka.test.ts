import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Partitioners } from "kafkajs";
import { readRanges, topicOffsets } from "../../../apps/shared/kafka";
import { destroyKafka, KafkaServerSpec, kafkaOfServer, kafkaRunning, startKafka } from "../../../components/local/kafkaServer";
import { deleteTopic, ensureTopic, readTopic } from "../../../components/local/topics";
import { portAnswers, runningPid } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";

/** A real Kafka 3.9 broker in KRaft mode from Maven Central jars, on free ports. */
describe("a local Kafka broker", () => {
    let spec: KafkaServerSpec;
    const events = { topic: "events", partitions: 3, retentionDays: 7 };

    beforeAll(async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-kafka-"));
        spec = { label: "kafka of cell test-eu", dir: path.join(root, "kafka"), port: await freePort(), controllerPort: await freePort() };
        await startKafka(spec);
    }, 90_000);
    afterAll(async () => {
        await destroyKafka(spec);
        fs.rmSync(path.dirname(spec.dir), { recursive: true, force: true });
    });

    test("answers as a KRaft broker and a second start is a no-op", async () => {
        expect(await kafkaRunning(spec)).toBe(true);
        const pid = runningPid(spec.dir);
        expect(await startKafka(spec)).toBe(pid);
    });

    test("creates the events topic with its partitions and retention, and carries messages", async () => {
        expect(await readTopic(spec, "events")).toEqual({ exists: false });
        await ensureTopic(spec, events);
        expect(await readTopic(spec, "events")).toEqual({ exists: true, partitions: 3, retentionMs: 7 * 86_400_000 });

        const kafka = kafkaOfServer(spec);
        const producer = kafka.producer();
        const sessions = Array.from({ length: 30 }, (_, i) => `session-${i}`);
        const { offsets } = await producer.send({
            messages: sessions.map((session) => ({
                topic: "events",
                key: Buffer.from(session),
                value: Buffer.from(JSON.stringify({ session })),
            })),
        });
        await producer.close();
        expect(new Set(offsets!.map((o) => o.partition)).size).toBeGreaterThan(1);

        const admin = kafka.admin();
        const ranges = (await topicOffsets(admin, "events")).map(({ partition, low, high }) => ({
            topic: "events",
            partition,
            from: low,
            to: high,
        }));
        await admin.close();
        const received = await readRanges(kafka, ranges);
        expect(received.map((m) => JSON.parse(String(m.value)).session).sort()).toEqual([...sessions].sort());
        // Each key is on the partition kafkajs, which wrote the cells' topics before, chose for it: a session stays in order.
        const kafkajsPartitionOf = (key: Buffer | undefined) =>
            Partitioners.DefaultPartitioner()({
                topic: "events",
                partitionMetadata: [0, 1, 2].map((partitionId) => ({
                    partitionId,
                    leader: 1,
                    partitionErrorCode: 0,
                    replicas: [1],
                    isr: [1],
                })),
                message: { key, value: null },
            });
        expect(received.map((m) => [String(m.key), m.partition])).toEqual(received.map((m) => [String(m.key), kafkajsPartitionOf(m.key)]));
    }, 60_000);

    test("raises partitions and changes retention in place", async () => {
        await ensureTopic(spec, { ...events, partitions: 6, retentionDays: 30 });
        expect(await readTopic(spec, "events")).toEqual({ exists: true, partitions: 6, retentionMs: 30 * 86_400_000 });
    });

    test("a killed broker reads as stopped and restarts with its topics", async () => {
        process.kill(runningPid(spec.dir)!, "SIGKILL");
        await new Promise((r) => setTimeout(r, 500));
        expect(await kafkaRunning(spec)).toBe(false);
        await startKafka(spec);
        expect((await readTopic(spec, "events")).partitions).toBe(6);
    }, 90_000);

    test("a deleted topic is gone; destroy leaves no process, port or folder", async () => {
        await deleteTopic(spec, "events");
        expect(await readTopic(spec, "events")).toEqual({ exists: false });
        await destroyKafka(spec);
        expect(await portAnswers(spec.port)).toBe(false);
        expect(fs.existsSync(spec.dir)).toBe(false);
    }, 60_000);
});
