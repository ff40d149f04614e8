/**
 * `npm run synth -- <stack> [--json]`: builds a stack's whole resource graph offline (Pulumi mocks, no cloud
 * account) and prints what each cell, and each cluster that cells share, would create and where every tenant is routed.
 */
import { parseArgs } from "util";
import { ConfigError } from "../model/config";
import { MockedResource, ProgramRun, runStackFile, stackNames } from "../offline/runStack";

function countByType(resources: MockedResource[]): [string, number][] {
    const counts = new Map<string, number>();
    for (const r of resources) if (!r.type.startsWith("cellplane:")) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => a.localeCompare(b));
}

function printCounts(heading: string, types: [string, number][]) {
    console.log(`${heading} · ${types.reduce((n, [, c]) => n + c, 0)} resources`);
    for (const [type, count] of types) console.log(`    ${String(count).padStart(3)} × ${type}`);
}

/** Kubernetes clusters that cells share: their provider and operators, outside every cell (`ClusterOperators`). */
function sharedClusters(run: ProgramRun): Map<string, MockedResource[]> {
    const clusters = new Map<string, MockedResource[]>();
    for (const r of run.resources.filter((x) => x.type === "pulumi:providers:kubernetes" && x.parent === undefined)) {
        const owned = run.resources.filter((x) => x.cell === undefined && (x === r || x.provider?.startsWith(`${r.urn}::`)));
        clusters.set(`${r.name} (kube context ${r.inputs.context})`, owned);
    }
    return clusters;
}

function print(stack: string, run: ProgramRun) {
    const { cells, routing } = run.outputs;
    const ids = Object.keys(cells);
    console.log(
        `stack ${stack}: ${ids.length} cells, ${Object.keys(routing).length} tenants, ${run.resources.length} resources (offline: Pulumi mocks, nothing created)\n`,
    );
    for (const id of ids) {
        const cell = cells[id];
        printCounts(
            `cell ${id}: ${cell.cloud} ${cell.region} · residency ${cell.residency} · size ${cell.size}`,
            countByType(run.resources.filter((r) => r.cell === id)),
        );
    }
    for (const [cluster, resources] of sharedClusters(run)) printCounts(`cluster ${cluster}, shared by its cells`, countByType(resources));
    console.log("\nrouting (tenant → cell → residency):");
    for (const [tenant, route] of Object.entries(routing)) {
        console.log(
            `    ${tenant.padEnd(16)} → ${route.cell.padEnd(18)} ${route.residency}  ${route.cloud} ${route.region}  kafka ${route.endpoints.kafkaBootstrap.split(",")[0]}`,
        );
    }
}

async function main() {
    const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: "boolean", default: false } } });
    const stack = positionals[0];
    if (!stack) {
        console.error(`usage: npm run synth -- <stack> [--json]   (stacks: ${stackNames().join(", ")})`);
        process.exit(2);
    }
    const run = await runStackFile(stack);
    if (values.json)
        console.log(
            JSON.stringify(
                { stack, outputs: run.outputs, resources: run.resources.map(({ urn, type, name, cell }) => ({ urn, type, name, cell })) },
                null,
                2,
            ),
        );
    else print(stack, run);
}

main().catch((error) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
});
