import { v7 as uuidv7 } from "uuid";
import { AnalyticsEvent, EVENT_TYPES } from "./events";

const CATEGORY_OF: Record<AnalyticsEvent["event_type"], AnalyticsEvent["event_category"]> = {
    session_start: "usage",
    session_end: "usage",
    code_generated: "usage",
    pr_created: "usage",
    error: "performance",
    security_alert: "security",
    cost_incurred: "cost",
};

/**
 * `count` plausible events of `tenant` over the last hour: a few users' sessions, each event type of seed 002, UUIDv7
 * ids. What `cellplane send-sample` sends, so a new cell shows data in `/v1/metrics` at once.
 */
export function sampleEvents(tenant: string, region: string, count: number, now = Date.now()): AnalyticsEvent[] {
    return Array.from({ length: count }, (_, i) => {
        const type = EVENT_TYPES[i % EVENT_TYPES.length];
        const at = now - Math.floor(((count - i) / count) * 3_600_000);
        return {
            event_id: uuidv7({ msecs: at }),
            org_id: tenant,
            user_id: `user-${i % 5}`,
            session_id: `session-${Math.floor(i / 10)}`,
            event_type: type,
            event_category: CATEGORY_OF[type],
            timestamp: new Date(at).toISOString(),
            region,
            environment: "production",
            metadata: type === "cost_incurred" ? { usd: 0.02 * (1 + (i % 7)) } : { tokens: 20 + (i % 50) },
        };
    });
}
