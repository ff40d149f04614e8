import type { ProviderArgs } from "@pulumi/aws/provider";
import * as pulumi from "@pulumi/pulumi";

const AWS_PREFIX = "aws:";
/** The settings that are credentials, kept as secrets whether or not the stack file encrypts them. */
const CREDENTIALS = new Set(["accessKey", "secretKey", "token"]);

/** A config value as the provider takes it: lists, objects and booleans are stored as JSON, everything else as text. */
function valueOf(text: string): unknown {
    return /^[[{]/.test(text) || text === "true" || text === "false" ? JSON.parse(text) : text;
}

/**
 * The provider of a cell in `region`, with the stack's own `aws:` settings (profile, assumed roles, allowed
 * accounts, default tags, endpoints…), which an explicit provider would otherwise ignore. The cell's region wins
 * over `aws:region`; credentials stay secrets.
 */
export function cellProviderArgs(region: string, config: Record<string, string> = pulumi.runtime.allConfig()): ProviderArgs {
    const settings = Object.entries(config)
        .filter(([key]) => key.startsWith(AWS_PREFIX) && key !== `${AWS_PREFIX}region`)
        .map(([key, text]) => {
            const name = key.slice(AWS_PREFIX.length);
            return [name, CREDENTIALS.has(name) ? pulumi.secret(valueOf(text)) : valueOf(text)];
        });
    return { ...Object.fromEntries(settings), region };
}
