/**
 * ClickHouse's HTTP interface in front of chdb, the ClickHouse engine as a library: one process per cell, one data
 * folder, so `@clickhouse/client` talks to a local cell exactly as to a ClickHouse server. Covered: `/ping`,
 * queries in the `query` parameter or the body (an INSERT's data after its query), server-side `param_*` binding,
 * user/password by headers, basic auth or URL, every output format of the engine (Parquet included), and errors
 * as ClickHouse reports them (HTTP 500, `X-ClickHouse-Exception-Code`), request bodies compressed with gzip,
 * deflate, brotli or zstd, and an insert's data as bytes in any input format. Not covered: sessions, URL settings
 * and progress headers.
 *
 * Run by the supervisor: `node --require tsx/cjs clickhouseFront.ts` with CLICKHOUSE_DIR, CLICKHOUSE_PORT,
 * CLICKHOUSE_USER and CLICKHOUSE_PASSWORD in the environment.
 */
import { randomUUID, timingSafeEqual } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { paramValue, placeholderTypes } from "./clickhouseParams";
import { bodyOf, insertFromFile, saveBody, textOf, UnsupportedEncoding, uploadFile } from "./clickhouseBody";
import { chdbModule } from "./tools";

interface ChdbResult {
    bytes(): Uint8Array;
    readonly rowsRead: number;
    readonly bytesRead: number;
    /** Seconds. */
    readonly elapsed: number;
}
interface ChdbSession {
    queryAsync(sql: string, opts: { format: string }): Promise<ChdbResult>;
    queryBindAsync(sql: string, params: Record<string, unknown>, opts: { format: string }): Promise<ChdbResult>;
}

const AUTHENTICATION_FAILED = 516;
const UNKNOWN_COMPRESSION_METHOD = 89;

function credentialsOf(req: http.IncomingMessage, url: URL): [string, string] {
    const basic = req.headers.authorization?.startsWith("Basic ")
        ? Buffer.from(req.headers.authorization.slice(6), "base64").toString().split(":")
        : undefined;
    const user = req.headers["x-clickhouse-user"] ?? url.searchParams.get("user") ?? basic?.[0] ?? "default";
    const password = req.headers["x-clickhouse-key"] ?? url.searchParams.get("password") ?? basic?.slice(1).join(":") ?? "";
    return [String(user), String(password)];
}

function same(a: string, b: string): boolean {
    return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export interface FrontOptions {
    /** Where the front keeps a request's body while the engine reads it. */
    uploadDir: string;
    /** The engine's time zone, which every answer names. */
    timezone: string;
}

/** The output format a query names in its last `FORMAT` clause. */
const formatOf = (sql: string) => /\bFORMAT\s+(\w+)\s*;?\s*$/i.exec(sql)?.[1];

/** The `Content-Type` ClickHouse answers a format with. */
function contentTypeOf(format: string): string {
    if (/^JSON/i.test(format)) return "application/json; charset=UTF-8";
    if (/^(TabSeparated|TSV)/i.test(format)) return "text/tab-separated-values; charset=UTF-8";
    if (/^CSV/i.test(format)) return "text/csv; charset=UTF-8; header=absent";
    return "application/octet-stream";
}

/** `X-ClickHouse-Summary` as a server sends it: counters as strings, from what the engine reports. */
function summaryOf(result: ChdbResult, resultBytes: number): string {
    return JSON.stringify({
        read_rows: String(result.rowsRead),
        read_bytes: String(result.bytesRead),
        written_rows: "0",
        written_bytes: "0",
        total_rows_to_read: String(result.rowsRead),
        result_rows: "0",
        result_bytes: String(resultBytes),
        elapsed_ns: String(Math.round(result.elapsed * 1e9)),
    });
}

export function clickhouseFront(session: ChdbSession, user: string, password: string, options: FrontOptions): http.Server {
    const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        if (url.pathname === "/ping") {
            res.end("Ok.\n");
            return;
        }
        const queryId = url.searchParams.get("query_id") ?? randomUUID();
        const fail = (status: number, code: number, message: string) => {
            res.writeHead(status, {
                "X-ClickHouse-Exception-Code": String(code),
                "X-ClickHouse-Query-Id": queryId,
                "Content-Type": "text/plain; charset=UTF-8",
            });
            res.end(`Code: ${code}. DB::Exception: ${message}\n`);
        };
        const [givenUser, givenPassword] = credentialsOf(req, url);
        if (givenUser !== user || !same(givenPassword, password)) {
            fail(
                AUTHENTICATION_FAILED,
                AUTHENTICATION_FAILED,
                `${givenUser}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`,
            );
            return;
        }
        let body;
        try {
            body = bodyOf(req);
        } catch (error) {
            if (!(error instanceof UnsupportedEncoding)) throw error;
            req.resume();
            fail(400, UNKNOWN_COMPRESSION_METHOD, error.message);
            return;
        }
        const query = url.searchParams.get("query");
        const upload = uploadFile(options.uploadDir);
        const insert = query === null ? undefined : insertFromFile(query, upload);
        let sql: string;
        if (insert !== undefined) {
            // An insert's data stays bytes (RowBinary, Native, Parquet…): the engine reads it from a file.
            if ((await saveBody(body, upload)) === 0) {
                fs.rmSync(upload, { force: true });
                res.writeHead(200, { "X-ClickHouse-Query-Id": queryId, "Content-Length": 0 });
                res.end();
                return;
            }
            sql = insert;
        } else {
            const text = await textOf(body);
            sql = query ? (text ? `${query}\n${text}` : query) : text;
        }
        try {
            const types = placeholderTypes(sql);
            const params = Object.fromEntries(
                [...url.searchParams]
                    .filter(([k]) => k.startsWith("param_"))
                    .map(([k, v]) => [k.slice("param_".length), paramValue(v, types.get(k.slice("param_".length)))]),
            );
            const format = formatOf(sql) ?? url.searchParams.get("default_format") ?? "TabSeparated";
            const result =
                Object.keys(params).length > 0
                    ? await session.queryBindAsync(sql, params, { format })
                    : await session.queryAsync(sql, { format });
            const bytes = Buffer.from(result.bytes());
            res.writeHead(200, {
                "Content-Type": contentTypeOf(format),
                "Content-Length": bytes.length,
                "X-ClickHouse-Query-Id": queryId,
                "X-ClickHouse-Format": format,
                "X-ClickHouse-Timezone": options.timezone,
                "X-ClickHouse-Summary": summaryOf(result, bytes.length),
            });
            res.end(bytes);
        } catch (error) {
            const { clickhouseCode, message } = error as { clickhouseCode?: number; message: string };
            fail(500, clickhouseCode ?? 1001, message);
        } finally {
            if (insert !== undefined) fs.rmSync(upload, { force: true });
        }
    };
    // A client that goes away mid-request rejects the body's read: that ends its response, never the process.
    return http.createServer((req, res) => void answer(req, res).catch(() => res.destroy()));
}

if (require.main === module) {
    const { CLICKHOUSE_DIR, CLICKHOUSE_PORT, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD } = process.env;
    if (!CLICKHOUSE_DIR || !CLICKHOUSE_PORT || !CLICKHOUSE_USER || !CLICKHOUSE_PASSWORD)
        throw new Error("CLICKHOUSE_DIR, CLICKHOUSE_PORT, CLICKHOUSE_USER and CLICKHOUSE_PASSWORD are required");
    // The engine lives in the bootstrap's cache, outside node_modules, so its path is only known at run time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Session } = require(chdbModule());
    // A server quotes 64-bit integers in JSON (clients expect strings there); the library does not by default.
    const session = new Session(CLICKHOUSE_DIR, { connectionArgs: ["--output_format_json_quote_64bit_integers=1"] });
    // Beside the data folder, so the server's folder holds everything it writes and destroy removes it.
    const uploadDir = path.join(path.dirname(CLICKHOUSE_DIR), "uploads");
    fs.mkdirSync(uploadDir, { recursive: true, mode: 0o700 });
    const timezone = String(session.query("SELECT timezone()", "TabSeparated")).trim();
    clickhouseFront(session, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, { uploadDir, timezone }).listen(Number(CLICKHOUSE_PORT), "127.0.0.1");
}
