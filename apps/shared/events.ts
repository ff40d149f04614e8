import { z } from "zod";

/** Seed 002 §3.1: the event types and categories every cell accepts. */
export const EVENT_TYPES = ["session_start", "session_end", "code_generated", "pr_created", "error", "security_alert", "cost_incurred"] as const;
export const EVENT_CATEGORIES = ["usage", "performance", "security", "cost"] as const;

/** Most events in one request, and most bytes in its body; beyond either the answer is 413. */
export const MAX_BATCH_EVENTS = 1_000;
export const MAX_BODY_BYTES = 1024 * 1024;

const text = (max: number) => z.string().min(1).max(max);

export const eventSchema = z.strictObject({
    event_id: z.uuid({ version: "v7", message: "must be a UUIDv7" }),
    org_id: text(64),
    user_id: text(256),
    session_id: text(256),
    event_type: z.enum(EVENT_TYPES),
    event_category: z.enum(EVENT_CATEGORIES),
    timestamp: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time, e.g. 2026-11-25T10:00:00Z" }),
    region: text(64),
    environment: text(64),
    metadata: z.record(z.string(), z.unknown()).default({}),
});

export type AnalyticsEvent = z.output<typeof eventSchema>;

/** An event as the pipeline stores it: what the tenant sent plus the times the ingest service adds. */
export interface StoredEvent extends AnalyticsEvent {
    received_at: string;
    _processing_time: string;
}

/** One invalid event of a request: its position in the batch, the field and why. */
export interface EventProblem {
    index: number;
    field: string;
    reason: string;
}

/** Splits a batch into valid events (with their positions) and a problem per invalid field. */
export function validateEvents(items: readonly unknown[]): { valid: { index: number; event: AnalyticsEvent }[]; problems: EventProblem[] } {
    const valid: { index: number; event: AnalyticsEvent }[] = [];
    const problems: EventProblem[] = [];
    items.forEach((item, index) => {
        const result = eventSchema.safeParse(item);
        if (result.success) valid.push({ index, event: result.data });
        else problems.push(...result.error.issues.map((issue) => ({ index, field: fieldOf(issue), reason: reasonOf(issue) })));
    });
    return { valid, problems };
}

function fieldOf(issue: z.core.$ZodIssue): string {
    if (issue.code === "unrecognized_keys") return issue.keys.join(",");
    return issue.path.length > 0 ? issue.path.map(String).join(".") : "(event)";
}

function reasonOf(issue: z.core.$ZodIssue): string {
    switch (issue.code) {
        case "invalid_value":
            return `must be one of ${issue.values.join(", ")}`;
        case "invalid_type":
            return issue.input === undefined ? "is required" : `must be a ${issue.expected}`;
        case "unrecognized_keys":
            return "is not a field of an event";
        default:
            return issue.message;
    }
}
