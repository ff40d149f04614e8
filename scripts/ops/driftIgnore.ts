import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { Refusal } from "./environment";

/**
 * A rule of `cellplane drift --ignore <file>`: drift it matches is listed as ignored instead of failing the check,
 * until the rule expires. `urn`, `type` and `property` are globs (`*` matches anything, `?` one character); a rule
 * names at least one, and matches a change when every one it names matches. Residency drift is never ignored.
 */
const ruleSchema = z
    .strictObject({
        urn: z.string().min(1).optional(),
        type: z.string().min(1).optional(),
        /** A changed property's path, as the report prints it (`observed.encrypted`, `tags.team`, `spec.replicas`). */
        property: z.string().min(1).optional(),
        reason: z.string().min(10, "must say why this drift is expected, in a sentence"),
        owner: z.string().min(1),
        /** The last day the rule holds (UTC). */
        expires: z.iso.date(),
    })
    .refine((rule) => rule.urn ?? rule.type ?? rule.property, {
        message: "names nothing to ignore: give a urn, type or property glob",
    });

export type IgnoreRule = z.infer<typeof ruleSchema> & { index: number };

/**
 * Reads an ignore file: a JSON array of rules. A malformed or expired rule refuses the whole check, naming the rule,
 * the field and the fix, so a scheduled run never silently ignores more, or less, than its owners meant.
 */
export function loadIgnoreRules(file: string, today = new Date()): IgnoreRule[] {
    if (!fs.existsSync(file)) throw new Refusal(`--ignore ${file}: no such file`);
    let entries: unknown;
    try {
        entries = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
        throw new Refusal(`--ignore ${file}: not JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(entries)) throw new Refusal(`--ignore ${file}: must be a JSON array of rules`);
    const day = today.toISOString().slice(0, 10);
    const problems: string[] = [];
    const rules = entries.flatMap((entry, index): IgnoreRule[] => {
        const where = `${path.basename(file)}[${index}]`;
        const parsed = ruleSchema.safeParse(entry);
        if (!parsed.success) {
            problems.push(...parsed.error.issues.map((i) => `${where}${i.path.length ? `.${i.path.join(".")}` : ""}: ${i.message}`));
            return [];
        }
        if (parsed.data.expires < day)
            problems.push(
                `${where} (owner ${parsed.data.owner}) expired on ${parsed.data.expires}: fix the drift, or renew the rule with a new date`,
            );
        return [{ ...parsed.data, index }];
    });
    if (problems.length > 0) throw new Refusal(`--ignore ${file}:\n  ${problems.join("\n  ")}`);
    return rules;
}

/** `*` matches any run of characters (`::` and `.` included), `?` exactly one; the rest is literal. */
export function globMatches(glob: string, value: string): boolean {
    const pattern = glob
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp(`^${pattern}$`).test(value);
}

/** Whether a rule matches a change of a resource; a rule that names no property matches every change of it. */
export function ruleMatches(rule: IgnoreRule, resource: { urn: string; type: string }, property?: string): boolean {
    return (
        (rule.urn === undefined || globMatches(rule.urn, resource.urn)) &&
        (rule.type === undefined || globMatches(rule.type, resource.type)) &&
        (rule.property === undefined || (property !== undefined && globMatches(rule.property, property)))
    );
}

export const describeRule = (rule: IgnoreRule) => `ignore rule [${rule.index}] of ${rule.owner}: ${rule.reason}`;
