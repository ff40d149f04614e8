import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { POLICIES } from "../pack";
import { RESIDENCY_POLICIES } from "../residency";
import type { Violation } from "./engine";

/** The pack's exceptions, checked in beside it: each lets one policy pass one resource until its expiry. */
export const EXCEPTIONS_FILE = path.join(__dirname, "..", "exceptions.json");

const residencyPolicies = new Set(RESIDENCY_POLICIES.map((p) => p.name));
const policyNames = new Set(POLICIES.map((p) => p.name));

const exceptionSchema = z
    .strictObject({
        policy: z.string().refine((name) => policyNames.has(name), { error: (i) => `"${i.input}" is no policy of the pack` }),
        /** The engine's URN of the resource, as the policy report prints it. */
        urn: z.string().startsWith("urn:pulumi:"),
        reason: z.string().min(10, "must say why the violation is accepted, in a sentence"),
        owner: z.string().min(1),
        /** The last day the exception holds (UTC). */
        expires: z.iso.date(),
        /** Residency policies only, and required there: who accepted the risk, other than the owner. */
        approver: z.string().min(1).optional(),
    })
    .superRefine((exception, ctx) => {
        if (residencyPolicies.has(exception.policy) && !exception.approver)
            ctx.addIssue({
                code: "custom",
                path: ["approver"],
                message: `is required: ${exception.policy} is a residency policy, so someone other than the owner approves`,
            });
        if (exception.approver !== undefined && exception.approver === exception.owner)
            ctx.addIssue({ code: "custom", path: ["approver"], message: "must be someone other than the owner" });
    });

export type PolicyException = z.infer<typeof exceptionSchema>;

/** A finding: a violation, or one an unexpired exception covers, printed as exempted. */
export interface Finding extends Violation {
    stack: string;
    exempted?: PolicyException;
}

/** Reads the exceptions file; every problem of it names the entry, the field and the fix. */
export function loadExceptions(file = EXCEPTIONS_FILE): { exceptions: PolicyException[]; problems: string[] } {
    if (!fs.existsSync(file)) return { exceptions: [], problems: [] };
    const parsed = z.array(z.unknown()).safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
    if (!parsed.success) return { exceptions: [], problems: [`${file}: must be a JSON array of exceptions`] };
    const exceptions: PolicyException[] = [];
    const problems: string[] = [];
    parsed.data.forEach((entry, index) => {
        const result = exceptionSchema.safeParse(entry);
        if (result.success) exceptions.push(result.data);
        else problems.push(...result.error.issues.map((i) => `${path.basename(file)}[${index}].${i.path.join(".")}: ${i.message}`));
    });
    return { exceptions, problems };
}

/**
 * Marks each violation an unexpired exception covers as exempted. An exception that has expired, or that matches no
 * violation of the stacks checked, is a problem of its own: it fails the check, so exceptions never outlive their use.
 */
export function applyExceptions(findings: Finding[], exceptions: PolicyException[], stacks: string[], today = new Date()): string[] {
    const day = today.toISOString().slice(0, 10);
    const problems: string[] = [];
    for (const exception of exceptions) {
        const where = `exception of ${exception.policy} for ${exception.urn} (owner ${exception.owner})`;
        if (exception.expires < day) {
            problems.push(`${where} expired on ${exception.expires}: fix the violation, or renew the exception with a new date and reason`);
            continue;
        }
        const matched = findings.filter((f) => f.policy === exception.policy && f.urn === exception.urn && f.status === "violation");
        for (const finding of matched) finding.exempted = exception;
        const checked = stacks.some((stack) => exception.urn.startsWith(`urn:pulumi:${stack}::`));
        if (matched.length === 0 && checked) problems.push(`${where} matches no violation: remove it`);
    }
    return problems;
}
