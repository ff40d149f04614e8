import { createHash } from "crypto";
import type { Policies } from "@pulumi/policy";
import type { Finding } from "./exceptions";

export const FORMATS = ["table", "json", "sarif", "markdown"] as const;
export type Format = (typeof FORMATS)[number];

/** One run of the pack over some stacks: what every format is printed from. */
export interface PolicyReport {
    pack: { name: string; version: string };
    stacks: { stack: string; resources: number; seconds: number }[];
    findings: Finding[];
    /** Problems of the exceptions and config files: each fails the check. */
    problems: string[];
}

export type FindingStatus = "violation" | "exempted" | "not-evaluated";

export const statusOf = (f: Finding): FindingStatus => (f.exempted ? "exempted" : f.status);

/**
 * Stable across runs and machines: a hash of the stack, the policy and the resource's URN, and for a policy's second
 * or later finding on one resource, which one it is (policies report in a fixed order).
 */
export function fingerprintsOf(findings: readonly Pick<Finding, "stack" | "policy" | "urn">[]): string[] {
    const seen = new Map<string, number>();
    return findings.map((f) => {
        const key = `${f.stack}\0${f.policy}\0${f.urn}`;
        const nth = seen.get(key) ?? 0;
        seen.set(key, nth + 1);
        return createHash("sha256")
            .update(nth === 0 ? key : `${key}\0${nth}`)
            .digest("hex")
            .slice(0, 32);
    });
}

/** What fails the check: a mandatory violation or one not evaluated, not exempted, and any problem of the files. */
export function failures(report: PolicyReport): { findings: Finding[]; problems: string[] } {
    const findings = report.findings.filter((f) => f.level === "mandatory" && statusOf(f) !== "exempted");
    return { findings, problems: report.problems };
}

export function summaryOf(report: PolicyReport) {
    const count = (status: FindingStatus) => report.findings.filter((f) => statusOf(f) === status).length;
    return {
        violations: count("violation"),
        exempted: count("exempted"),
        notEvaluated: count("not-evaluated"),
        failing: failures(report).findings.length + report.problems.length,
    };
}

export function render(report: PolicyReport, format: Format, policies: Policies, residencyOf: (f: Finding) => string | undefined): string {
    switch (format) {
        case "table":
            return table(report);
        case "json": {
            const fingerprints = fingerprintsOf(report.findings);
            return `${JSON.stringify(
                {
                    pack: report.pack,
                    stacks: report.stacks,
                    summary: summaryOf(report),
                    problems: report.problems,
                    findings: report.findings.map((f, i) => ({
                        fingerprint: fingerprints[i],
                        stack: f.stack,
                        policy: f.policy,
                        level: f.level,
                        status: statusOf(f),
                        resource: f.resource,
                        urn: f.urn,
                        cell: f.cell ?? null,
                        residency: residencyOf(f) ?? null,
                        message: f.message,
                        exception: f.exempted ?? null,
                    })),
                },
                null,
                2,
            )}\n`;
        }
        case "markdown":
            return markdown(report, residencyOf);
        case "sarif":
            return `${JSON.stringify(sarif(report, policies, residencyOf), null, 2)}\n`;
    }
}

function table(report: PolicyReport): string {
    const rows = [
        ["STACK", "POLICY", "RESOURCE", "LEVEL", "STATUS", "MESSAGE"],
        ...report.findings.map((f) => [f.stack, f.policy, f.resource, f.level, statusOf(f), f.message]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  "));
    return [
        ...report.stacks.map((s) => `${s.stack}: ${s.resources} resources in ${s.seconds.toFixed(1)} s`),
        "",
        rows.length > 1 ? lines.join("\n") : "no violations",
        "",
    ].join("\n");
}

const ICON: Record<FindingStatus, string> = { violation: "❌", exempted: "⏸️", "not-evaluated": "❓" };
const cellText = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** A pull-request comment: the verdict first, then what fails, then what is exempted or advisory. */
function markdown(report: PolicyReport, residencyOf: (f: Finding) => string | undefined): string {
    const summary = summaryOf(report);
    const verdict = summary.failing > 0 ? `**${summary.failing} finding(s) fail the policy check.**` : "**The policy check passes.**";
    const row = (f: Finding) =>
        `| ${ICON[statusOf(f)]} ${statusOf(f)} | \`${f.policy}\` | ${f.level} | ${f.stack} | ${f.cell ?? ""} ${residencyOf(f) ? `(${residencyOf(f)})` : ""} | \`${cellText(f.resource)}\` | ${cellText(f.message)}${f.exempted ? ` — exempted until ${f.exempted.expires} by ${f.exempted.owner}: ${cellText(f.exempted.reason)}` : ""} |`;
    return [
        `### Cellplane policies ${report.pack.version}: ${report.stacks.map((s) => s.stack).join(", ")}`,
        "",
        verdict,
        `${summary.violations} violation(s), ${summary.exempted} exempted, ${summary.notEvaluated} not evaluated.`,
        "",
        ...(report.problems.length > 0
            ? ["#### Problems of the exception and config files", "", ...report.problems.map((p) => `- ${p}`), ""]
            : []),
        ...(report.findings.length > 0
            ? [
                  "| Status | Policy | Level | Stack | Cell | Resource | Message |",
                  "|---|---|---|---|---|---|---|",
                  ...report.findings.map(row),
                  "",
              ]
            : []),
    ].join("\n");
}

const SARIF_LEVEL = { mandatory: "error", remediate: "error", advisory: "warning", disabled: "none" } as const;

/** SARIF 2.1.0, for code-scanning tools: a rule per policy, a result per finding, exempted ones suppressed. */
function sarif(report: PolicyReport, policies: Policies, residencyOf: (f: Finding) => string | undefined) {
    const fingerprints = fingerprintsOf(report.findings);
    return {
        $schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [
            {
                tool: {
                    driver: {
                        name: report.pack.name,
                        version: report.pack.version,
                        informationUri: "https://www.pulumi.com/docs/iac/crossguard/",
                        rules: policies.map((p) => ({
                            id: p.name,
                            shortDescription: { text: p.description },
                            defaultConfiguration: { level: SARIF_LEVEL[p.enforcementLevel ?? "advisory"] },
                        })),
                    },
                },
                results: report.findings.map((f, i) => ({
                    ruleId: f.policy,
                    level: SARIF_LEVEL[f.level],
                    kind: f.status === "not-evaluated" ? "open" : "fail",
                    message: { text: f.message },
                    locations: [
                        {
                            physicalLocation: { artifactLocation: { uri: `Pulumi.${f.stack}.yaml` } },
                            logicalLocations: [{ fullyQualifiedName: f.urn || `stack ${f.stack}`, name: f.resource, kind: "resource" }],
                        },
                    ],
                    partialFingerprints: { "cellplanePolicyFinding/v1": fingerprints[i] },
                    ...(f.exempted
                        ? {
                              suppressions: [
                                  {
                                      kind: "external",
                                      status: "accepted",
                                      justification: `${f.exempted.reason} (owner ${f.exempted.owner}, until ${f.exempted.expires})`,
                                  },
                              ],
                          }
                        : {}),
                    properties: { stack: f.stack, cell: f.cell, residency: residencyOf(f), status: statusOf(f) },
                })),
                invocations: [
                    {
                        executionSuccessful: report.problems.length === 0,
                        toolExecutionNotifications: report.problems.map((p) => ({ level: "error", message: { text: p } })),
                    },
                ],
            },
        ],
    };
}
