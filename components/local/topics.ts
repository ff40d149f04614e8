import { ConfigResourceTypes } from "@platformatic/kafka";
import type { KafkaAdmin } from "../../apps/shared/kafka";
import { kafkaAdmin, KafkaServerSpec } from "./kafkaServer";

/** A topic of the cell's events, as the apps expect it. */
export interface TopicSpec {
    topic: string;
    partitions: number;
    retentionDays: number;
}

export interface TopicState {
    exists: boolean;
    partitions?: number;
    retentionMs?: number;
}

async function withAdmin<T>(server: Pick<KafkaServerSpec, "port" | "security">, fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    const admin = kafkaAdmin(server);
    try {
        return await fn(admin);
    } finally {
        await admin.close();
    }
}

const retentionMs = (days: number) => String(days * 24 * 60 * 60 * 1000);

async function retentionOf(admin: KafkaAdmin, topic: string): Promise<string | undefined> {
    const [described] = await admin.describeConfigs({
        resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ["retention.ms"] }],
    });
    return described.configs.find((c) => c.name === "retention.ms")?.value ?? undefined;
}

/** The topic's partitions as the brokers know them now; none when it has no metadata yet. */
async function partitionsOf(admin: KafkaAdmin, topic: string): Promise<{ leader: number }[]> {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    return metadata.topics.get(topic)?.partitions ?? [];
}

export function readTopic(server: Pick<KafkaServerSpec, "port" | "security">, topic: string): Promise<TopicState> {
    return withAdmin(server, async (admin) => {
        if (!(await admin.listTopics()).includes(topic)) return { exists: false };
        return {
            exists: true,
            partitions: (await partitionsOf(admin, topic)).length,
            retentionMs: Number(await retentionOf(admin, topic)),
        };
    });
}

/**
 * Waits until every partition of a new topic has a leader. A broker that just started can answer "This server does
 * not host this topic-partition" for a moment after it created the topic.
 */
async function untilLed(admin: KafkaAdmin, topic: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
        const led = await partitionsOf(admin, topic)
            .then((partitions) => partitions.length > 0 && partitions.every((p) => p.leader >= 0))
            .catch((error: unknown) => (Date.now() < deadline ? false : Promise.reject(error)));
        if (led) return;
        if (Date.now() >= deadline) throw new Error(`topic ${topic} has no leader 15 s after it was created`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** Creates the topic, or raises its partitions and sets its retention (partitions never shrink). */
export function ensureTopic(server: Pick<KafkaServerSpec, "port" | "security">, spec: TopicSpec): Promise<void> {
    return withAdmin(server, async (admin) => {
        const retention = { name: "retention.ms", value: retentionMs(spec.retentionDays) };
        if (!(await admin.listTopics()).includes(spec.topic)) {
            await admin.createTopics({ topics: [spec.topic], partitions: spec.partitions, replicas: 1, configs: [retention] });
            await untilLed(admin, spec.topic);
            return;
        }
        if ((await partitionsOf(admin, spec.topic)).length < spec.partitions)
            await admin.createPartitions({ topics: [{ name: spec.topic, count: spec.partitions }] });
        await admin.alterConfigs({
            resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: spec.topic, configs: [retention] }],
        });
        // The broker applies a config change through the metadata log; return once it reads back.
        for (let attempt = 0; attempt < 50 && (await retentionOf(admin, spec.topic)) !== retention.value; attempt++) {
            await new Promise((r) => setTimeout(r, 100));
        }
    });
}

export function deleteTopic(server: Pick<KafkaServerSpec, "port" | "security">, topic: string): Promise<void> {
    return withAdmin(server, async (admin) => {
        if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] });
    });
}
