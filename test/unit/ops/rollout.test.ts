import * as fc from "fast-check";
import type { CellConfig } from "../../../model/config";
import { CLOUDS, RESIDENCIES } from "../../../model/residency";
import { SIZES } from "../../../model/sizing";
import { ROUTERS, wavesOf } from "../../../scripts/ops/rollout";

const cell = (id: string, residency: string, cloud: string, size = "small") => ({ id, residency, cloud, size, region: "r" }) as CellConfig;

describe("a rollout's waves", () => {
    const cells = [
        cell("eu-aws-1", "eu", "aws", "large"),
        cell("eu-aws-2", "eu", "aws"),
        cell("eu-az-1", "eu", "azure"),
        cell("us-aws-1", "us", "aws", "medium"),
        cell("us-aws-2", "us", "aws"),
        cell("us-aws-3", "us", "aws"),
    ];
    const tenants: Record<string, number> = { "eu-aws-2": 3, "us-aws-2": 0, "us-aws-3": 1 };
    const tenantsOf = (id: string) => tenants[id] ?? 0;
    const all = new Set([...cells.map((c) => c.id), ROUTERS]);

    test("start with the smallest cell of fewest tenants, then one of each residency and cloud, then batches, and the routers last", () => {
        expect(wavesOf(cells, tenantsOf, all, { batch: 2, routersChange: true })).toEqual([
            { name: "canary eu-az-1", steps: [["eu-az-1"]] },
            { name: "one cell of each residency and cloud", steps: [["eu-aws-2"], ["us-aws-2"]] },
            { name: "batch 1", steps: [["eu-aws-1", "us-aws-1"]] },
            { name: "batch 2", steps: [["us-aws-3"]] },
            { name: ROUTERS, steps: [[ROUTERS]] },
        ]);
    });

    test("take a named canary, and leave out the cells the preview finds unchanged", () => {
        const changed = new Set(["eu-aws-1", "us-aws-1", "us-aws-3"]);
        expect(wavesOf(cells, tenantsOf, changed, { canary: "us-aws-1", batch: 5, routersChange: false })).toEqual([
            { name: "canary us-aws-1", steps: [["us-aws-1"]] },
            { name: "one cell of each residency and cloud", steps: [["eu-aws-1"]] },
            { name: "batch 1", steps: [["us-aws-3"]] },
        ]);
        expect(wavesOf(cells, tenantsOf, new Set(), { batch: 2, routersChange: false })).toEqual([]);
    });

    test("update every changed cell exactly once, each residency and cloud before any batch, and the routers only at the end", () => {
        const anyCells = fc.uniqueArray(
            fc.record({
                id: fc.stringMatching(/^[a-z][a-z0-9]{2,8}$/),
                residency: fc.constantFrom(...RESIDENCIES),
                cloud: fc.constantFrom(...CLOUDS),
                size: fc.constantFrom(...SIZES),
            }),
            { selector: (c) => c.id, minLength: 1, maxLength: 12 },
        );
        fc.assert(
            fc.property(anyCells, fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.func(fc.nat(5)), (raw, batch, routersChange, count) => {
                const some = raw.map((c) => ({ ...c, region: "r" }));
                const changed = new Set(some.filter((_, i) => i % 3 !== 1).map((c) => c.id));
                const waves = wavesOf(some, (id) => count(id), changed, { batch, routersChange });
                const order = waves.flatMap((w) => w.steps.flat()).filter((id) => id !== ROUTERS);
                expect([...order].sort()).toEqual([...changed].sort());
                expect(waves.flatMap((w) => w.steps.flat()).indexOf(ROUTERS)).toBe(routersChange ? order.length : -1);
                const kinds = new Set(some.filter((c) => changed.has(c.id)).map((c) => `${c.residency}/${c.cloud}`));
                const firstBatch = waves.findIndex((w) => w.name.startsWith("batch"));
                const beforeBatches = waves.slice(0, firstBatch < 0 ? waves.length : firstBatch).flatMap((w) => w.steps.flat());
                const covered = new Set(some.filter((c) => beforeBatches.includes(c.id)).map((c) => `${c.residency}/${c.cloud}`));
                expect(covered).toEqual(kinds);
                for (const wave of waves) for (const step of wave.steps) expect(step.length).toBeLessThanOrEqual(Math.max(batch, 1));
            }),
        );
    });
});
