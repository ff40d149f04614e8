import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { portAnswers } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";
import { ROOT, scratchProject } from "../../support/project";

/**
 * The real Pulumi engine (built by scripts/bootstrap.sh) running a program of dynamic resources, a file backend
 * and the passphrase secrets provider, and the policy pack loaded through `--policy-pack`.
 */
describe("the Pulumi engine", () => {
    const { dir: project, pulumi, ok } = scratchProject("cellplane-engine-");
    let port: number;
    const superuserPassword = randomBytes(12).toString("hex");
    const appPassword = randomBytes(12).toString("hex");

    beforeAll(async () => {
        port = await freePort();
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
        fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "engine-test", version: "0.0.0", main: "index.ts" }));
        fs.writeFileSync(
            path.join(project, "Pulumi.yaml"),
            "name: engine-test\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
        );
        fs.writeFileSync(
            path.join(project, "tsconfig.json"),
            JSON.stringify({
                compilerOptions: {
                    strict: true,
                    module: "commonjs",
                    moduleResolution: "node",
                    target: "es2022",
                    esModuleInterop: true,
                    skipLibCheck: true,
                },
            }),
        );
        fs.writeFileSync(
            path.join(project, "index.ts"),
            `
import * as pulumi from "@pulumi/pulumi";
import { LocalPostgresDatabase, LocalPostgresServer } from ${JSON.stringify(path.join(ROOT, "components", "local", "postgres"))};
const config = new pulumi.Config();
const superuserPassword = config.requireSecret("superuserPassword");
const server = new LocalPostgresServer("postgres", {
    label: "postgres of the engine test", dir: config.require("dir"), port: config.requireNumber("port"), superuser: "cellplane", superuserPassword,
});
new LocalPostgresDatabase("app", {
    server: pulumi.output({ label: "postgres of the engine test", dir: server.dir, port: server.port, superuser: "cellplane", superuserPassword }),
    database: "cellplane", owner: "cellplane_app", ownerPassword: config.requireSecret("appPassword"),
});
export const running = server.running;
`,
        );
        ok("stack", "init", "test");
        ok("config", "set", "dir", path.join(project, "..", `${path.basename(project)}-data`, "postgres"));
        ok("config", "set", "port", String(port));
        ok("config", "set", "--secret", "superuserPassword", superuserPassword);
        ok("config", "set", "--secret", "appPassword", appPassword);
    });

    afterAll(() => {
        pulumi("destroy", "--yes");
        fs.rmSync(project, { recursive: true, force: true });
        fs.rmSync(`${project}-data`, { recursive: true, force: true });
    });

    test("the CLI is 3.274.1 or later and not older than the @pulumi/pulumi SDK the program runs", () => {
        const version = (text: string) => text.trim().replace(/^v/, "").split(".").map(Number);
        const newer = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
        const cli = version(ok("version"));
        const sdk = version(
            JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version,
        );
        expect(newer(cli, [3, 274, 1])).toBeGreaterThanOrEqual(0);
        expect(newer(cli, sdk)).toBeGreaterThanOrEqual(0);
    });

    test("pulumi up creates a real server through the dynamic provider, and keeps secrets encrypted", async () => {
        ok("up", "--yes", "--skip-preview");
        expect(await portAnswers(port)).toBe(true);
        const client = new Client({ host: "127.0.0.1", port, user: "cellplane_app", password: appPassword, database: "cellplane" });
        await client.connect();
        await client.end();
        const state = ok("stack", "export");
        expect(state).not.toContain(superuserPassword);
        expect(state).not.toContain(appPassword);
    });

    test("a second up changes nothing; refresh reports a killed server; up repairs it", async () => {
        const again = ok("up", "--yes", "--skip-preview");
        expect(again).toMatch(/3 unchanged/);
        expect(again).not.toMatch(/\d+ (created|updated|replaced|deleted)/);
        const pid = Number(fs.readFileSync(path.join(`${project}-data`, "postgres", "server.pid"), "utf8"));
        process.kill(pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 300));
        const drift = ok("refresh", "--preview-only", "--diff");
        expect(drift).toMatch(/running\s*: true => false/);
        expect(drift).toMatch(/healthy\s*: true => false/);
        ok("up", "--yes", "--skip-preview", "--refresh");
        expect(await portAnswers(port)).toBe(true);
    });

    test("the policy pack runs through --policy-pack and rejects data kept inside the repository", () => {
        ok("preview", "--policy-pack", path.join(ROOT, "policies"));
        ok("config", "set", "dir", path.join(ROOT, "state", "postgres"));
        const rejected = pulumi("preview", "--policy-pack", path.join(ROOT, "policies"));
        ok("config", "set", "dir", path.join(`${project}-data`, "postgres"));
        expect(rejected.code).not.toBe(0);
        expect(rejected.out).toMatch(/local-state-outside-repo/);
        expect(rejected.out).toMatch(/keeps its data in .*\/state\/postgres, inside the repository/);
    });

    test("pulumi destroy leaves no process, port or data folder", async () => {
        ok("destroy", "--yes");
        expect(await portAnswers(port)).toBe(false);
        expect(fs.existsSync(path.join(`${project}-data`, "postgres"))).toBe(false);
    });
});
