import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Kafka, logLevel } from "kafkajs";
import { bootstrapOf, destroyKafka, KafkaServerSpec, kafkaRunning, startKafka } from "../../../components/local/kafkaServer";
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

        const kafka = new Kafka({ clientId: "test", brokers: [bootstrapOf(spec)], logLevel: logLevel.NOTHING });
        const producer = kafka.producer({ idempotent: true });
        await producer.connect();
        await producer.send({ topic: "events", acks: -1, messages: [{ key: "session-1", value: JSON.stringify({ event_id: "e1" }) }] });
        await producer.disconnect();
        const consumer = kafka.consumer({ groupId: "test" });
        await consumer.connect();
        await consumer.subscribe({ topic: "events", fromBeginning: true });
        const received = await new Promise<string>((resolve, reject) => {
            consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) }).catch(reject);
        });
        await consumer.disconnect();
        expect(JSON.parse(received)).toEqual({ event_id: "e1" });
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
