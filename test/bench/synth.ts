/**
 * `npm run bench:synth`: how the cost of running the program grows with the number of cells. Runs the stack
 * program under Pulumi mocks (no engine, no cloud) for 1, 10 and 50 cells over all three targets and prints
 * seconds, resources and resources per second.
 */
import { performance } from "perf_hooks";
import { runStack } from "../support/harness";

const TARGETS = [
    { cloud: "aws", eu: "eu-west-1", us: "us-east-1" },
    { cloud: "azure", eu: "westeurope", us: "eastus" },
    { cloud: "kubernetes", eu: "eu-central-1", us: "us-west-2" },
] as const;

function environmentOf(cells: number) {
    return {
        environment: "prod",
        owner: "bench",
        costCenter: "bench",
        cells: Array.from({ length: cells }, (_, i) => {
            const target = TARGETS[i % TARGETS.length];
            const residency = i % 2 === 0 ? "eu" : "us";
            const kubeContext = target.cloud === "kubernetes" ? { kubeContext: `cluster-${residency}` } : {};
            return { id: `cell-${i}`, cloud: target.cloud, region: target[residency], residency, size: "medium", ...kubeContext };
        }),
        tenants: Array.from({ length: cells * 2 }, (_, i) => ({ id: `tenant-${i}`, residency: cells === 1 || i % 2 === 0 ? "eu" : "us" })),
    };
}

async function main() {
    // Pulumi captures a stack trace per resource; with source maps on (tsx's default) formatting them costs
    // about a third of the run, which `pulumi up` does not pay per resource in the same way.
    process.setSourceMapsEnabled(false);
    const sizes = process.argv
        .slice(2)
        .map(Number)
        .filter((n) => n > 0);
    console.log(`start-up (node, TypeScript and provider SDK load): ${(performance.now() / 1000).toFixed(2)} s`);
    const started = performance.now();
    await runStack(environmentOf(1));
    console.log(`warm-up run: ${((performance.now() - started) / 1000).toFixed(2)} s`);
    console.log("cells  resources  seconds  resources/s  ms/cell");
    for (const cells of sizes.length ? sizes : [1, 10, 50]) {
        const start = performance.now();
        const run = await runStack(environmentOf(cells));
        const seconds = (performance.now() - start) / 1000;
        const resources = run.resources.length;
        console.log(
            `${String(cells).padStart(5)}  ${String(resources).padStart(9)}  ${seconds.toFixed(2).padStart(7)}  ${(resources / seconds).toFixed(0).padStart(11)}  ${((seconds * 1000) / cells).toFixed(0).padStart(7)}`,
        );
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
