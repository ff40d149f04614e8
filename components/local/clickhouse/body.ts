import { randomUUID } from "crypto";
import * as fs from "fs";
import type * as http from "http";
import * as path from "path";
import type { Readable, Transform } from "stream";
import { pipeline } from "stream/promises";
import * as zlib from "zlib";
import { sqlString } from "../../../apps/shared/clickhouseSql";

/** The request encodings ClickHouse's HTTP interface takes and Node decodes; lz4 has no maintained decoder here. */
const DECODERS: Record<string, () => Transform> = {
    gzip: () => zlib.createGunzip(),
    "x-gzip": () => zlib.createGunzip(),
    deflate: () => zlib.createInflate(),
    br: () => zlib.createBrotliDecompress(),
    zstd: () => zlib.createZstdDecompress(),
};

/** A body in an encoding the front cannot read: refused with the encoding's name, never run as garbage. */
export class UnsupportedEncoding extends Error {
    constructor(readonly encoding: string) {
        super(`Unknown Content-Encoding "${encoding}": send the body plain or as ${Object.keys(DECODERS).join(", ")}`);
    }
}

/** The request's body as bytes, decoded from its `Content-Encoding`. */
export function bodyOf(req: http.IncomingMessage): Readable {
    const encoding = String(req.headers["content-encoding"] ?? "identity")
        .trim()
        .toLowerCase();
    if (encoding === "identity" || encoding === "") return req;
    const decoder = DECODERS[encoding];
    if (!decoder) throw new UnsupportedEncoding(encoding);
    return req.pipe(decoder());
}

export async function textOf(body: Readable): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
}

/** Writes the body to `file` byte for byte; returns how many bytes it held. A body cut short leaves no file. */
export async function saveBody(body: Readable | string, file: string): Promise<number> {
    try {
        if (typeof body === "string") fs.writeFileSync(file, body, { mode: 0o600 });
        else await pipeline(body, fs.createWriteStream(file, { mode: 0o600 }));
    } catch (error) {
        fs.rmSync(file, { force: true });
        throw error;
    }
    return fs.statSync(file).size;
}

/** `INSERT INTO … [SETTINGS …] FORMAT <name>`, whose data is the request's body. */
const INSERT_WITH_FORMAT = /^(\s*INSERT\s+INTO\s[\s\S]*?)(\s+SETTINGS\s[\s\S]*?)?\s+FORMAT\s+(\w+)\s*;?\s*$/i;

/**
 * The insert reading its data from `file` (`FROM INFILE`, which the engine reads as bytes in any input format), or
 * undefined when `query` is no insert that takes a body.
 */
export function insertFromFile(query: string, file: string): string | undefined {
    const insert = INSERT_WITH_FORMAT.exec(query);
    if (!insert) return undefined;
    const [, target, settings = "", format] = insert;
    return `${target} FROM INFILE ${sqlString(file)}${settings} FORMAT ${format}`;
}

/** `INSERT INTO … VALUES (…)` or `INSERT INTO … FORMAT <name>` followed by its data, in one text. */
const INSERT_WITH_INLINE_DATA = /^(\s*INSERT\s+INTO\s[\s\S]*?)\s+(?:VALUES\b|FORMAT\s+(\w+)[ \t]*\r?\n?)([\s\S]*)$/i;

/** An insert whose data follows it in the query's text, split into the insert (`… FORMAT <name>`) and the data. */
export function splitInlineData(sql: string): { sql: string; data: string } | undefined {
    const insert = INSERT_WITH_INLINE_DATA.exec(sql);
    if (!insert) return undefined;
    const [, target, format = "Values", data] = insert;
    return { sql: `${target} FORMAT ${format}`, data };
}

/** A fresh file for one request's body, in the front's own upload folder (never named by the client). */
export const uploadFile = (dir: string) => path.join(dir, `${randomUUID()}.body`);
