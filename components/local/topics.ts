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

async function withAdmin<T>(
    server: Pick<KafkaServerSpec, "port" | "security">,
    fn: (admin: ReturnType<typeof kafkaAdmin>) => Promise<T>,
): Promise<T> {
    const admin = kafkaAdmin(server);
    await admin.connect();
    try {
        return await fn(admin);
    } finally {
        await admin.disconnect();
    }
}

const retentionMs = (days: number) => String(days * 24 * 60 * 60 * 1000);

async function retentionOf(admin: ReturnType<typeof kafkaAdmin>, topic: string): Promise<string | undefined> {
    const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: topic, configNames: ["retention.ms"] }],
    });
    return resources[0].configEntries.find((e) => e.configName === "retention.ms")?.configValue;
}

export function readTopic(server: Pick<KafkaServerSpec, "port" | "security">, topic: string): Promise<TopicState> {
    return withAdmin(server, async (admin) => {
        if (!(await admin.listTopics()).includes(topic)) return { exists: false };
        const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
        return { exists: true, partitions: metadata.partitions.length, retentionMs: Number(await retentionOf(admin, topic)) };
    });
}

/**
 * Waits until every partition of a new topic has a leader. A broker that just started can answer "This server does
 * not host this topic-partition" for a moment after it created the topic, which kafkajs's own wait gives up on.
 */
async function untilLed(admin: ReturnType<typeof kafkaAdmin>, topic: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
        const led = await admin
            .fetchTopicMetadata({ topics: [topic] })
            .then(({ topics }) => topics[0].partitions.every((p) => p.leader >= 0))
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
            await admin.createTopics({
                waitForLeaders: false,
                topics: [{ topic: spec.topic, numPartitions: spec.partitions, replicationFactor: 1, configEntries: [retention] }],
            });
            await untilLed(admin, spec.topic);
            return;
        }
        const [metadata] = (await admin.fetchTopicMetadata({ topics: [spec.topic] })).topics;
        if (metadata.partitions.length < spec.partitions)
            await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }] });
        await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: spec.topic, configEntries: [retention] }] });
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
