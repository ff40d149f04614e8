import type { LakehouseSettings } from "./jobs";
import { STREAMING_GROUP, windowsTopic } from "../shared/topics";

/** Seed 002 §3.2.2: tumbling windows of this many seconds, per tenant and event type. */
export const WINDOW_SECONDS = 10;

/**
 * A tenant's window is an error-rate spike, and becomes a `security_alert` event, when it holds at least this many
 * errors and they are at least this share of its events: a few errors of a quiet tenant are noise, not a spike.
 */
export const ALERT_MIN_ERRORS = 10;
export const ALERT_ERROR_SHARE = 0.5;

/** Who the alerts name as their user: the job, not a tenant's user. */
export const ALERT_USER = "cellplane-streaming";

/** What the streaming job is given: the cell's Kafka, and what its alerts say of the cell. */
export interface StreamingSettings {
    kafka: LakehouseSettings["kafka"];
    cell: { region: string; environment: string };
}

const sqlString = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Where the job finds its Kafka user's password: an environment variable, never the script (which it prints). */
export const KAFKA_PASSWORD_ENV = "KAFKA_PASSWORD";

/**
 * The Kafka client's settings, as the connector's `properties.*` options. A SCRAM password is a reference Kafka's
 * environment config provider resolves in the client, and an Entra ID token a file the client reads, so the script
 * holds no secret.
 */
export function kafkaProperties(kafka: StreamingSettings["kafka"]): Record<string, string> {
    const sasl = kafka.sasl;
    const properties: Record<string, string> = {
        "properties.bootstrap.servers": kafka.bootstrap,
        "properties.security.protocol": `${sasl ? "SASL_" : ""}${kafka.tls ? "SSL" : "PLAINTEXT"}`,
    };
    if (kafka.caFile) {
        properties["properties.ssl.truststore.type"] = "PEM";
        properties["properties.ssl.truststore.location"] = kafka.caFile;
    }
    if (sasl?.mechanism === "SCRAM-SHA-512") {
        if (/["\\]/.test(sasl.username))
            throw new Error(
                `kafka.sasl.username: ${JSON.stringify(sasl.username)} holds a quote or backslash, which a JAAS option cannot carry; use another user.`,
            );
        properties["properties.config.providers"] = "env";
        properties["properties.config.providers.env.class"] = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";
        properties["properties.sasl.mechanism"] = sasl.mechanism;
        properties["properties.sasl.jaas.config"] =
            `org.apache.kafka.common.security.scram.ScramLoginModule required username="${sasl.username}" password="\${env:${KAFKA_PASSWORD_ENV}}";`;
    } else if (sasl?.mechanism === "AWS_MSK_IAM") {
        properties["properties.sasl.mechanism"] = sasl.mechanism;
        properties["properties.sasl.jaas.config"] = "software.amazon.msk.auth.iam.IAMLoginModule required;";
        properties["properties.sasl.client.callback.handler.class"] = "software.amazon.msk.auth.iam.IAMClientCallbackHandler";
    } else if (sasl?.mechanism === "OAUTHBEARER") {
        properties["properties.sasl.mechanism"] = sasl.mechanism;
        properties["properties.sasl.jaas.config"] = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;";
        properties["properties.sasl.login.callback.handler.class"] =
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler";
        properties["properties.sasl.oauthbearer.token.endpoint.url"] = `file://${sasl.tokenFile}`;
    }
    return properties;
}

const withClause = (options: Record<string, string>) =>
    `WITH (\n${Object.entries(options)
        .map(([key, value]) => `    ${sqlString(key)} = ${sqlString(value)}`)
        .join(",\n")}\n)`;

/** ClickHouse's DateTime64(3) text of a window bound; the session's zone is UTC. */
const windowTime = (column: string) => `DATE_FORMAT(CAST(${column} AS TIMESTAMP(3)), 'yyyy-MM-dd HH:mm:ss.SSS')`;
const isoTime = (column: string) => `DATE_FORMAT(CAST(${column} AS TIMESTAMP(3)), 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')`;

/**
 * The streaming job as one Flink SQL script, the same on every target (a local cell's Flink, a FlinkDeployment's
 * SqlDriver). Windows are of arrival (processing time), as the seed's job: events may be dated months back, and a
 * window of the last ten seconds must close when they are over, not when a late partition catches up. Offsets are
 * committed to the job's group at each checkpoint, so a restart resumes there; the events after the last checkpoint
 * are counted again, in a later window. It writes:
 * - each (tenant, type) window to the windows topic, which the consumer loads into ClickHouse;
 * - each tenant's window with an error-rate spike as a `security_alert` event on the events topic, with an id derived
 *   from (tenant, window), so the consumer stores a resent alert once.
 */
export function streamingScript(settings: StreamingSettings): string {
    const kafka = kafkaProperties(settings.kafka);
    const topic = settings.kafka.topic;
    const source = withClause({
        connector: "kafka",
        topic,
        "properties.group.id": STREAMING_GROUP,
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "latest",
        format: "json",
        // The topic is writable inside the cell: a message that is no event is skipped, not fatal.
        "json.ignore-parse-errors": "true",
        ...kafka,
    });
    const sink = (to: string) =>
        withClause({ connector: "kafka", topic: to, format: "json", "sink.delivery-guarantee": "at-least-once", ...kafka });
    const window = `TABLE(TUMBLE(TABLE events, DESCRIPTOR(arrived), INTERVAL '${WINDOW_SECONDS}' SECOND))`;
    const alertId = "MD5(CONCAT(org_id, '/', window_start_text))";
    return `SET 'pipeline.name' = 'cellplane-streaming';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '${WINDOW_SECONDS} s';

CREATE TEMPORARY TABLE events (
    org_id STRING,
    user_id STRING,
    event_type STRING,
    arrived AS PROCTIME()
) ${source};

CREATE TEMPORARY TABLE event_windows (
    org_id STRING,
    event_type STRING,
    window_start STRING,
    window_end STRING,
    events BIGINT,
    unique_users BIGINT
) ${sink(windowsTopic(topic))};

CREATE TEMPORARY TABLE alerts (
    event_id STRING,
    org_id STRING,
    user_id STRING,
    session_id STRING,
    event_type STRING,
    event_category STRING,
    \`timestamp\` STRING,
    region STRING,
    environment STRING,
    metadata ROW<events BIGINT, error_events BIGINT, error_rate DOUBLE, window_start STRING, window_end STRING>,
    received_at STRING,
    _processing_time STRING
) ${sink(topic)};

CREATE TEMPORARY VIEW tenant_windows AS
SELECT org_id, ${windowTime("window_start")} AS window_start_text, ${windowTime("window_end")} AS window_end_text,
       ${isoTime("window_end")} AS window_end_iso,
       COUNT(*) AS events, COUNT(*) FILTER (WHERE event_type = 'error') AS error_events
FROM ${window}
WHERE org_id IS NOT NULL AND event_type IS NOT NULL
GROUP BY org_id, window_start, window_end;

EXECUTE STATEMENT SET
BEGIN
INSERT INTO event_windows
SELECT org_id, event_type, ${windowTime("window_start")}, ${windowTime("window_end")}, COUNT(*), COUNT(DISTINCT user_id)
FROM ${window}
WHERE org_id IS NOT NULL AND event_type IS NOT NULL
GROUP BY org_id, event_type, window_start, window_end;
INSERT INTO alerts
SELECT CONCAT_WS('-', SUBSTRING(${alertId}, 1, 8), SUBSTRING(${alertId}, 9, 4), SUBSTRING(${alertId}, 13, 4),
                 SUBSTRING(${alertId}, 17, 4), SUBSTRING(${alertId}, 21, 12)),
       org_id, ${sqlString(ALERT_USER)}, CONCAT('window-', window_start_text), 'security_alert', 'security', window_end_iso,
       ${sqlString(settings.cell.region)}, ${sqlString(settings.cell.environment)},
       ROW(events, error_events, CAST(error_events AS DOUBLE) / events, window_start_text, window_end_text),
       window_end_iso, window_end_iso
FROM tenant_windows
WHERE error_events >= ${ALERT_MIN_ERRORS} AND error_events >= ${ALERT_ERROR_SHARE} * events;
END;
`;
}
