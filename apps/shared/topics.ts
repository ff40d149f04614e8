/** The Kafka topic a cell's accepted events go to. */
export const EVENTS_TOPIC = "events";

/** The dead-letter topic of an events topic: in the same cell's Kafka, so what is set aside never leaves the residency. */
export const deadLetterTopic = (topic: string) => `${topic}-dead-letter`;

/**
 * The streaming job's 10-second windows of an events topic (apps/lakehouse/streaming.ts), which the consumer loads into
 * ClickHouse: the job needs no ClickHouse credentials, and the cell keeps one writer of its analytics.
 */
export const windowsTopic = (topic: string) => `${topic}-windows`;

/** The consumer group that loads the windows into ClickHouse. */
export const WINDOWS_GROUP = "ingest-windows";

/** The streaming job's consumer group, whose offsets it commits at each checkpoint. */
export const STREAMING_GROUP = "cellplane-streaming";

/** How long set-aside events wait for an operator's fix and replay. */
export const DEAD_LETTER_RETENTION_DAYS = 30;

/** How long accepted events stay in Kafka for the consumer: a week of outage before anything is lost. */
export const EVENTS_RETENTION_DAYS = 7;

/** Partitions of the events topic: the most consumers of a cell that share the work. */
export const EVENTS_PARTITIONS = 3;

/** The consumer group that moves a cell's events into ClickHouse. */
export const CONSUMER_GROUP = "ingest-clickhouse";

/** The topics of a cell's events, as every target creates them. */
export const cellTopics = (topic = EVENTS_TOPIC) => [
    { topic, partitions: EVENTS_PARTITIONS, retentionDays: EVENTS_RETENTION_DAYS },
    { topic: deadLetterTopic(topic), partitions: 1, retentionDays: DEAD_LETTER_RETENTION_DAYS },
    { topic: windowsTopic(topic), partitions: 1, retentionDays: EVENTS_RETENTION_DAYS },
];
