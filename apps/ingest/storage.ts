import type { ClickHouseClient } from "@clickhouse/client";
import { sqlString } from "../shared/clickhouseSql";

/** A partition of the events table as `system.parts` names it: `('<tenant>',<month>)`. */
const PARTITION = /^\('([a-z0-9-]+)',/;

/**
 * What each tenant's events take on disk in the cell's ClickHouse, from `system.parts` (compressed, replicas and
 * all parts counted as stored). Readings are refreshed in the background when older than `maxAgeMs`, so a request
 * never waits for ClickHouse: until the first reading, and while ClickHouse does not answer, the last known value
 * (none: zero) counts. The quota fails open, because refusing events for a store that is down would stop ingestion
 * the consumer can catch up on later.
 */
export class StorageMeter {
    private bytes = new Map<string, number>();
    private measuredAt = 0;
    private measuring: Promise<void> | undefined;

    constructor(
        private readonly clickhouse: ClickHouseClient,
        private readonly maxAgeMs = 10_000,
        private readonly onError: (error: unknown) => void = () => undefined,
        /** On a cluster the events are in `events_local` of each shard: one replica of each is read. */
        private readonly cluster?: string,
    ) {}

    bytesOf(tenant: string): number {
        if (Date.now() - this.measuredAt > this.maxAgeMs)
            this.measuring ??= this.measure()
                .catch(this.onError)
                .finally(() => (this.measuring = undefined));
        return this.bytes.get(tenant) ?? 0;
    }

    private async measure(): Promise<void> {
        const result = await this.clickhouse.query({
            query: this.cluster
                ? `SELECT partition, sum(bytes_on_disk) AS bytes FROM cluster(${sqlString(this.cluster)}, system.parts) WHERE database = 'analytics' AND table = 'events_local' AND active GROUP BY partition`
                : "SELECT partition, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = 'analytics' AND table = 'events' AND active GROUP BY partition",
            format: "JSONEachRow",
        });
        const bytes = new Map<string, number>();
        for (const row of await result.json<{ partition: string; bytes: string }>()) {
            const tenant = PARTITION.exec(row.partition)?.[1];
            if (tenant) bytes.set(tenant, (bytes.get(tenant) ?? 0) + Number(row.bytes));
        }
        this.bytes = bytes;
        this.measuredAt = Date.now();
    }
}
