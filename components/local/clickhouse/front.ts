/**
 * ClickHouse's HTTP interface in front of chdb, the ClickHouse engine as a library: one process per cell, one data
 * folder, so `@clickhouse/client` talks to a local cell exactly as to a ClickHouse server. The README's "The local
 * ClickHouse" lists what it covers and what it refuses.
 *
 * Run by the supervisor: `node --require tsx/cjs front.ts` with CLICKHOUSE_DIR, CLICKHOUSE_PORT and
 * CLICKHOUSE_USERS_FILE in the environment, and CLICKHOUSE_RUN_AS naming the system user to drop to when root.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import type { Readable } from "stream";
import { activeRoles, authenticate, type FrontUser, sessionValues, Vetting, withSessionFunctions } from "./access";
import { ACCESS_STATEMENT, Accounts } from "./accounts";
import { bodyOf, insertFromFile, saveBody, splitInlineData, textOf, UnsupportedEncoding, uploadFile } from "./body";
import { asError, type ChdbModule, Engine, type Output, type Settings, streamable } from "./engine";
import { ClickHouseError, CODES } from "./errors";
import { paramValue, placeholderTypes } from "./params";
import { prometheusText } from "./prometheus";
import { contentTypeOf, Reply, responseEncoding, summaryOf } from "./reply";
import { credentialsOf, formFields, type FrontRequest, requestOf } from "./request";
import { sqlIdentifier, sqlString } from "../../../apps/shared/clickhouseSql";
import { chdbModule } from "../tools";
import { type Lease, Sessions } from "./sessions";

export interface FrontOptions {
    /** The cell's own users: its admin and its apps. */
    users: FrontUser[];
    /** Users and roles created through SQL. */
    accounts: Accounts;
    /** Where the front keeps a request's body while the engine reads it. */
    uploadDir: string;
    /** The engine's time zone, which every answer names. */
    timezone: string;
}

/** Limits every query starts with, as a server's default profile would set them; URL settings change them per query. */
const QUERY_LIMITS: Settings = {
    max_execution_time: 3600,
    max_memory_usage: 4 * 1024 ** 3,
    max_result_rows: 1_000_000_000,
};

/** How a server answers: 64-bit integers quoted in JSON, and no bare expressions as queries. */
const SERVER_DEFAULTS: Settings = { output_format_json_quote_64bit_integers: 1, implicit_select: 0 };

/**
 * A result the engine builds whole (JSON, Parquet…) is held in memory: it ends at this many bytes unless the request
 * sets `max_result_bytes` itself. Row formats (JSONEachRow, TSV…) stream and have no such cap.
 */
const WHOLE_RESULT_BYTES = 512 * 1024 ** 2;

/** Errors after which the engine's connection may answer the next query with the rest of this one's result. */
const CONNECTION_SPOILING = new Set<number>([CODES.MEMORY_LIMIT_EXCEEDED, CODES.TOO_MANY_ROWS_OR_BYTES]);

/** A `wait_end_of_query` answer is held in memory up to this size, then streamed (as a server spills to disk). */
const WAIT_BUFFER_BYTES = 64 * 1024 ** 2;

/** The output format a query names in its last `FORMAT` clause. */
const formatOf = (sql: string) => /\bFORMAT\s+(\w+)\s*;?\s*$/i.exec(sql)?.[1];

/** The format of the answer: an insert's `FORMAT` names its input. */
const outputFormatOf = (sql: string, request: FrontRequest) =>
    (/^\s*INSERT\b/i.test(sql) ? undefined : formatOf(sql)) ?? request.defaultFormat ?? "TabSeparated";

/**
 * Queries that only read, which a client that goes away kills. A write runs to its end, as on a server
 * (`cancel_http_readonly_queries_on_client_close`): an insert cut between its table and its materialized views
 * would leave the views short of rows the table holds.
 */
const READ_ONLY = /^\(*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN)\b/;

/** How the engine prints an insert that carries its data in the query text. */
const INLINE_INSERT = /^INSERT INTO\b.*\bFORMAT \w+$/;

/** A statement ready for the engine: its parameters bound to values, its answer's format. */
interface Prepared {
    sql: string;
    params: Record<string, unknown>;
    format: string;
    readOnly: boolean;
}

/**
 * The statement to run: read by the engine's parser as one statement (`formatted`), or an insert and its data (the
 * body, or the rest of the query), which is read again once it names the file holding its data.
 */
type Statement = { sql: string; formatted: string } | { sql: string; data: Readable | string };

export class Front {
    private readonly sessions: Sessions;
    private readonly running = new Set<string>();

    constructor(
        private readonly engine: Engine,
        private readonly vetting: Vetting,
        private readonly options: FrontOptions,
    ) {
        this.sessions = new Sessions(engine);
    }

    /** Over HTTPS when given a certificate (as ClickHouse Cloud and the cells' clients expect), else plain HTTP. */
    server(tls?: { cert: string; key: string }): http.Server | https.Server {
        // No client action ends the process: whatever a request does wrong ends that request.
        const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.answer(req, res).catch(() => res.destroy());
        return tls ? https.createServer({ ...tls, minVersion: "TLSv1.2" }, handler) : http.createServer(handler);
    }

    private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        if (url.pathname === "/ping" || (req.method === "GET" && url.pathname === "/" && url.search === "")) {
            res.end("Ok.\n");
            return;
        }
        if (req.method === "GET" && url.pathname === "/metrics") {
            res.setHeader("Content-Type", "text/plain; version=0.0.4");
            res.end(prometheusText(this.engine));
            return;
        }
        let reply = new Reply(res, url.searchParams.get("query_id") ?? "", undefined);
        try {
            const [name, password] = credentialsOf(req, url);
            const user = authenticate(this.options.users.find((u) => u.name === name) ?? this.options.accounts.user(name), name, password);
            const request = requestOf(url);
            const compress = request.settings.enable_http_compression === "1";
            reply = new Reply(res, request.queryId, compress ? responseEncoding(req.headers["accept-encoding"]) : undefined);
            await this.run(user, request, req, res, reply);
        } catch (error) {
            req.resume();
            reply.fail(error instanceof ClickHouseError ? error : new ClickHouseError(CODES.STD_EXCEPTION, (error as Error).message));
        }
    }

    private async run(user: FrontUser, request: FrontRequest, req: http.IncomingMessage, res: http.ServerResponse, reply: Reply) {
        if (this.running.has(request.queryId)) {
            throw new ClickHouseError(CODES.QUERY_WITH_SAME_ID_IS_RUNNING, `Query with id = ${request.queryId} is already running.`);
        }
        this.running.add(request.queryId);
        let lease: Lease | undefined;
        let upload: string | undefined;
        let spoiled = false;
        try {
            const statement = await this.statementOf(request, req);
            if (user.admin && ACCESS_STATEMENT.test(statement.sql)) {
                this.options.accounts.manage(statement.sql);
                reply.empty();
                return;
            }
            upload = "data" in statement ? uploadFile(this.options.uploadDir) : undefined;
            const query = this.prepare(user, statement, request, upload);
            const settings = streamable(query.format)
                ? request.settings
                : { max_result_bytes: String(WHOLE_RESULT_BYTES), ...request.settings };
            lease = this.sessions.lease(user.name, request.session);
            const restore = this.configure(lease, user, { ...request, settings });
            try {
                if ("data" in statement && (await saveBody(statement.data, upload!)) === 0) {
                    reply.empty();
                    return;
                }
                await this.execute(lease, query, request, res, reply);
            } catch (error) {
                spoiled = error instanceof ClickHouseError && CONNECTION_SPOILING.has(error.code);
                throw error;
            } finally {
                if (!spoiled) restore();
            }
        } finally {
            lease?.release(spoiled);
            if (upload) fs.rmSync(upload, { force: true });
            this.running.delete(request.queryId);
        }
    }

    /** Runs the query and answers with its result; a client that goes away kills it if it only reads. */
    private async execute(lease: Lease, query: Prepared, request: FrontRequest, res: http.ServerResponse, reply: Reply) {
        const running = this.engine.start(lease.connection, query.sql, query.params, query.format);
        const kill = () => {
            if (!res.writableFinished && query.readOnly) running.kill();
        };
        res.once("close", kill);
        try {
            await this.send(await running.output, query.format, request, reply);
        } finally {
            res.off("close", kill);
        }
    }

    /** The query to run, once it reads as one statement the user may run. */
    private prepare(user: FrontUser, statement: Statement, request: FrontRequest, upload: string | undefined): Prepared {
        const roles = activeRoles(user, request.roles);
        const sql = upload ? insertFromFile(statement.sql, upload)! : statement.sql;
        const formatted = "formatted" in statement ? statement.formatted : this.assertInsertFrom(sql, upload!);
        const types = placeholderTypes(sql);
        const params = {
            ...Object.fromEntries(Object.entries(request.params).map(([name, text]) => [name, paramValue(text, types.get(name))])),
            ...sessionValues(sql, user, roles),
        };
        if (!user.admin) {
            const granted = user.grants && {
                grants: this.options.accounts.grantsOf(user, roles),
                database: request.database ?? user.defaultDatabase ?? "default",
            };
            this.vetting.vet(user, this.engine.ask(`EXPLAIN AST ${sql}`, params), upload, granted);
        }
        return { sql, params, format: outputFormatOf(statement.sql, request), readOnly: READ_ONLY.test(formatted) };
    }

    private async statementOf(request: FrontRequest, req: http.IncomingMessage): Promise<Statement> {
        let body: Readable;
        try {
            body = bodyOf(req);
        } catch (error) {
            if (error instanceof UnsupportedEncoding) throw new ClickHouseError(CODES.UNKNOWN_COMPRESSION_METHOD, error.message);
            throw error;
        }
        if (/^multipart\/form-data/i.test(String(req.headers["content-type"]))) {
            const form = await formFields(req, body);
            Object.assign(request.params, form.params);
            return this.fromText(form.query ?? request.query ?? "");
        }
        // An insert's data stays bytes (RowBinary, Native, Parquet…): the engine reads it from a file.
        if (request.query !== undefined && insertFromFile(request.query, "") !== undefined) {
            return { sql: withSessionFunctions(request.query), data: body };
        }
        const text = await textOf(body);
        return this.fromText(request.query ? (text ? `${request.query}\n${text}` : request.query) : text);
    }

    /**
     * A statement from text, which the engine's parser must read as one (as a server takes over HTTP; the engine would
     * run several). An insert's data in it goes to a file like a body's, never through the parser: inline data hides
     * whatever follows it.
     */
    private fromText(text: string): Statement {
        const sql = withSessionFunctions(text);
        const formatted = this.formatted(sql);
        if (!INLINE_INSERT.test(formatted)) return { sql, formatted };
        const inline = splitInlineData(sql);
        if (!inline)
            throw new ClickHouseError(
                CODES.BAD_ARGUMENTS,
                "cannot tell where the insert's data starts: put it after VALUES or FORMAT <name>, or in the body",
            );
        return inline;
    }

    private formatted(sql: string): string {
        return this.engine.ask("SELECT formatQuerySingleLine({statement:String})", { statement: sql }).trim();
    }

    /** An insert from the front's file must read as exactly that: anything else would run beside it. */
    private assertInsertFrom(sql: string, upload: string): string {
        const formatted = this.formatted(sql);
        if (!formatted.includes(`FROM INFILE \\'${upload}\\'`)) {
            throw new ClickHouseError(CODES.SYNTAX_ERROR, "Syntax error (Multi-statements are not allowed)");
        }
        return formatted;
    }

    /**
     * Applies the request's database and URL settings, then the user's own settings (`readonly`), to its connection.
     * On a session's connection the request's hold for this query only: the returned function puts the session's back.
     */
    private configure(lease: Lease, user: FrontUser, request: FrontRequest): () => void {
        const { connection } = lease;
        const changes = Object.entries(request.settings);
        const run = (sql: string) => {
            try {
                connection.query(sql, "TabSeparated");
            } catch (error) {
                throw asError(error);
            }
        };
        const saved =
            lease.shared && changes.length > 0
                ? connection.query(
                      `SELECT name, value FROM system.settings WHERE name IN (${changes.map(([n]) => sqlString(n)).join(", ")})`,
                      "TabSeparated",
                  )
                : "";
        const database =
            lease.shared && (request.database ?? user.defaultDatabase)
                ? connection.query("SELECT currentDatabase()", "TabSeparated").trim()
                : undefined;
        if (changes.length > 0) run(`SET ${changes.map(([name, value]) => `${name} = ${sqlString(value)}`).join(", ")}`);
        const use = request.database ?? user.defaultDatabase;
        if (use) run(`USE ${sqlIdentifier(use)}`);
        const own = Object.entries(user.settings ?? {});
        if (own.length > 0) run(`SET ${own.map(([name, value]) => `${name} = ${sqlString(value)}`).join(", ")}`);
        return () => {
            if (!lease.shared) return;
            const previous = saved
                .trim()
                .split("\n")
                .filter(Boolean)
                .map((line) => line.split("\t"));
            if (previous.length > 0) run(`SET ${previous.map(([name, value]) => `${name} = ${sqlString(value)}`).join(", ")}`);
            if (database) run(`USE ${sqlIdentifier(database)}`);
        };
    }

    private async send(output: Output, format: string, request: FrontRequest, reply: Reply): Promise<void> {
        const headers = (summary: string) => ({
            "Content-Type": contentTypeOf(format),
            "X-ClickHouse-Format": format,
            "X-ClickHouse-Timezone": this.options.timezone,
            "X-ClickHouse-Summary": summary,
        });
        if (output.kind === "whole") {
            const { bytes, result } = output;
            const counts = {
                readRows: result.rowsRead,
                readBytes: result.bytesRead,
                elapsed: result.elapsed,
                resultRows: 0,
                resultBytes: bytes.length,
            };
            reply.begin(headers(summaryOf(counts)), bytes.length);
            await reply.write(bytes);
            reply.end();
            return;
        }
        const held: Uint8Array[] = [];
        let heldBytes = 0;
        let resultBytes = 0;
        try {
            for await (const chunk of output.chunks) {
                resultBytes += chunk.length;
                if (!reply.started && (request.waitEndOfQuery || held.length === 0) && heldBytes + chunk.length <= WAIT_BUFFER_BYTES) {
                    // The first chunk is held until the next one comes, so an error the engine finds early is still a 500.
                    held.push(chunk);
                    heldBytes += chunk.length;
                    continue;
                }
                if (!reply.started) {
                    reply.begin(headers(summaryOf({ resultRows: 0, resultBytes: 0 })));
                    for (const part of held.splice(0)) await reply.write(part);
                }
                await reply.write(chunk);
            }
        } catch (error) {
            reply.fail(error instanceof ClickHouseError ? error : new ClickHouseError(CODES.STD_EXCEPTION, (error as Error).message));
            return;
        }
        if (!reply.started) reply.begin(headers(summaryOf({ resultRows: output.rows(), resultBytes })), heldBytes);
        for (const part of held) await reply.write(part);
        reply.end();
    }
}

if (require.main === module) {
    const {
        CLICKHOUSE_DIR,
        CLICKHOUSE_PORT,
        CLICKHOUSE_USERS_FILE,
        CLICKHOUSE_RUN_AS,
        CLICKHOUSE_TLS_CERT,
        CLICKHOUSE_TLS_KEY,
        CLICKHOUSE_CONFIG_FILE,
    } = process.env;
    if (!CLICKHOUSE_DIR || !CLICKHOUSE_PORT || !CLICKHOUSE_USERS_FILE)
        throw new Error("CLICKHOUSE_DIR, CLICKHOUSE_PORT and CLICKHOUSE_USERS_FILE are required");
    const users = (JSON.parse(fs.readFileSync(CLICKHOUSE_USERS_FILE, "utf8")) as { users: FrontUser[] }).users;
    // Read before the front drops to the service user, like the users file.
    const tls =
        CLICKHOUSE_TLS_CERT && CLICKHOUSE_TLS_KEY
            ? { cert: fs.readFileSync(CLICKHOUSE_TLS_CERT, "utf8"), key: fs.readFileSync(CLICKHOUSE_TLS_KEY, "utf8") }
            : undefined;
    // The engine lives in the bootstrap's cache, outside node_modules, so its path is only known at run time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const chdb = require(chdbModule()) as ChdbModule;
    // Loaded (the engine's library mapped) as whoever started us; from here on the front is the service user.
    if (CLICKHOUSE_RUN_AS && process.getuid?.() === 0) {
        process.setgroups!([]);
        process.setgid!(CLICKHOUSE_RUN_AS);
        process.setuid!(CLICKHOUSE_RUN_AS);
    }
    const engine = new Engine(chdb, CLICKHOUSE_DIR, { ...SERVER_DEFAULTS, ...QUERY_LIMITS }, CLICKHOUSE_CONFIG_FILE);
    // Beside the data folder, so the server's folder holds everything it writes and destroy removes it.
    const uploadDir = path.join(path.dirname(CLICKHOUSE_DIR), "uploads");
    fs.mkdirSync(uploadDir, { recursive: true, mode: 0o700 });
    const timezone = engine.ask("SELECT timezone()").trim();
    const vetting = new Vetting(
        engine.ask("SELECT name FROM system.table_functions UNION ALL SELECT name FROM system.table_engines").trim().split("\n"),
    );
    const accounts = new Accounts(path.join(path.dirname(CLICKHOUSE_DIR), "accounts.json"), new Set(users.map((user) => user.name)));
    new Front(engine, vetting, { users, accounts, uploadDir, timezone }).server(tls).listen(Number(CLICKHOUSE_PORT), "127.0.0.1");
}
