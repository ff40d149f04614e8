import type { ClickHouseClient } from "@clickhouse/client";

/** A partition of the events table as `system.parts` names it: `('<tenant>',<month>)`. */
const PARTITION = /^\('([a-z0-9-]+)',/;

/**
 * What each tenant's events take on disk in the cell's ClickHouse, from `system.parts` (compressed, replicas and
 * all parts counted as stored). Readings are at most `maxAgeMs` old; a stale one is refreshed in the background, so
 * a request waits for ClickHouse only the first time.
 */
export class StorageMeter {
    private bytes = new Map<string, number>();
    private measuredAt = 0;
    private measuring: Promise<void> | undefined;

    constructor(private readonly clickhouse: ClickHouseClient, private readonly maxAgeMs = 10_000, private readonly onError: (error: unknown) => void = () => undefined) {}

    async bytesOf(tenant: string): Promise<number> {
        if (Date.now() - this.measuredAt > this.maxAgeMs) {
            this.measuring ??= this.measure().catch(this.onError).finally(() => (this.measuring = undefined));
            if (this.measuredAt === 0) await this.measuring;
        }
        return this.bytes.get(tenant) ?? 0;
    }

    private async measure(): Promise<void> {
        const result = await this.clickhouse.query({
            query: "SELECT partition, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = 'analytics' AND table = 'events' AND active GROUP BY partition",
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
