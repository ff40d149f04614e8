import * as fs from "fs";
import { CONFIG_NAMESPACE } from "./config";

/** A config value as the program reads it from Pulumi, which keeps every scalar as text. */
export function configValue(key: string, text: string | undefined): unknown {
    return TEXT_KEYS.has(key) ? text : parseValue(text);
}

/** Keys read as written, so `costCenter: 1042` stays the text "1042". */
const TEXT_KEYS = new Set<string>(["environment", "owner", "costCenter", "stateDir"]);

/** Pulumi hands structured values over as JSON text and scalars as plain text. */
function parseValue(text: string | undefined): unknown {
    if (text === undefined) return undefined;
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** The stacks of a project folder: one per `Pulumi.<stack>.yaml`. */
export function stackNamesIn(projectDir: string): string[] {
    return fs
        .readdirSync(projectDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * The `cellplane:*` entries of a stack file's `config:` map, as Pulumi hands them to the program: structured
 * values as they are, scalars as text read back by `configValue`.
 */
export function stackFileConfig(config: Record<string, unknown> | undefined): Record<string, unknown> {
    const prefix = `${CONFIG_NAMESPACE}:`;
    return Object.fromEntries(
        Object.entries(config ?? {})
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, value]) => {
                const name = key.slice(prefix.length);
                return [name, value !== null && typeof value === "object" ? value : configValue(name, String(value))];
            }),
    );
}
