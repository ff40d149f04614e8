import { CONSUMER_GROUP, deadLetterTopic, EVENTS_TOPIC } from "../apps/shared/topics";
import type { KafkaApp } from "./platform";

/** A Kafka permission of an app's principal: operations on one topic or consumer group. */
export interface KafkaGrant {
    resourceType: "topic" | "group";
    resourceName: string;
    operations: ("Read" | "Write" | "Describe")[];
}

/**
 * What each app may do on every target with Kafka ACLs (Strimzi, local cells): ingest writes events and can read
 * nothing; the consumer reads them in its group and writes what it sets aside.
 */
export const KAFKA_GRANTS: Record<KafkaApp, KafkaGrant[]> = {
    ingest: [{ resourceType: "topic", resourceName: EVENTS_TOPIC, operations: ["Write", "Describe"] }],
    consumer: [
        { resourceType: "topic", resourceName: EVENTS_TOPIC, operations: ["Read", "Describe"] },
        { resourceType: "group", resourceName: CONSUMER_GROUP, operations: ["Read", "Describe"] },
        { resourceType: "topic", resourceName: deadLetterTopic(EVENTS_TOPIC), operations: ["Write", "Describe"] },
    ],
};

/** Each app's Kafka user name. */
export const kafkaUserOf = (app: KafkaApp) => `cellplane-${app}`;
