/** The Kafka topic a cell's accepted events go to. */
export const EVENTS_TOPIC = "events";

/** The dead-letter topic of an events topic: in the same cell's Kafka, so what is set aside never leaves the residency. */
export const deadLetterTopic = (topic: string) => `${topic}-dead-letter`;

/** How long set-aside events wait for an operator's fix and replay. */
export const DEAD_LETTER_RETENTION_DAYS = 30;
