/**
 * `npm run policy:check [stack…]`: runs the policy pack over every stack's resource graph, built offline, with
 * the stack's `policies/config/<stack>.json` levels. Prints one row per violation and exits 1 on any mandatory one.
 */
import { packConfigOf, runPolicies } from "../policies/check/engine";
import { POLICIES } from "../policies/pack";
import { runStackFile, stackNames } from "../offline/runStack";

function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).join("\n");
}

async function main() {
    const stacks = process.argv.slice(2).length ? process.argv.slice(2) : stackNames();
    const rows: string[][] = [["STACK", "POLICY", "RESOURCE", "LEVEL", "MESSAGE"]];
    let mandatory = 0;
    for (const stack of stacks) {
        const started = Date.now();
        const run = await runStackFile(stack);
        const violations = await runPolicies(run.resources, packConfigOf(stack));
        console.log(
            `${stack}: ${POLICIES.length} policies over ${run.resources.length} resources in ${((Date.now() - started) / 1000).toFixed(1)} s: ${violations.length} violation(s)`,
        );
        mandatory += violations.filter((v) => v.level === "mandatory").length;
        rows.push(...violations.map((v) => [stack, v.policy, v.resource, v.level, v.message]));
    }
    console.log(rows.length > 1 ? `\n${table(rows)}\n` : "\nno violations\n");
    console.log(mandatory > 0 ? `${mandatory} mandatory violation(s): failing.` : "no mandatory violation.");
    process.exit(mandatory > 0 ? 1 : 0);
}

main().catch((error) => {
    console.error(error);
    process.exit(2);
});
