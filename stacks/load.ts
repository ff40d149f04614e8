import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, CONFIG_NAMESPACE, parseStackConfig, ValidStack } from "./config";

/** Reads the `cellplane:*` keys of the running stack and validates them, once. */
export function loadStackConfig(config = new pulumi.Config(CONFIG_NAMESPACE)): ValidStack {
    return parseStackConfig(Object.fromEntries(CONFIG_KEYS.map((key) => [key, configValue(key, config.get(key))])));
}

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
