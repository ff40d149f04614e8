import { ClickHouseClient, ClickHouseError } from "@clickhouse/client";
import { Readable } from "stream";
import type { DeadLetter, EventMessage } from "./eventMessages";

/**
 * Most (tenant, UTC month) groups one insert writes. ClickHouse's `max_partitions_per_insert_block` refuses more
 * than 100 partitions, and the table's months are the server's, so a UTC month can touch two of them.
 */
const PARTITIONS_PER_INSERT = 50;
/** Most ids one duplicate check sends: 37 bytes each, its query text stays under ClickHouse's 256 KiB `max_query_size`. */
const IDS_PER_CHECK = 6_000;

interface StoreOutcome {
    stored: EventMessage[];
    duplicates: number;
    deadLetters: DeadLetter[];
}

/**
 * Stores what ClickHouse does not hold yet, keyed on (tenant, event id). An insert ClickHouse refuses while it is
 * healthy is split until the events it refuses are alone; those become dead letters and the rest is stored. An
 * insert that fails because ClickHouse is unwell throws, so Kafka redelivers the batch later.
 */
export class EventStore {
    constructor(
        private readonly clickhouse: ClickHouseClient,
        private readonly table = "analytics.events",
        private readonly idIndex = "analytics.event_ids",
    ) {}

    async store(events: readonly EventMessage[], beforeInsert: () => Promise<void> = async () => undefined): Promise<StoreOutcome> {
        const unique = [...new Map(events.map((e) => [keyOf(e), e])).values()];
        const outcome: StoreOutcome = { stored: [], duplicates: events.length - unique.length, deadLetters: [] };
        for (const chunk of partitionChunks(unique)) {
            await beforeInsert();
            await this.storeChunk(chunk, outcome);
        }
        return outcome;
    }

    private async storeChunk(chunk: readonly EventMessage[], outcome: StoreOutcome): Promise<void> {
        const stored = await this.storedKeys(chunk);
        const fresh = chunk.filter((e) => !stored.has(keyOf(e)));
        outcome.duplicates += chunk.length - fresh.length;
        if (fresh.length === 0) return;
        try {
            await this.insert(fresh.map((e) => e.value));
            outcome.stored.push(...fresh);
        } catch (error) {
            if (!(await this.clickhouse.ping()).success) throw error;
            // A healthy ClickHouse that timed out may manage a smaller insert; other passing trouble is retried whole.
            const timedOut = !(error instanceof ClickHouseError) && /timeout/i.test((error as Error).message);
            if (mayPassLater(error) && !(timedOut && fresh.length > 1)) throw error;
            if (fresh.length === 1) {
                outcome.deadLetters.push({
                    source: fresh[0].source,
                    reason: "refused_by_clickhouse",
                    detail: (error as Error).message.slice(0, 2_000),
                });
                return;
            }
            const half = Math.ceil(fresh.length / 2);
            // Part of a refused insert may have landed, so each half checks for stored events again.
            await this.storeChunk(fresh.slice(0, half), outcome);
            await this.storeChunk(fresh.slice(half), outcome);
        }
    }

    /** Inserts events as they are in Kafka: JSON documents with ISO times and a `metadata` object, read by ClickHouse into the table's columns. */
    async insert(documents: readonly Buffer[]): Promise<void> {
        const { stream } = await this.clickhouse.exec({
            query: `INSERT INTO ${this.table}
                    SETTINGS date_time_input_format = 'best_effort', input_format_json_read_objects_as_strings = 1, input_format_skip_unknown_fields = 1
                    FORMAT JSONEachRow`,
            values: Readable.from([Buffer.concat(documents.flatMap((d) => [d, NEWLINE]))]),
        });
        for await (const _ of stream);
    }

    /**
     * The (tenant, id) keys of `events` already stored, looked up in the id index (`analytics.event_ids`, ordered by
     * tenant and id): the cost follows the number of events, never the time span they cover.
     */
    private async storedKeys(events: readonly EventMessage[]): Promise<Set<string>> {
        const found = new Set<string>();
        for (const [org, ofOrg] of groupBy(events, (e) => e.org)) {
            const ids = ofOrg.map((e) => e.id);
            for (let i = 0; i < ids.length; i += IDS_PER_CHECK) {
                // One string literal split by ClickHouse: parsing a list of 5,000 literals costs it four times as much.
                const result = await this.clickhouse.query({
                    query: `SELECT toString(event_id) AS id FROM ${this.idIndex}
                            WHERE org_id = {org:String} AND event_id IN (SELECT toUUID(arrayJoin(splitByChar(',', '${ids.slice(i, i + IDS_PER_CHECK).join(",")}'))))`,
                    query_params: { org },
                    format: "JSONEachRow",
                });
                for (const row of await result.json<{ id: string }>()) found.add(`${org}/${row.id}`);
            }
        }
        return found;
    }
}

const NEWLINE = Buffer.from("\n");

/**
 * ClickHouse's answers that say nothing about the events: overload, timeouts, read-only replicas. The same insert
 * may pass later, so the batch is retried whole rather than split.
 */
const TRANSIENT_CODES = new Set([
    "159", // TIMEOUT_EXCEEDED
    "202", // TOO_MANY_SIMULTANEOUS_QUERIES
    "241", // MEMORY_LIMIT_EXCEEDED
    "242", // TABLE_IS_READ_ONLY
    "252", // TOO_MANY_PARTS: merges have not caught up
    "319", // UNKNOWN_STATUS_OF_INSERT
    "425", // SYSTEM_ERROR
]);

function mayPassLater(error: unknown): boolean {
    const code = (error as { code?: unknown }).code;
    return !(error instanceof ClickHouseError) || (typeof code === "string" && TRANSIENT_CODES.has(code));
}

const keyOf = (e: Pick<EventMessage, "org" | "id">) => `${e.org}/${e.id.toLowerCase()}`;

/** The (tenant, month) partition of the events table an event lands in. */
const partitionOf = (e: EventMessage) => `${e.org}/${new Date(e.at).toISOString().slice(0, 7)}`;

/** Splits events into inserts of at most PARTITIONS_PER_INSERT partitions each, keeping each partition's events together. */
function partitionChunks(events: readonly EventMessage[]): EventMessage[][] {
    const groups = [...groupBy(events, partitionOf).values()];
    const chunks: EventMessage[][] = [];
    for (let i = 0; i < groups.length; i += PARTITIONS_PER_INSERT) chunks.push(groups.slice(i, i + PARTITIONS_PER_INSERT).flat());
    return chunks;
}

/** `items` grouped by `groupOf`, each group in the items' order. */
function groupBy<T>(items: readonly T[], groupOf: (item: T) => string): Map<string, T[]> {
    const groups = new Map<string, T[]>();
    for (const item of items) {
        const group = groups.get(groupOf(item));
        if (group) group.push(item);
        else groups.set(groupOf(item), [item]);
    }
    return groups;
}
