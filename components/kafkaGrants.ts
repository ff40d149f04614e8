import { CONSUMER_GROUP, deadLetterTopic, EVENTS_TOPIC, STREAMING_GROUP, windowsTopic, WINDOWS_GROUP } from "../apps/shared/topics";
import type { KafkaPrincipal } from "./platform";

/** A Kafka permission of an app's principal: operations on one topic or consumer group. */
export interface KafkaGrant {
    resourceType: "topic" | "group";
    resourceName: string;
    operations: ("Read" | "Write" | "Describe")[];
}

/**
 * What each app may do on every target with Kafka ACLs (Strimzi, local cells): ingest writes events and can read
 * nothing; the consumer reads them in its group, writes what it sets aside and loads the streaming job's windows; the
 * lakehouse reads them; the streaming job reads them in its group and writes its windows and its alerts (events).
 */
export const KAFKA_GRANTS: Record<KafkaPrincipal, KafkaGrant[]> = {
    ingest: [{ resourceType: "topic", resourceName: EVENTS_TOPIC, operations: ["Write", "Describe"] }],
    consumer: [
        { resourceType: "topic", resourceName: EVENTS_TOPIC, operations: ["Read", "Describe"] },
        { resourceType: "group", resourceName: CONSUMER_GROUP, operations: ["Read", "Describe"] },
        { resourceType: "topic", resourceName: deadLetterTopic(EVENTS_TOPIC), operations: ["Write", "Describe"] },
        { resourceType: "topic", resourceName: windowsTopic(EVENTS_TOPIC), operations: ["Read", "Describe"] },
        { resourceType: "group", resourceName: WINDOWS_GROUP, operations: ["Read", "Describe"] },
    ],
    // Bronze assigns itself the partitions and keeps its offsets in the lake, so it needs no consumer group.
    lakehouse: [{ resourceType: "topic", resourceName: EVENTS_TOPIC, operations: ["Read", "Describe"] }],
    streaming: [
        { resourceType: "topic", resourceName: EVENTS_TOPIC, operations: ["Read", "Write", "Describe"] },
        { resourceType: "group", resourceName: STREAMING_GROUP, operations: ["Read", "Describe"] },
        { resourceType: "topic", resourceName: windowsTopic(EVENTS_TOPIC), operations: ["Write", "Describe"] },
    ],
};

/** Each app's Kafka user name. */
export const kafkaUserOf = (app: KafkaPrincipal) => `cellplane-${app}`;
