/** The buckets and containers a cell names itself: SeaweedFS's and Azurite's (the clouds' stores get generated names). */
export const exportsBucketOf = (cellId: string) => `${cellId}-exports`;
/** ClickHouse's cold volume. */
export const coldBucketOf = (cellId: string) => `${cellId}-analytics-cold`;
/** The lakehouse's Iceberg warehouse (`apps/lakehouse`). */
export const lakeBucketOf = (cellId: string) => `${cellId}-lake`;
