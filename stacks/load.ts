import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, CONFIG_NAMESPACE, parseStackConfig, ValidStack } from "../model/config";
import { configValue } from "../model/stackFiles";

/** Reads the `cellplane:*` keys of the running stack and validates them, once. */
export function loadStackConfig(config = new pulumi.Config(CONFIG_NAMESPACE)): ValidStack {
    return parseStackConfig(Object.fromEntries(CONFIG_KEYS.map((key) => [key, configValue(key, config.get(key))])));
}
