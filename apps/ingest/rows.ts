/** ClickHouse's DateTime64(3) text in UTC, from any ISO 8601 time. */
export function clickhouseTime(iso: string): string {
    return new Date(iso).toISOString().replace("T", " ").replace("Z", "");
}
