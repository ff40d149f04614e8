/**
 * `npm run policy:check [--] [stack…] [--format table|json|sarif|markdown] [--out <file>] [--exceptions <file>]`:
 * runs the policy pack over every stack's resource graph, built offline, with the stack's
 * `policies/config/<stack>.json` levels and the pack's exceptions. Exits 1 on a mandatory violation not exempted, a
 * mandatory policy that could not evaluate, or a problem of the config or exceptions files.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { packConfigOf, runPolicies } from "../policies/check/engine";
import { configProblems } from "../policies/check/configFile";
import { applyExceptions, EXCEPTIONS_FILE, Finding, loadExceptions } from "../policies/check/exceptions";
import { failures, Format, FORMATS, PolicyReport, render, summaryOf } from "../policies/check/report";
import { PACK_NAME, POLICIES } from "../policies/pack";
import { runStackFile, stackConfig, stackNames } from "../offline/runStack";

const PACK_VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policies", "package.json"), "utf8")) as { version: string })
    .version;

async function main() {
    const { values, positionals } = parseArgs({
        allowPositionals: true,
        options: {
            format: { type: "string", default: "table" },
            out: { type: "string" },
            exceptions: { type: "string", default: EXCEPTIONS_FILE },
        },
    });
    const format = values.format as Format;
    if (!FORMATS.includes(format)) throw new Error(`--format ${format}: choose one of ${FORMATS.join(", ")}`);
    const stacks = positionals.length > 0 ? positionals : stackNames();
    const { exceptions, problems } = loadExceptions(values.exceptions);
    const report: PolicyReport = { pack: { name: PACK_NAME, version: PACK_VERSION }, stacks: [], findings: [], problems };

    for (const stack of stacks) {
        const started = Date.now();
        const config = packConfigOf(stack);
        report.problems.push(...configProblems(`policies/config/${stack}.json`, config));
        const run = await runStackFile(stack);
        const found = await runPolicies(run.resources, config);
        report.findings.push(...found.map((v): Finding => ({ ...v, stack })));
        report.stacks.push({ stack, resources: run.resources.length, seconds: (Date.now() - started) / 1000 });
        console.error(`${stack}: ${POLICIES.length} policies over ${run.resources.length} resources: ${found.length} finding(s)`);
    }
    report.problems.push(...applyExceptions(report.findings, exceptions, stacks));

    const residencies = new Map(
        stacks.flatMap((stack) =>
            (stackConfig(stack).cells as { id: string; residency: string }[]).map((c) => [`${stack}/${c.id}`, c.residency]),
        ),
    );
    const output = render(report, format, POLICIES, (f) => (f.cell ? residencies.get(`${f.stack}/${f.cell}`) : undefined));
    if (values.out) {
        fs.writeFileSync(values.out, output);
        console.error(`wrote the ${format} report to ${values.out}`);
    } else process.stdout.write(output);

    for (const problem of report.problems) console.error(`problem: ${problem}`);
    const summary = summaryOf(report);
    const failing = failures(report);
    console.error(
        `${summary.violations} violation(s), ${summary.exempted} exempted, ${summary.notEvaluated} not evaluated, ${report.problems.length} problem(s) of the files: ${failing.findings.length + failing.problems.length > 0 ? "failing" : "no mandatory violation"}.`,
    );
    process.exit(failing.findings.length + failing.problems.length > 0 ? 1 : 0);
}

main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
});
