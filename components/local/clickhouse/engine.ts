/**
 * The ClickHouse engine (chdb) as the front uses it: one connection per request or session over one data folder, every
 * query either streamed (results pulled chunk by chunk, so a slow client holds the engine back instead of filling
 * memory) or, for statements the engine cannot stream (DDL, INSERT, SHOW…), run in one piece. Every query can be
 * killed from outside, which is how a client that goes away stops what it started.
 */
import { randomUUID } from "crypto";
import { ClickHouseError } from "./errors";

export interface ChdbResult {
    bytes(): Uint8Array;
    readonly rowsRead: number;
    readonly bytesRead: number;
    /** Seconds. */
    readonly elapsed: number;
}
interface ChdbChunk {
    raw(): Uint8Array;
    readonly numRows: number;
}
interface ChdbStream extends AsyncIterable<ChdbChunk> {
    cancel(): void;
}
export interface ChdbConnection {
    query(sql: string, format: string): string;
    queryBind(sql: string, params: Record<string, unknown>, format: string): string;
    queryAsync(sql: string, opts: { format: string }): Promise<ChdbResult>;
    queryBindAsync(sql: string, params: Record<string, unknown>, opts: { format: string }): Promise<ChdbResult>;
    queryStream(sql: string, opts: { format: string }): ChdbStream;
    queryStreamBind(sql: string, params: Record<string, unknown>, opts: { format: string }): ChdbStream;
    close(): void;
}
export interface ChdbModule {
    Session: new (path: string, opts?: { connectionArgs?: string[] }) => ChdbConnection;
}

/** Settings every connection starts with; a request's URL settings or a session's `SET` change them for itself. */
export type Settings = Record<string, string | number>;

/** What a query produced: chunks as the engine streams them, or a whole result at once. */
export type Output =
    { kind: "stream"; chunks: AsyncIterable<Uint8Array>; rows(): number } | { kind: "whole"; bytes: Uint8Array; result: ChdbResult };

const STREAM_UNSUPPORTED = /Streaming query is not supported/;

/**
 * Output formats whose chunks, formatted one by one, are the whole answer's bytes (row formats without a header or
 * a footer). The engine formats each streamed chunk on its own, so any other format (JSON, Parquet, `…WithNames`) is
 * built whole.
 */
const STREAMABLE = new Set(
    [
        "TabSeparated",
        "TSV",
        "TabSeparatedRaw",
        "TSVRaw",
        "CSV",
        "JSONEachRow",
        "JSONStringsEachRow",
        "JSONCompactEachRow",
        "JSONCompactStringsEachRow",
        "JSONLines",
        "NDJSON",
        "RowBinary",
        "TSKV",
        "CustomSeparated",
        "LineAsString",
        "Raw",
        "Native",
    ].map((format) => format.toLowerCase()),
);

export const streamable = (format: string) => STREAMABLE.has(format.toLowerCase());

/** A running query, which `kill` stops wherever it is (fetching a chunk or running in one piece). */
export interface Running {
    output: Promise<Output>;
    kill(): void;
}

/** The engine's error as ClickHouse reports it: code and message. */
export const asError = (error: unknown) => {
    const { clickhouseCode, message } = error as { clickhouseCode?: number; message: string };
    const text = message.replace(/^Query failed: /, "").replace(/^Code: \d+\. DB::Exception: /, "");
    // A stream's error keeps the engine's code in its message only.
    const code = clickhouseCode ?? Number(/Code: (\d+)\./.exec(message)?.[1] ?? 1001);
    return new ClickHouseError(code, text.replace(/ \(version [^)]*\)\.?$/, ""));
};

export class Engine {
    private readonly control: ChdbConnection;

    constructor(
        private readonly chdb: ChdbModule,
        private readonly dataDir: string,
        private readonly settings: Settings,
        /** The server's configuration (its storage policies), as a ClickHouse server reads its `config.d`. */
        private readonly configFile?: string,
    ) {
        this.control = this.connect();
    }

    /** A connection of its own: its `SET`s, `USE` and temporary tables are nobody else's. */
    connect(): ChdbConnection {
        const args = Object.entries(this.settings).map(([name, value]) => `--${name}=${value}`);
        if (this.configFile) args.push(`--config-file=${this.configFile}`);
        return new this.chdb.Session(this.dataDir, { connectionArgs: args });
    }

    /** A query of the front itself (on its own connection), answered as text. */
    ask(sql: string, params: Record<string, unknown> = {}): string {
        try {
            return Object.keys(params).length > 0
                ? this.control.queryBind(sql, params, "TabSeparated")
                : this.control.query(sql, "TabSeparated");
        } catch (error) {
            throw asError(error);
        }
    }

    /**
     * Starts `sql` on `connection`. The query carries a marker comment, so that the engine's process list can name it
     * when it has to be killed.
     */
    start(connection: ChdbConnection, sql: string, params: Record<string, unknown>, format: string): Running {
        const marker = `cellplane-query-${randomUUID()}`;
        const marked = `/* ${marker} */ ${sql}`;
        const bound = Object.keys(params).length > 0;
        let stream: ChdbStream | undefined;
        try {
            if (streamable(format))
                stream = bound ? connection.queryStreamBind(marked, params, { format }) : connection.queryStream(marked, { format });
        } catch (error) {
            if (!STREAM_UNSUPPORTED.test((error as Error).message))
                return { output: Promise.reject(asError(error)), kill: () => undefined };
        }
        const kill = () => {
            // A chunk being computed holds the stream until it is done: the engine's own KILL ends it now.
            this.ask(`KILL QUERY WHERE query LIKE '/* ${marker} */%' ASYNC FORMAT Null`);
            stream?.cancel();
        };
        if (stream) return { output: Promise.resolve(streamed(stream)), kill };
        const result = bound ? connection.queryBindAsync(marked, params, { format }) : connection.queryAsync(marked, { format });
        return {
            output: result.then(
                (r) => ({ kind: "whole", bytes: r.bytes(), result: r }),
                (error: unknown) => Promise.reject(asError(error)),
            ),
            kill,
        };
    }
}

function streamed(stream: ChdbStream): Output {
    let rows = 0;
    async function* chunks() {
        try {
            for await (const chunk of stream) {
                rows += chunk.numRows;
                yield chunk.raw();
            }
        } catch (error) {
            throw asError(error);
        }
    }
    return { kind: "stream", chunks: chunks(), rows: () => rows };
}
