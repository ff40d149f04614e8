import * as fs from "fs";
import * as path from "path";
import type { StackConfig } from "../../model/config";
import { Refusal } from "./environment";
import type { StackFile } from "./stackFile";

export type OverrideAction = { action: "quarantine" } | { action: "pin"; cell: string } | { action: "release" };

/** One line of the audit log: who changed which tenant's routing, when, why, and what it was before. */
export interface OverrideRecord {
    at: string;
    by: string;
    stack: string;
    tenant: string;
    action: OverrideAction["action"];
    cell?: string;
    reason: string;
    before: StackConfig["routingOverrides"][string] | null;
}

/**
 * Sets (quarantine, pin) or removes (release) a tenant's routing override in its stack file, checked by the
 * program's schema: a pin stays in the tenant's residency. Returns the audit record of the change.
 */
export function overrideTenant(file: StackFile, tenant: string, change: OverrideAction, reason: string, by: string): OverrideRecord {
    const stack = file.validate();
    if (!stack.tenants.some((t) => t.id === tenant))
        throw new Refusal(
            `--id ${tenant}: no tenant "${tenant}" in ${file.file}. Tenants: ${stack.tenants.map((t) => t.id).join(", ") || "none"}`,
        );
    const before = stack.routingOverrides[tenant] ?? null;
    if (change.action === "release" && !before) throw new Refusal(`--id ${tenant}: tenant ${tenant} has no override to release`);
    const at = new Date().toISOString();
    file.setEntry("routingOverrides", tenant, change.action === "release" ? undefined : { ...change, reason, by, at });
    file.validate();
    return { at, by, stack: file.stack, tenant, ...change, reason, before };
}

/** Appends the record to the environment's audit log, next to the stack files, and returns the log's path. */
export function auditOverride(projectDir: string, env: string, record: OverrideRecord): string {
    const log = path.join(projectDir, "audit", `routing-overrides.${env}.jsonl`);
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.appendFileSync(log, `${JSON.stringify(record)}\n`);
    return log;
}
