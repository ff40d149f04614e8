/** What one HTTP request asks the front for, read from its URL (and its form, when the body is multipart). */
import { randomUUID } from "crypto";
import type * as http from "http";
import type { Readable } from "stream";
import { ClickHouseError, CODES } from "./errors";

export interface SessionRequest {
    id: string;
    /** Seconds the session lives after its last request. */
    timeoutSeconds: number;
    /** `session_check=1`: the session must exist already. */
    check: boolean;
}

export interface FrontRequest {
    /** The `query` parameter; the body holds the query (or an insert's data) too. */
    query: string | undefined;
    /** URL settings, which apply to this request's query only. */
    settings: Record<string, string>;
    /** `param_*` values, still in ClickHouse's escaped text. */
    params: Record<string, string>;
    database: string | undefined;
    defaultFormat: string | undefined;
    queryId: string;
    session: SessionRequest | undefined;
    /** `wait_end_of_query=1`: answer once the query is done, with its whole summary. */
    waitEndOfQuery: boolean;
    /** `role=…` (repeatable): the roles the query runs with, instead of all the user's. */
    roles: string[];
}

/** Parameters of ClickHouse's HTTP interface that are not settings (`HTTPHandler`'s reserved names). */
const RESERVED = new Set([
    "query",
    "database",
    "default_format",
    "user",
    "password",
    "quota_key",
    "stacktrace",
    "role",
    "query_id",
    "session_id",
    "session_timeout",
    "session_check",
    "close_session",
    "compress",
    "decompress",
    "buffer_size",
    "wait_end_of_query",
    "client_protocol_version",
]);

/** ClickHouse's `max_session_timeout` default. */
const MAX_SESSION_TIMEOUT_SECONDS = 3600;
const DEFAULT_SESSION_TIMEOUT_SECONDS = 60;

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function sessionOf(url: URL): SessionRequest | undefined {
    const id = url.searchParams.get("session_id");
    if (!id) return undefined;
    const given = url.searchParams.get("session_timeout") ?? String(DEFAULT_SESSION_TIMEOUT_SECONDS);
    const timeout = Number(given);
    if (!/^\d+$/.test(given) || timeout > MAX_SESSION_TIMEOUT_SECONDS) {
        throw new ClickHouseError(
            CODES.BAD_ARGUMENTS,
            `session_timeout ${given} is invalid: give whole seconds from 0 to ${MAX_SESSION_TIMEOUT_SECONDS}`,
        );
    }
    return { id, timeoutSeconds: timeout, check: url.searchParams.get("session_check") === "1" };
}

function refuseUnsupported(url: URL): void {
    for (const name of ["compress", "decompress"]) {
        if (url.searchParams.get(name) === "1") {
            throw new ClickHouseError(
                CODES.NOT_IMPLEMENTED,
                `${name}=1 (ClickHouse's native block compression) is not supported by the local ClickHouse: compress with Content-Encoding / Accept-Encoding (gzip, deflate, br, zstd) instead`,
            );
        }
    }
}

export function requestOf(url: URL): FrontRequest {
    refuseUnsupported(url);
    const settings: Record<string, string> = {};
    const params: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
        if (name.startsWith("param_")) params[name.slice("param_".length)] = value;
        else if (!RESERVED.has(name)) {
            if (!SETTING_NAME.test(name)) throw new ClickHouseError(CODES.UNKNOWN_SETTING, `Unknown setting '${name}'`);
            settings[name] = value;
        }
    }
    return {
        query: url.searchParams.get("query") ?? undefined,
        settings,
        params,
        database: url.searchParams.get("database") || undefined,
        defaultFormat: url.searchParams.get("default_format") || undefined,
        queryId: url.searchParams.get("query_id") || randomUUID(),
        session: sessionOf(url),
        waitEndOfQuery: url.searchParams.get("wait_end_of_query") === "1",
        roles: url.searchParams.getAll("role"),
    };
}

/** The user and password, from the headers, the URL or basic auth, as a server reads them. */
export function credentialsOf(req: http.IncomingMessage, url: URL): [string, string] {
    const basic = req.headers.authorization?.startsWith("Basic ")
        ? Buffer.from(req.headers.authorization.slice(6), "base64").toString().split(":")
        : undefined;
    const user = req.headers["x-clickhouse-user"] ?? url.searchParams.get("user") ?? basic?.[0] ?? "default";
    const password = req.headers["x-clickhouse-key"] ?? url.searchParams.get("password") ?? basic?.slice(1).join(":") ?? "";
    return [String(user), String(password)];
}

/** The `query` and `param_*` fields of a multipart body; a file in it would be an external table, which the front has not. */
export async function formFields(req: http.IncomingMessage, body: Readable): Promise<{ query?: string; params: Record<string, string> }> {
    const request = new Request("http://front/", {
        method: "POST",
        headers: { "content-type": String(req.headers["content-type"]) },
        body,
        duplex: "half",
    });
    const fields: { query?: string; params: Record<string, string> } = { params: {} };
    for (const [name, value] of await request.formData()) {
        if (typeof value !== "string" || !(name === "query" || name.startsWith("param_"))) {
            throw new ClickHouseError(
                CODES.NOT_IMPLEMENTED,
                `multipart field "${name}": external tables are not supported by the local ClickHouse`,
            );
        }
        if (name === "query") fields.query = value;
        else fields.params[name.slice("param_".length)] = value;
    }
    return fields;
}
