import type { StoredEvent } from "../shared/events";

/** ClickHouse's DateTime64(3) text in UTC, from any ISO 8601 time. */
export function clickhouseTime(iso: string): string {
    return new Date(iso).toISOString().replace("T", " ").replace("Z", "");
}

/** An event as a row of `analytics.events` (JSONEachRow). */
export function eventRow(e: StoredEvent) {
    return {
        event_id: e.event_id,
        org_id: e.org_id,
        user_id: e.user_id,
        session_id: e.session_id,
        event_type: e.event_type,
        event_category: e.event_category,
        timestamp: clickhouseTime(e.timestamp),
        region: e.region,
        environment: e.environment,
        metadata: JSON.stringify(e.metadata),
        received_at: clickhouseTime(e.received_at),
    };
}
