import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Ajv04 from "ajv-draft-04";
import * as fc from "fast-check";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { configProblems } from "../../policies/check/configFile";
import { PackConfig, packConfigOf, runPolicies } from "../../policies/check/engine";
import { applyExceptions, Finding, loadExceptions, PolicyException } from "../../policies/check/exceptions";
import { failures, fingerprintsOf, PolicyReport, render, statusOf } from "../../policies/check/report";
import { POLICIES } from "../../policies/pack";
import { ProgramRun, runStackFile, stackNames } from "../support/harness";

const ROOT = path.join(__dirname, "..", "..");
const TODAY = new Date("2026-11-27T12:00:00Z");
/** SARIF 2.1.0's JSON schema, as Microsoft's SARIF matchers for jest ship it. */
const SARIF_SCHEMA = JSON.parse(
    fs.readFileSync(path.join(ROOT, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json"), "utf8"),
);

/** The dev stack's findings: known advisory violations (single-AZ databases, 7-day backups, no deletion protection). */
async function devReport(exceptions: PolicyException[] = []): Promise<PolicyReport> {
    const run = await runStackFile("dev");
    const findings: Finding[] = (await runPolicies(run.resources, packConfigOf("dev"))).map((v) => ({ ...v, stack: "dev" }));
    const problems = applyExceptions(findings, exceptions, ["dev"], TODAY);
    return {
        pack: { name: "cellplane", version: "0.1.0" },
        stacks: [{ stack: "dev", resources: run.resources.length, seconds: 1 }],
        findings,
        problems,
    };
}

const residencyOf = (f: Finding) => (f.cell?.includes("-eu-") ? "eu" : f.cell?.includes("-us-") ? "us" : undefined);

const writeExceptions = (entries: unknown) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-exceptions-")), "exceptions.json");
    fs.writeFileSync(file, JSON.stringify(entries));
    return file;
};

describe("policy results as artifacts", () => {
    let report: PolicyReport;
    beforeAll(async () => {
        report = await devReport();
    });

    test("each finding has a stable fingerprint of stack, policy and URN, unique in the run", async () => {
        expect(report.findings.length).toBeGreaterThan(5);
        const again = await devReport();
        expect(fingerprintsOf(again.findings)).toEqual(fingerprintsOf(report.findings));
        expect(new Set(fingerprintsOf(report.findings)).size).toBe(report.findings.length);
        // Another finding elsewhere leaves each finding's fingerprint as it was.
        expect(fingerprintsOf(report.findings.slice(1))).toEqual(fingerprintsOf(report.findings).slice(1));
        for (const f of report.findings) expect(f.urn).toMatch(/^urn:pulumi:dev::cellplane::/);
    });

    test("JSON carries the pack's version, each finding's level, status, cell and residency", () => {
        const json = JSON.parse(render(report, "json", POLICIES, residencyOf));
        expect(json.pack).toEqual({ name: "cellplane", version: "0.1.0" });
        expect(json.summary).toEqual({ violations: report.findings.length, exempted: 0, notEvaluated: 0, failing: 0 });
        const rds = json.findings.find(
            (f: { resource: string; policy: string }) => f.policy === "multi-az" && f.resource === "dev-eu-aws-postgres-db",
        );
        expect(rds).toMatchObject({
            level: "advisory",
            status: "violation",
            cell: "dev-eu-aws",
            residency: "eu",
            fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/),
        });
    });

    test("SARIF validates against the SARIF 2.1.0 schema, with a rule per policy and a result per finding", () => {
        const sarif = JSON.parse(render(report, "sarif", POLICIES, residencyOf));
        const validate = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false }).compile(SARIF_SCHEMA);
        expect(validate(sarif) ? [] : validate.errors).toEqual([]);
        expect(sarif.runs[0].tool.driver.rules).toHaveLength(POLICIES.length);
        expect(sarif.runs[0].results).toHaveLength(report.findings.length);
        expect(sarif.runs[0].results[0]).toMatchObject({
            level: "warning",
            kind: "fail",
            partialFingerprints: { "cellplanePolicyFinding/v1": fingerprintsOf(report.findings)[0] },
        });
    });

    test("Markdown gives the verdict first and a row per finding, for a pull-request comment", () => {
        const markdown = render(report, "markdown", POLICIES, residencyOf);
        expect(markdown.split("\n").slice(0, 4)).toEqual([
            "### Cellplane policies 0.1.0: dev",
            "",
            "**The policy check passes.**",
            `${report.findings.length} violation(s), 0 exempted, 0 not evaluated.`,
        ]);
        expect(markdown.match(/^\| ❌ violation \|/gm)).toHaveLength(report.findings.length);
    });

    test("every format renders any finding text without breaking its syntax", () => {
        fc.assert(
            fc.property(fc.string(), fc.string(), (message, resource) => {
                const odd: PolicyReport = { ...report, findings: [{ ...report.findings[0], message, resource }] };
                expect(JSON.parse(render(odd, "json", POLICIES, residencyOf)).findings[0].message).toBe(message);
                expect(JSON.parse(render(odd, "sarif", POLICIES, residencyOf)).runs[0].results[0].message.text).toBe(message);
                const rows = render(odd, "markdown", POLICIES, residencyOf)
                    .split("\n")
                    .filter((l) => l.startsWith("| ❌"));
                expect(rows).toHaveLength(1);
                expect(rows[0].replaceAll("\\|", "").split("|")).toHaveLength(9);
            }),
            { numRuns: 50 },
        );
    });
});

describe("exceptions that expire", () => {
    const rds =
        "urn:pulumi:dev::cellplane::cellplane:index:Cell$cellplane:aws:RdsPostgres$aws:rds/instance:Instance::dev-eu-aws-postgres-db";
    const exception = (more: Partial<PolicyException> = {}): PolicyException => ({
        policy: "multi-az",
        urn: rds,
        reason: "dev keeps one database per cell to halve its cost",
        owner: "data-platform",
        expires: "2027-03-31",
        ...more,
    });

    test("an exempted violation is still reported, as exempted with its reason, and no longer fails", async () => {
        const urn = (await devReport()).findings.find((f) => f.policy === "multi-az" && f.resource === "dev-eu-aws-postgres-db")!.urn;
        const report = await devReport([exception({ urn })]);
        const exempted = report.findings.filter((f) => statusOf(f) === "exempted");
        expect(exempted.map((f) => [f.policy, f.resource, f.exempted?.owner])).toEqual([
            ["multi-az", "dev-eu-aws-postgres-db", "data-platform"],
        ]);
        expect(report.problems).toEqual([]);
        expect(render(report, "markdown", POLICIES, residencyOf)).toContain("⏸️ exempted");
        expect(
            JSON.parse(render(report, "sarif", POLICIES, residencyOf)).runs[0].results.filter(
                (r: { suppressions?: unknown }) => r.suppressions,
            ),
        ).toHaveLength(1);
    });

    test("an expired exception, or one that matches nothing, fails the check", async () => {
        const urn = (await devReport()).findings.find((f) => f.policy === "multi-az")!.urn;
        const report = await devReport([exception({ urn, expires: "2026-11-26" }), exception({ urn: `${rds}-gone` })]);
        expect(report.problems).toEqual([
            `exception of multi-az for ${urn} (owner data-platform) expired on 2026-11-26: fix the violation, or renew the exception with a new date and reason`,
            `exception of multi-az for ${rds}-gone (owner data-platform) matches no violation: remove it`,
        ]);
        expect(failures(report).problems).toHaveLength(2);
        expect(report.findings.some((f) => f.exempted)).toBe(false);
    });

    test("a file's bad entries are refused, naming the entry, the field and the fix; residency policies need an approver", () => {
        const file = writeExceptions([
            exception(),
            { ...exception(), policy: "no-such-policy" },
            exception({ policy: "residency-region" }),
            exception({ policy: "residency-region", approver: "data-platform" }),
            { ...exception(), expires: "next year", reason: "why" },
        ]);
        expect(loadExceptions(file).problems).toEqual([
            'exceptions.json[1].policy: "no-such-policy" is no policy of the pack',
            "exceptions.json[2].approver: is required: residency-region is a residency policy, so someone other than the owner approves",
            "exceptions.json[3].approver: must be someone other than the owner",
            "exceptions.json[4].reason: must say why the violation is accepted, in a sentence",
            "exceptions.json[4].expires: Invalid ISO date",
        ]);
        expect(loadExceptions(file).exceptions).toHaveLength(1);
    });

    test("the checked-in exceptions are valid and unexpired (npm run policy:check fails on one that matches nothing)", () => {
        const { exceptions, problems } = loadExceptions();
        expect(problems).toEqual([]);
        for (const e of exceptions) expect(e.expires >= new Date().toISOString().slice(0, 10)).toBe(true);
    });
});

describe("a policy that cannot evaluate", () => {
    const broken: ResourceValidationPolicy = {
        name: "broken",
        description: "fails on every resource",
        enforcementLevel: "mandatory",
        validateResource: () => {
            throw new Error("props.tags is undefined");
        },
    };

    test("is a finding of its own, not-evaluated, and fails the check when mandatory", async () => {
        const run: ProgramRun = await runStackFile("local");
        const found = await runPolicies(run.resources.slice(0, 1), {}, [broken]);
        expect(found).toEqual([
            expect.objectContaining({ policy: "broken", status: "not-evaluated", message: "could not evaluate: props.tags is undefined" }),
        ]);
        const report: PolicyReport = {
            pack: { name: "cellplane", version: "0" },
            stacks: [],
            findings: found.map((f) => ({ ...f, stack: "local" })),
            problems: [],
        };
        expect(failures(report).findings).toHaveLength(1);
        expect(JSON.parse(render(report, "sarif", [broken], () => undefined)).runs[0].results[0].kind).toBe("open");
    });
});

describe("the policy pack's config files", () => {
    test.each(stackNames())("policies/config/%s.json is valid against every policy's configSchema", (stack) => {
        expect(configProblems(`${stack}.json`, packConfigOf(stack))).toEqual([]);
    });

    test("an unknown policy, a bad level and a setting its schema refuses are each named", () => {
        const config = {
            "no-such-policy": "mandatory",
            "multi-az": "sometimes",
            "allowed-instance-types": { enforcementLevel: "mandatory", allowedSizes: ["huge"], colour: "red" },
        } as unknown as PackConfig;
        expect(configProblems("x.json", config)).toEqual([
            expect.stringMatching(
                /^x\.json: "no-such-policy" is no policy of the pack; policies: residency-guardrails, router-within-residency, /,
            ),
            "x.json: multi-az must be equal to one of the allowed values (advisory, mandatory, remediate, disabled)",
            'x.json: allowed-instance-types must NOT have additional properties: "colour" is no setting of allowed-instance-types',
            "x.json: allowed-instance-types.allowedSizes.0 must be equal to one of the allowed values (small, medium, large)",
        ]);
    });
});

describe("npm run policy:check", () => {
    test("writes each format to --out and fails (exit 1) on an expired exception, naming it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-policy-check-"));
        const expired = writeExceptions([
            {
                policy: "deletion-protection",
                urn: "urn:pulumi:local::cellplane::whatever::x",
                reason: "a test of an exception past its date",
                owner: "data-platform",
                expires: "2026-01-01",
            },
        ]);
        const result = spawnSync(
            path.join(ROOT, "node_modules", ".bin", "tsx"),
            ["scripts/policy-check.ts", "local", "--format", "sarif", "--out", path.join(dir, "local.sarif"), "--exceptions", expired],
            { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
        );
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("expired on 2026-01-01");
        expect(JSON.parse(fs.readFileSync(path.join(dir, "local.sarif"), "utf8")).runs[0].invocations[0].executionSuccessful).toBe(false);
    }, 120_000);
});
