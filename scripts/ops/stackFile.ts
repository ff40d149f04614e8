import * as fs from "fs";
import * as path from "path";
import { createTwoFilesPatch } from "diff";
import { Document, isMap, isScalar, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import { CONFIG_NAMESPACE, parseStackConfig, ValidStack } from "../../stacks/config";
import { stackFileConfig } from "../../stacks/load";

/**
 * One stack's `Pulumi.<stack>.yaml`, edited as a YAML document so comments, layout, the encryption salt and
 * secure values survive. Changes are checked with the program's own schema before anything is written.
 */
export class StackFile {
    private readonly doc: Document;
    private readonly original: string;

    private constructor(readonly stack: string, readonly file: string) {
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
            .split("\n").filter((line) => !line.startsWith("=====")).join("\n").trimEnd();
    }

    /** Writes through a temporary file and a rename, so a crash leaves either the old file or the new one. */
    save(): void {
        const temporary = `${this.file}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, this.text());
        fs.renameSync(temporary, this.file);
    }
}

function scalarText(node: unknown): string | undefined {
    return isScalar(node) ? String(node.value) : undefined;
}
