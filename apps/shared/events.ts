import { z } from "zod";

/** Seed 002 §3.1: the event types and categories every cell accepts. */
export const EVENT_TYPES = [
    "session_start",
    "session_end",
    "code_generated",
    "pr_created",
    "error",
    "security_alert",
    "cost_incurred",
] as const;
export const EVENT_CATEGORIES = ["usage", "performance", "security", "cost"] as const;

/** Most events in one request, and most bytes in its body; beyond either the answer is 413. */
export const MAX_BATCH_EVENTS = 1_000;
export const MAX_BODY_BYTES = 1024 * 1024;

/** A lone UTF-16 surrogate: JSON can carry it, but it is no Unicode text, and ClickHouse refuses it. */
const LONE_SURROGATE = /\p{Cs}/u;
const UNICODE_REASON = "must be Unicode text: it holds a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)";

const text = (max: number) =>
    z
        .string()
        .min(1)
        .max(max)
        .refine((value) => !LONE_SURROGATE.test(value), UNICODE_REASON);

/** Events are kept this long (the events table's TTL); an older event would be deleted as soon as it is stored. */
export const RETENTION_MONTHS = 36;
/** Events older than this live on the cold volume: the cell's own object storage (seed 002 §3.4.3). */
export const COLD_AFTER_MONTHS = 13;
/** How long the rollups and daily reports are kept (seed 002: aggregated data, 3 years). */
export const ROLLUP_RETENTION_YEARS = 3;
/** How far ahead of the cell's clock an event may be dated: senders' clocks drift, calendars do not. */
const MAX_CLOCK_AHEAD_MS = 86_400_000;
/** Deepest nesting of `metadata`: ClickHouse's JSON reader refuses documents nested deeper than it reads. */
const MAX_METADATA_DEPTH = 32;

/** The times an event may carry at `now`: within the table's retention, and at most a day ahead. */
export function acceptedTimeRange(now = Date.now()): { from: Date; to: Date } {
    const from = new Date(now);
    from.setUTCMonth(from.getUTCMonth() - RETENTION_MONTHS);
    from.setUTCDate(from.getUTCDate() + 1);
    return { from, to: new Date(now + MAX_CLOCK_AHEAD_MS) };
}

/** The range of this second, computed once for the thousand events a request may hold. */
let rangeNow = { second: 0, range: acceptedTimeRange() };
function currentTimeRange() {
    const second = Math.floor(Date.now() / 1000);
    if (rangeNow.second !== second) rangeNow = { second, range: acceptedTimeRange(second * 1000) };
    return rangeNow.range;
}

const timestamp = z.iso
    .datetime({ offset: true, abort: true, message: "must be an ISO 8601 date-time, e.g. 2026-11-25T10:00:00Z" })
    .superRefine((value, ctx) => {
        const { from, to } = currentTimeRange();
        const at = Date.parse(value);
        if (!(at >= from.getTime() && at <= to.getTime())) {
            ctx.addIssue({
                code: "custom",
                message: `"${value}" is outside the times a cell keeps: send a time from ${from.toISOString()} to ${to.toISOString()} (events are kept ${RETENTION_MONTHS} months, and may be dated at most a day ahead)`,
            });
        }
    });

/** Whether `value` nests objects or arrays more than `levels` deep; it never descends further than that. */
const nestedDeeperThan = (value: unknown, levels: number): boolean =>
    value !== null && typeof value === "object" && (levels === 0 || Object.values(value).some((v) => nestedDeeperThan(v, levels - 1)));

/** Whether any key or string inside `value` holds a lone surrogate. */
const holdsLoneSurrogate = (value: unknown): boolean =>
    typeof value === "string"
        ? LONE_SURROGATE.test(value)
        : value !== null &&
          typeof value === "object" &&
          Object.entries(value).some(([key, inner]) => LONE_SURROGATE.test(key) || holdsLoneSurrogate(inner));

const metadata = z
    .record(z.string(), z.unknown())
    .default({})
    .refine((value) => !nestedDeeperThan(value, MAX_METADATA_DEPTH), {
        message: `is nested more than ${MAX_METADATA_DEPTH} levels deep; flatten it`,
        abort: true,
    })
    .refine((value) => !holdsLoneSurrogate(value), UNICODE_REASON);

export const eventSchema = z.strictObject({
    event_id: z.uuid({ version: "v7", message: "must be a UUIDv7" }),
    org_id: text(64),
    user_id: text(256),
    session_id: text(256),
    event_type: z.enum(EVENT_TYPES),
    event_category: z.enum(EVENT_CATEGORIES),
    timestamp,
    region: text(64),
    environment: text(64),
    metadata,
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
