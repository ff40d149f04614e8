import type { ClickHouseClient } from "@clickhouse/client";
import { sqlString } from "../shared/clickhouseSql";
import { v5 as uuidv5 } from "uuid";
import type { ObjectStoreConnection } from "../../model/connections";

/** The cell's object store as ClickHouse reaches it, with its secret (the S3 secret key or the account key) where it has one. */
export interface ExportBucket {
    store: ObjectStoreConnection;
    secret?: string;
}

/** Where ClickHouse's `postgresql` table function reaches the cell's Postgres. */
export interface PostgresSource {
    address: string;
    database: string;
    user: string;
    password: string;
}

/** One object of a tenant, exported for a range of days (inclusive, `YYYY-MM-DD`). */
export interface ObjectExport {
    tenant: string;
    object: string;
    from: string;
    to: string;
    /** Names the files: the same key, object and day always give the same file, so a rerun replaces it. */
    runKey: string;
    /** ClickHouse stops each of the run's queries after this long (`max_execution_time`): a run never hangs its runner. */
    timeLimitSeconds: number;
}

export interface ExportResult {
    rows: number;
    /** Object keys in the bucket, one per day with rows, with their sizes as the store reports them. */
    files: { key: string; bytes: number }[];
}

/** JSON values of one key that share a type become a typed column; mixed or nested values stay JSON text. */
const COLUMN_TYPES: Record<string, string> = {
    Int64: "Nullable(Int64)",
    UInt64: "Nullable(Int64)",
    Double: "Nullable(Float64)",
    Bool: "Nullable(Bool)",
    String: "Nullable(String)",
};
/** Keys beyond these stay only in the raw JSON column, so one tenant's odd documents cannot widen files without end. */
const MAX_ATTRIBUTE_COLUMNS = 256;
/** The UUIDv5 namespace of export file names: a name depends only on the run key and the object. */
const FILE_NAMESPACE = "6f1d4e4a-3c58-4f3e-9a7e-2f0c1b8d5a10";

/** The one prefix a tenant's files live under, in the cell's store. */
export const tenantPrefix = (tenant: string) => `tenant=${tenant}/`;

const fileKey = (e: Pick<ObjectExport, "tenant" | "object" | "runKey">, day: string) =>
    `${tenantPrefix(e.tenant)}object=${e.object}/date=${day}/${uuidv5(`${e.runKey}/${e.object}`, FILE_NAMESPACE)}.parquet`;

/** The table function of a file in the store; without keys, ClickHouse signs with the identity of its pod. */
function storeFunction({ store, secret = "" }: ExportBucket, key: string): string {
    const args =
        store.protocol === "s3"
            ? [
                  `${store.endpoint.replace(/\/$/, "")}/${store.bucket}/${key}`,
                  ...(store.credentials.from === "keys" ? [store.credentials.accessKeyId, secret] : []),
              ]
            : [store.endpoint, store.container, key, ...(store.credentials.from === "key" ? [store.account, secret] : [])];
    const name = store.protocol === "s3" ? "s3" : "azureBlobStorage";
    return `${name}(${[...args, "Parquet"].map(sqlString).join(", ")})`;
}

/** A key of a JSON column and the JSON types its values have had. */
interface JsonKey {
    key: string;
    types: string[];
}

/** A selectable source: the rows of one tenant's object, its JSON columns and their keys, and the day of each row. */
interface Source {
    from: string;
    where: string;
    params: Record<string, string>;
    json: { column: string; keys: () => Promise<JsonKey[]> }[];
    day: string;
}

/** How the `attr_*` columns are read: one tuple per JSON column (parsed once per row), then its elements. */
interface Attributes {
    /** Extra columns of the inner SELECT: `_attrs_<j>`, each JSON column parsed into a named tuple. */
    tuples: string[];
    /** The names of those tuples, left out of the files. */
    hidden: string[];
    /** Columns of the outer SELECT: `attr_<key>`, from the tuples, or the raw JSON of keys of mixed types. */
    columns: string[];
}

/** Backquoted for a ClickHouse type name; the type string travels as a bound parameter. */
const typeIdentifier = (name: string) => `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;

/** `attr_*` columns for the keys of the source's JSON columns (seed 000 §2.2). */
async function attributeColumns(source: Source): Promise<Attributes> {
    const attributes: Attributes = { tuples: [], hidden: [], columns: [] };
    const names = new Set<string>();
    for (const [j, { column, keys }] of source.json.entries()) {
        const doc = `ifNull(${column}, '{}')`;
        const typed: string[] = [];
        for (const [k, { key, types }] of (await keys()).slice(0, MAX_ATTRIBUTE_COLUMNS).entries()) {
            const known = types.filter((t) => t !== "Null");
            const numeric = known.every((t) => t === "Int64" || t === "UInt64" || t === "Double");
            const type = known.length === 1 ? COLUMN_TYPES[known[0]] : numeric && known.length > 0 ? COLUMN_TYPES.Double : undefined;
            let name = `attr_${key.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
            while (names.has(name)) name += "_";
            names.add(name);
            if (type) {
                typed.push(`${typeIdentifier(key)} ${type}`);
                attributes.columns.push(`tupleElement(_attrs_${j}, ${typed.length}) AS ${name}`);
            } else {
                source.params[`key_${j}_${k}`] = key;
                attributes.columns.push(`nullIf(JSONExtractRaw(${doc}, {key_${j}_${k}:String}), '') AS ${name}`);
            }
        }
        if (typed.length > 0) {
            source.params[`attrs_${j}`] = `Tuple(${typed.join(", ")})`;
            attributes.tuples.push(`JSONExtract(${doc}, {attrs_${j}:String}) AS _attrs_${j}`);
            attributes.hidden.push(`_attrs_${j}`);
        }
    }
    return attributes;
}

/** The keys of a JSON column among the source's rows, found by reading them all. */
function scannedKeys(clickhouse: ClickHouseClient, source: Pick<Source, "from" | "where" | "params">, column: string) {
    return async (): Promise<JsonKey[]> => {
        const result = await clickhouse.query({
            query: `SELECT key, groupUniqArray(JSONType(doc, key)) AS types
                    FROM (SELECT ifNull(${column}, '{}') AS doc, arrayJoin(JSONExtractKeys(doc)) AS key FROM ${source.from} WHERE ${source.where})
                    GROUP BY key ORDER BY key`,
            query_params: source.params,
            format: "JSONEachRow",
        });
        return result.json<JsonKey>();
    };
}

/** Writes the source's rows as one Parquet file per day, produced and uploaded by ClickHouse itself (streamed, multipart). */
async function writeDays(clickhouse: ClickHouseClient, bucket: ExportBucket, e: ObjectExport, source: Source): Promise<ExportResult> {
    const days = await clickhouse.query({
        query: `SELECT DISTINCT toString(${source.day}) AS day FROM ${source.from} WHERE ${source.where} ORDER BY day`,
        query_params: source.params,
        format: "JSONEachRow",
        clickhouse_settings: { max_execution_time: e.timeLimitSeconds },
    });
    const files = (await days.json<{ day: string }>()).map(({ day }) => fileKey(e, day));
    if (files.length === 0) return { rows: 0, files: [] };
    const { tuples, hidden, columns } = await attributeColumns(source);
    const except = hidden.length > 0 ? ` EXCEPT (${hidden.join(", ")})` : "";
    await clickhouse.command({
        query: `INSERT INTO FUNCTION ${storeFunction(bucket, fileKey(e, "{_partition_id}"))} PARTITION BY ${source.day}
                SELECT ${[`*${except}`, ...columns].join(", ")}
                FROM (SELECT ${["*", ...tuples].join(", ")} FROM ${source.from} WHERE ${source.where})
                SETTINGS ${bucket.store.protocol === "s3" ? "s3" : "azure"}_truncate_on_insert = 1`,
        query_params: source.params,
        clickhouse_settings: { max_execution_time: e.timeLimitSeconds },
    });
    // Read back as written: the rows of every file and each one's size (`_path` is `<bucket>/<key>`).
    const written = await clickhouse.query({
        query: `SELECT _path AS path, toUInt64(any(_size)) AS bytes, count() AS rows
                FROM ${storeFunction(bucket, `{${files.map((f) => sqlString(f).slice(1, -1)).join(",")}}`)} GROUP BY path`,
        format: "JSONEachRow",
        clickhouse_settings: { max_execution_time: e.timeLimitSeconds },
    });
    const read = await written.json<{ path: string; bytes: string; rows: string }>();
    const sizeOf = (key: string) => Number(read.find((r) => r.path.endsWith(`/${key}`))?.bytes ?? 0);
    return { rows: read.reduce((n, r) => n + Number(r.rows), 0), files: files.map((key) => ({ key, bytes: sizeOf(key) })) };
}

/**
 * The tenant's events of the range, `metadata` flattened into `attr_*` columns typed from the tenant's key
 * catalog (`analytics.metadata_keys`), so every export of the tenant has the same columns.
 */
export function exportEvents(clickhouse: ClickHouseClient, bucket: ExportBucket, e: ObjectExport): Promise<ExportResult> {
    const catalog = async () => {
        const result = await clickhouse.query({
            query: "SELECT key, groupUniqArrayArray(types) AS types FROM analytics.metadata_keys WHERE org_id = {tenant:String} GROUP BY key ORDER BY key",
            query_params: { tenant: e.tenant },
            format: "JSONEachRow",
        });
        return result.json<JsonKey>();
    };
    return writeDays(clickhouse, bucket, e, {
        from: "analytics.events",
        where: "org_id = {tenant:String} AND _partition_date BETWEEN {from:Date} AND {to:Date}",
        params: { tenant: e.tenant, from: e.from, to: e.to },
        json: [{ column: "metadata", keys: catalog }],
        day: "_partition_date",
    });
}

/**
 * The tenant's rows of a Postgres table (`schema.table`, with a `tenant_id` column), read by ClickHouse, as a
 * snapshot dated the range's last day. Its `json`/`jsonb` columns are flattened into `attr_*` columns.
 */
export function exportTable(
    clickhouse: ClickHouseClient,
    bucket: ExportBucket,
    postgres: PostgresSource,
    e: ObjectExport,
    jsonColumns: string[],
): Promise<ExportResult> {
    const [schema, table] = e.object.split(".");
    const source = {
        from: `postgresql(${[postgres.address, postgres.database, table, postgres.user, postgres.password, schema].map(sqlString).join(", ")})`,
        where: "tenant_id = {tenant:String}",
        params: { tenant: e.tenant },
    };
    return writeDays(clickhouse, bucket, e, {
        ...source,
        json: jsonColumns.map((column) => ({ column, keys: scannedKeys(clickhouse, source, column) })),
        // A literal: ClickHouse does not bind parameters in PARTITION BY. `to` is a checked YYYY-MM-DD day.
        day: `toDate(${sqlString(e.to)})`,
    });
}
