import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { createTwoFilesPatch } from "diff";
import { Document, isMap, isScalar, isSeq, parseDocument, visit, YAMLMap, YAMLSeq } from "yaml";
import { CONFIG_NAMESPACE, parseStackConfig, ValidStack } from "../../model/config";
import { stackFileConfig } from "../../model/stackFiles";

/**
 * One stack's `Pulumi.<stack>.yaml`, edited as a YAML document so comments, layout, the encryption salt and
 * secure values survive. Changes are checked with the program's own schema before anything is written.
 */
export class StackFile {
    private readonly doc: Document;
    private readonly original: string;

    private constructor(
        readonly stack: string,
        readonly file: string,
    ) {
        this.original = fs.readFileSync(file, "utf8");
        this.doc = parseDocument(this.original);
    }

    static load(projectDir: string, stack: string): StackFile {
        const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
        if (!fs.existsSync(file)) throw new Error(`stack "${stack}" has no configuration file ${file}`);
        return new StackFile(stack, file);
    }

    /** The `cellplane:*` keys as the program receives them from Pulumi (scalars arrive as text). */
    raw(): Record<string, unknown> {
        return stackFileConfig(this.doc.toJS()?.config);
    }

    /** Validates with the program's schema; throws its ConfigError, with the program's messages. */
    validate(): ValidStack {
        return parseStackConfig(this.raw());
    }

    /** The `cellplane:<key>` list, created (empty, one item per line) if the file has none yet. */
    list(key: "cells" | "tenants"): YAMLSeq<YAMLMap> {
        const config = this.doc.get("config");
        if (!isMap(config)) throw new Error(`${this.file} has no "config:" section`);
        const name = `${CONFIG_NAMESPACE}:${key}`;
        if (!config.has(name)) config.set(name, new YAMLSeq());
        const list = config.get(name);
        if (!isSeq(list)) throw new Error(`${this.file}: ${name} must be a list`);
        return list as YAMLSeq<YAMLMap>;
    }

    /** Index of the list item whose `id` is `id`, or -1. */
    indexOf(key: "cells" | "tenants", id: string): number {
        return this.list(key).items.findIndex((item) => isMap(item) && scalarText(item.get("id", true)) === id);
    }

    /** Appends an item written in flow style, like the lists of the shipped stack files. */
    append(key: "cells" | "tenants", item: Record<string, unknown>): void {
        const node = this.doc.createNode(item, { flow: true }) as YAMLMap;
        this.list(key).items.push(node);
    }

    set(key: "cells" | "tenants", index: number, field: string, value: unknown): void {
        this.list(key).items[index].set(field, value);
    }

    remove(key: "cells" | "tenants", index: number): void {
        this.list(key).items.splice(index, 1);
    }

    /** Sets or (with undefined) removes the entry of `id` in the `cellplane:<key>` map, creating the map if needed. */
    setEntry(key: "routingOverrides", id: string, value: Record<string, unknown> | undefined): void {
        const config = this.doc.get("config");
        if (!isMap(config)) throw new Error(`${this.file} has no "config:" section`);
        const name = `${CONFIG_NAMESPACE}:${key}`;
        if (!config.has(name)) config.set(name, new YAMLMap());
        const map = config.get(name);
        if (!isMap(map)) throw new Error(`${this.file}: ${name} must be a map`);
        if (value === undefined) map.delete(id);
        else {
            const node = this.doc.createNode(value, { flow: true });
            // Quoted, so Pulumi's YAML reads every text as text: a time stays a string, a reason "no" no boolean.
            visit(node, {
                Pair: (_key, pair) => {
                    if (isScalar(pair.value) && typeof pair.value.value === "string") pair.value.type = "QUOTE_DOUBLE";
                },
            });
            map.set(id, node);
        }
        if (map.items.length === 0) config.delete(name);
    }

    /** The file's text, its flow lists kept on one line and padded as the original pads them. */
    text(): string {
        return this.doc.toString({ lineWidth: 0, flowCollectionPadding: /[{[] \S/.test(this.original) });
    }

    /** The change to the file as a unified diff; empty when nothing changed. */
    diff(): string {
        const next = this.text();
        if (next === this.original) return "";
        const name = path.basename(this.file);
        return createTwoFilesPatch(`a/${name}`, `b/${name}`, this.original, next, undefined, undefined, { context: 1 })
            .split("\n")
            .filter((line) => !line.startsWith("====="))
            .join("\n")
            .trimEnd();
    }

    /**
     * Writes the edit under the file's lock, only if the file is still as this edit read it (otherwise another edit
     * came first and this one is refused, never silently lost). The text goes through a synced temporary file
     * with the file's mode and a rename, so a crash leaves either the old file or the new one.
     */
    save(): void {
        withLock(`${this.file}.lock`, () => {
            if (fs.readFileSync(this.file, "utf8") !== this.original) {
                throw new ConcurrentEdit(
                    `${this.file} changed since this command read it (another edit ran meanwhile); nothing was written. Run the command again`,
                );
            }
            writeDurably(this.file, this.text());
        });
    }
}

/** An edit that lost a race with another: nothing was written. */
export class ConcurrentEdit extends Error {}

/** Replaces `file` with `text` atomically and durably: a synced temporary file with the file's mode, a rename, a synced folder. */
export function writeDurably(file: string, text: string): void {
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    const mode = fs.existsSync(file) ? fs.statSync(file).mode & 0o777 : 0o644;
    const fd = fs.openSync(temporary, "w", mode);
    try {
        fs.writeFileSync(fd, text);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
    const folder = fs.openSync(path.dirname(file), "r");
    try {
        fs.fsyncSync(folder);
    } finally {
        fs.closeSync(folder);
    }
}

/** Runs `fn` holding an exclusive lock file, waiting up to 10 s for another holder; a lock whose process is gone is taken over. */
function withLock<T>(lock: string, fn: () => T): T {
    const until = Date.now() + 10_000;
    for (;;) {
        try {
            fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
            break;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
            const holder = holderOf(lock);
            if (holder === "gone") continue;
            if (holder === "dead") fs.rmSync(lock, { force: true });
            else if (Date.now() > until)
                throw new ConcurrentEdit(`${lock} is held by process ${holder}: another edit is running; try again when it is done`);
            else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        }
    }
    try {
        return fn();
    } finally {
        fs.rmSync(lock, { force: true });
    }
}

/** Who holds the lock: its process id, "dead" if that process is gone, "gone" if the lock was just released. */
function holderOf(lock: string): number | "dead" | "gone" {
    let text: string;
    try {
        text = fs.readFileSync(lock, "utf8");
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return "gone";
        throw error;
    }
    const pid = Number(text);
    // An empty lock is one being written by its new holder.
    if (text === "" || !Number.isInteger(pid) || pid <= 0) return 0;
    try {
        process.kill(pid, 0);
        return pid;
    } catch {
        return "dead";
    }
}

function scalarText(node: unknown): string | undefined {
    return isScalar(node) ? String(node.value) : undefined;
}
