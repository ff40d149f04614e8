/**
 * One HTTP answer as ClickHouse's HTTP interface writes it: headers first, the result compressed when the client
 * asked (`enable_http_compression=1` and `Accept-Encoding`), and an error after the first bytes written the way a
 * server writes it into the stream (an exception block framed by the tag of `X-ClickHouse-Exception-Tag`).
 */
import { randomBytes } from "crypto";
import type * as http from "http";
import { once } from "events";
import type { Writable } from "stream";
import * as zlib from "zlib";
import { ClickHouseError, httpStatusOf } from "./errors";

const ENCODERS: Record<string, () => zlib.Gzip | zlib.Deflate | zlib.BrotliCompress | zlib.ZstdCompress> = {
    gzip: () => zlib.createGzip(),
    deflate: () => zlib.createDeflate(),
    br: () => zlib.createBrotliCompress(),
    zstd: () => zlib.createZstdCompress(),
};

/** The first encoding of `Accept-Encoding` the front can write. */
export function responseEncoding(accept: string | undefined): string | undefined {
    return (accept ?? "")
        .split(",")
        .map((part) => part.split(";")[0].trim().toLowerCase())
        .find((encoding) => encoding in ENCODERS);
}

/** The `Content-Type` ClickHouse answers a format with. */
export function contentTypeOf(format: string): string {
    if (/^(JSON\w*EachRow|JSONLines|NDJSON)$/i.test(format)) return "application/x-ndjson; charset=UTF-8";
    if (/^JSON/i.test(format)) return "application/json; charset=UTF-8";
    if (/^(TabSeparated|TSV)/i.test(format)) return "text/tab-separated-values; charset=UTF-8";
    if (/^CSV/i.test(format)) return "text/csv; charset=UTF-8; header=absent";
    return "application/octet-stream";
}

/** `X-ClickHouse-Summary` as a server sends it: counters as strings. */
export function summaryOf(counts: {
    readRows?: number;
    readBytes?: number;
    resultRows: number;
    resultBytes: number;
    elapsed?: number;
}): string {
    return JSON.stringify({
        read_rows: String(counts.readRows ?? 0),
        read_bytes: String(counts.readBytes ?? 0),
        written_rows: "0",
        written_bytes: "0",
        total_rows_to_read: String(counts.readRows ?? 0),
        result_rows: String(counts.resultRows),
        result_bytes: String(counts.resultBytes),
        elapsed_ns: String(Math.round((counts.elapsed ?? 0) * 1e9)),
    });
}

export class Reply {
    private sink: Writable | undefined;
    private readonly exceptionTag = randomBytes(8).toString("hex");

    constructor(
        private readonly res: http.ServerResponse,
        private readonly queryId: string,
        private readonly encoding: string | undefined,
    ) {}

    get started(): boolean {
        return this.sink !== undefined || this.res.headersSent;
    }

    /** Sends the headers; `length` is known when the whole result is at hand. */
    begin(headers: Record<string, string | number>, length?: number): void {
        this.open(200, { "X-ClickHouse-Exception-Tag": this.exceptionTag, ...headers }, length);
    }

    /** Status and headers, and the sink the body goes through: an encoder when the client asked for one. */
    private open(status: number, headers: Record<string, string | number>, length?: number): void {
        this.res.statusCode = status;
        this.res.setHeader("X-ClickHouse-Query-Id", this.queryId);
        for (const [name, value] of Object.entries(headers)) this.res.setHeader(name, value);
        if (this.encoding) {
            this.res.setHeader("Content-Encoding", this.encoding);
            const encoder = ENCODERS[this.encoding]();
            encoder.pipe(this.res);
            this.sink = encoder;
        } else {
            if (length !== undefined) this.res.setHeader("Content-Length", length);
            this.sink = this.res;
        }
    }

    /** An answer with no rows: a statement or an insert with nothing to insert. */
    empty(): void {
        this.begin({ "X-ClickHouse-Summary": summaryOf({ resultRows: 0, resultBytes: 0 }) }, 0);
        this.end();
    }

    /** Writes a chunk, waiting while the client is behind; fails once the client has gone. */
    async write(chunk: Uint8Array): Promise<void> {
        if (this.res.destroyed) throw new Error("the client has gone");
        if (this.sink!.write(chunk)) return;
        const gone = new AbortController();
        await Promise.race([once(this.sink!, "drain", { signal: gone.signal }), once(this.res, "close", { signal: gone.signal })]).finally(
            () => gone.abort(),
        );
        if (this.res.destroyed) throw new Error("the client has gone");
    }

    end(): void {
        this.sink!.end();
    }

    fail(error: ClickHouseError): void {
        const message = `${error.text}\n`;
        if (!this.started) {
            const headers = { "X-ClickHouse-Exception-Code": String(error.code), "Content-Type": "text/plain; charset=UTF-8" };
            this.open(httpStatusOf(error.code), headers, Buffer.byteLength(message));
            this.sink!.end(message);
            return;
        }
        const tag = this.exceptionTag;
        this.sink!.end(`\r\n__exception__\r\n${tag}\r\n${message}${Buffer.byteLength(message)} ${tag}\r\n__exception__\r\n`);
    }
}
