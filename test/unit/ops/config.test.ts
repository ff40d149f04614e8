import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackFile } from "../../../scripts/ops/stackFile";
import { CELLPLANE, cellAdd, cellplane } from "../../support/cli";
import type { ResourceProps } from "../../../model/resourceProps";

const ROOT = path.join(__dirname, "..", "..", "..");

/** Each test edits its own copy of the shipped stack files through the real command line. */
function project() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-ops-"));
    for (const name of fs.readdirSync(ROOT).filter((n) => /^Pulumi\..+\.yaml$/.test(n)))
        fs.copyFileSync(path.join(ROOT, name), path.join(dir, name));
    const read = (stack: string) => fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8");
    const config = (stack: string) => StackFile.load(dir, stack).validate();
    return { dir, read, config, run: (...args: string[]) => cellplane(dir, args) };
}

describe("cellplane cell", () => {
    test("add appends the cell, prints the diff, keeps comments and the encryption salt", () => {
        const p = project();
        const result = p.run(...cellAdd({ env: "local", id: "local-eu-2", cloud: "local", region: "eu-local", residency: "eu" }));
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(
            "+    - {id: local-eu-2, cloud: local, region: eu-local, residency: eu, size: small, portBase: 15460}",
        );
        expect(p.read("local")).toMatch(/^# The embedded default/);
        expect(p.read("local")).toMatch(/encryptionsalt: v1:/);
        expect(p.config("local").cells.map((c) => c.id)).toEqual(["local-eu", "local-us", "local-eu-2"]);
    });

    test("a new cell never pulls a tenant away from its cell: the tenants it would move are pinned", () => {
        const p = project();
        const before = p.config("dev").tenants.map((t) => [t.id, t.cell]);
        const result = p.run(...cellAdd({ env: "dev", id: "dev-eu-2", cloud: "aws", region: "eu-central-1", residency: "eu" }));
        expect(result.code).toBe(0);
        expect(result.stdout).toContain("pinned initech, acme to their cells");
        expect(p.config("dev").tenants.map((t) => [t.id, t.cell])).toEqual(before);
    });

    test.each([
        [
            "a duplicate id",
            ["--id", "dev-eu-aws", "--cloud", "aws", "--region", "eu-west-1", "--residency", "eu"],
            `cellplane:cells[2].id: "dev-eu-aws" is already the id of cellplane:cells[0]. Cell ids must be unique`,
        ],
        [
            "an eu cell in a us region",
            ["--id", "dev-eu-2", "--cloud", "aws", "--region", "us-east-1", "--residency", "eu"],
            `cellplane:cells[2].region: "us-east-1" is not a aws region of residency eu. Allowed: eu-west-1`,
        ],
        [
            "a size the environment does not allow",
            ["--id", "dev-eu-2", "--cloud", "aws", "--region", "eu-west-1", "--residency", "eu", "--size", "large"],
            `cellplane:cells[2].size: "large" is not allowed in this environment. Allowed (cellplane:allowedSizes): small, medium`,
        ],
    ])("add refuses %s with the program's message and changes nothing", (_, args, message) => {
        const p = project();
        const before = p.read("dev");
        const result = p.run("cell", "add", "--env", "dev", ...args);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("refused, nothing changed");
        expect(result.stderr).toContain(message);
        expect(p.read("dev")).toBe(before);
    });

    test("remove refuses a cell that still holds tenants, naming them, and removes an empty one", () => {
        const p = project();
        const before = p.read("dev");
        const refused = p.run("cell", "remove", "--env", "dev", "--id", "dev-eu-aws");
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("cell dev-eu-aws still holds tenants acme, initech");
        expect(p.read("dev")).toBe(before);

        expect(p.run(...cellAdd({ env: "dev", id: "dev-eu-2", cloud: "aws", region: "eu-central-1", residency: "eu" })).code).toBe(0);
        const removed = p.run("cell", "remove", "--env", "dev", "--id", "dev-eu-2");
        expect(removed.code).toBe(0);
        expect(removed.stdout).toContain("-    - { id: dev-eu-2");
        expect(p.config("dev").cells.map((c) => c.id)).toEqual(["dev-eu-aws", "dev-us-azure"]);
    });

    test("--dry-run prints the change and writes nothing", () => {
        const p = project();
        const before = p.read("local");
        const result = p.run(
            ...cellAdd({ env: "local", id: "local-us-2", cloud: "local", region: "us-local", residency: "us" }, "--dry-run"),
        );
        expect(result.code).toBe(0);
        expect(result.stdout).toContain("+    - {id: local-us-2");
        expect(p.read("local")).toBe(before);
    });

    test("list shows every cell with its tenants and capacity, as a table and as JSON", () => {
        const p = project();
        expect(p.run("cell", "list", "--env", "prod").stdout).toMatch(
            /prod\s+prod-us-aws-1\s+aws\s+us-east-1\s+us\s+large\s+2\/100 umbrella hooli/,
        );
        const rows = JSON.parse(p.run("cell", "list", "--env", "dev", "--json").stdout);
        expect(rows.map((r: ResourceProps) => [r.id, r.tenants])).toEqual([
            ["dev-eu-aws", ["acme", "initech"]],
            ["dev-us-azure", ["globex"]],
        ]);
    });

    test("usage errors exit 2 and name the option", () => {
        const p = project();
        const result = p.run("cell", "add", "--env", "moon", "--id", "x");
        expect(result.code).toBe(2);
        expect(result.stderr).toContain("option '--env <env>' argument 'moon' is invalid. Allowed choices are dev, staging, prod, local");
    });
});

describe("cellplane tenant", () => {
    test("add places the tenant on the least-loaded cell of its residency", () => {
        const p = project();
        p.run(...cellAdd({ env: "prod", id: "prod-eu-aws-2", cloud: "aws", region: "eu-west-1", residency: "eu" }, "--size", "medium"));
        const result = p.run(
            "tenant",
            "add",
            "--env",
            "prod",
            "--id",
            "tyrell",
            "--residency",
            "eu",
            "--events-per-second",
            "500",
            "--json",
        );
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual({ tenant: "tyrell", cell: "prod-eu-aws-2", load: 1, capacity: 40 });
        expect(p.config("prod").tenants.find((t) => t.id === "tyrell")).toEqual({
            id: "tyrell",
            residency: "eu",
            cell: "prod-eu-aws-2",
            quotas: { eventsPerSecond: 500, apiRequestsPerMinute: 6000, maxStorageGb: 500 },
        });
    });

    test("add refuses a tenant when every cell of its residency is full (the blast-radius limit)", () => {
        const p = project();
        // Nine more eu tenants fill local-eu (10 tenants); the command's own placement is tested above.
        const file = path.join(p.dir, "Pulumi.local.yaml");
        const filler = Array.from({ length: 9 }, (_, i) => `    - {id: eu-tenant-${i}, residency: eu}\n`).join("");
        fs.writeFileSync(
            file,
            p.read("local").replace("    - {id: globex, residency: us}\n", (globex) => globex + filler),
        );
        expect(p.config("local").tenants.filter((t) => t.cell === "local-eu")).toHaveLength(10);
        const before = p.read("local");
        const refused = p.run("tenant", "add", "--env", "local", "--id", "one-too-many", "--residency", "eu");
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`cellplane:tenants[11].residency: "eu" has no cell with capacity left (local-eu 10/10)`);
        expect(p.read("local")).toBe(before);
    });

    test("move prints the plan, pins the tenant, and refuses a move across residencies, online or not", () => {
        const p = project();
        const before = p.read("prod");
        const refused = p.run("tenant", "move", "--env", "prod", "--id", "acme", "--to", "prod-us-aws-1");
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(
            "tenant acme is pinned to residency eu and cell prod-us-aws-1 is in us; a tenant's data never leaves its residency",
        );
        expect(p.read("prod")).toBe(before);
        const online = p.run("tenant", "move", "--env", "prod", "--id", "acme", "--to", "prod-us-aws-1", "--execute");
        expect(online.code).toBe(1);
        expect(online.stderr).toContain("a tenant's data never leaves its residency");
        expect(p.read("prod")).toBe(before);

        const moved = p.run("tenant", "move", "--env", "prod", "--id", "acme", "--to", "prod-eu-azure-1");
        expect(moved.code).toBe(0);
        expect(moved.stdout).toContain("move tenant acme (eu): prod-eu-aws-1 → prod-eu-azure-1");
        expect(moved.stdout).toContain("analytics.events WHERE org_id = 'acme'");
        expect(p.config("prod").tenants.find((t) => t.id === "acme")!.cell).toBe("prod-eu-azure-1");
        expect(p.config("prod").tenants.find((t) => t.id === "wayne")!.cell).toBe("prod-eu-aws-1");
    });

    test("list shows each tenant's cell and quotas", () => {
        const rows = JSON.parse(project().run("tenant", "list", "--env", "prod", "--json").stdout);
        expect(rows.find((r: ResourceProps) => r.id === "hooli")).toEqual({
            stack: "prod",
            id: "hooli",
            residency: "us",
            cell: "prod-us-aws-1",
            quotas: { eventsPerSecond: 20000, apiRequestsPerMinute: 20000, maxStorageGb: 500 },
        });
    });
});

describe("cellplane drift without a backend", () => {
    test("a cloud environment with no backend is reported unreachable, with exit 2", () => {
        const env = { ...process.env };
        delete env.PULUMI_BACKEND_URL;
        const p = project();
        const result = cellplane(p.dir, ["drift", "--env", "prod", "--json"], env);
        expect(result.code).toBe(2);
        expect(JSON.parse(result.stdout).stacks).toEqual([
            expect.objectContaining({
                stack: "prod",
                status: "unreachable",
                message: expect.stringContaining("no backend for environment prod: set PULUMI_BACKEND_URL"),
            }),
        ]);
    });
});

describe("stack-file edits", () => {
    test("concurrent edits never lose one: each is written or refused, and the file keeps its mode", async () => {
        const p = project();
        const file = path.join(p.dir, "Pulumi.dev.yaml");
        fs.chmodSync(file, 0o600);
        const ids = Array.from({ length: 6 }, (_, i) => `racer-${i}`);
        const results = await Promise.all(
            ids.map(
                (id) =>
                    new Promise<{ id: string; code: number | null; out: string }>((resolve) => {
                        const child = spawn(CELLPLANE, ["-C", p.dir, "tenant", "add", "--env", "dev", "--id", id, "--residency", "eu"]);
                        let out = "";
                        child.stdout.on("data", (d) => (out += d));
                        child.stderr.on("data", (d) => (out += d));
                        child.on("close", (code) => resolve({ id, code, out }));
                    }),
            ),
        );
        const written = results.filter((r) => r.code === 0).map((r) => r.id);
        for (const refused of results.filter((r) => r.code !== 0)) expect(refused.out).toContain("changed since this command read it");
        expect(written.length).toBeGreaterThan(0);
        expect(
            p
                .config("dev")
                .tenants.map((t) => t.id)
                .filter((id) => id.startsWith("racer-"))
                .sort(),
        ).toEqual(written.sort());
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.readdirSync(p.dir).filter((n) => n.endsWith(".tmp") || n.endsWith(".lock"))).toEqual([]);
    }, 120_000);
});

describe("cellplane tenant quarantine | pin | release", () => {
    const auditOf = (dir: string) =>
        fs
            .readFileSync(path.join(dir, "audit", "routing-overrides.dev.jsonl"), "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line));

    test("each writes the override with who, when and why to the stack file, and appends the change to the audit log", () => {
        const p = project();
        const quarantine = p.run("tenant", "quarantine", "--env", "dev", "--id", "acme", "--reason", "abuse report 42", "--by", "ops-a");
        expect(quarantine.code).toBe(0);
        expect(quarantine.stdout).toMatch(
            /\+ {2}cellplane:routingOverrides:\n\+ {4}acme: { action: "quarantine", reason: "abuse report 42", by: "ops-a", at: "20\d\d-[^"]+Z" }/,
        );
        expect(p.config("dev").routingOverrides.acme).toMatchObject({ action: "quarantine", reason: "abuse report 42", by: "ops-a" });

        expect(
            p.run("tenant", "pin", "--env", "dev", "--id", "acme", "--cell", "dev-eu-aws", "--reason", "drill", "--by", "ops-b").code,
        ).toBe(0);
        expect(p.config("dev").routingOverrides.acme).toMatchObject({ action: "pin", cell: "dev-eu-aws" });
        expect(p.run("tenant", "release", "--env", "dev", "--id", "acme", "--reason", "resolved", "--by", "ops-a").code).toBe(0);
        expect(p.read("dev")).not.toContain("routingOverrides");

        expect(auditOf(p.dir).map((r) => [r.tenant, r.action, r.by, r.reason, r.before?.action ?? null])).toEqual([
            ["acme", "quarantine", "ops-a", "abuse report 42", null],
            ["acme", "pin", "ops-b", "drill", "quarantine"],
            ["acme", "release", "ops-a", "resolved", "pin"],
        ]);
    });

    test.each([
        [
            "a pin to another residency's cell",
            ["pin", "--id", "acme", "--cell", "dev-us-azure"],
            'cellplane:routingOverrides.acme.cell: "dev-us-azure" is a cell of residency us; tenant acme is pinned within residency eu only: dev-eu-aws',
        ],
        ["an unknown tenant", ["quarantine", "--id", "nobody"], '--id nobody: no stack of environment dev has tenant "nobody"'],
        ["a release of nothing", ["release", "--id", "acme"], "--id acme: tenant acme has no override to release"],
    ])("%s is refused by name, and nothing is written", (_what, args, message) => {
        const p = project();
        const before = p.read("dev");
        const result = p.run("tenant", ...args, "--env", "dev", "--reason", "because");
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(message);
        expect(p.read("dev")).toBe(before);
        expect(fs.existsSync(path.join(p.dir, "audit"))).toBe(false);
    });
});
