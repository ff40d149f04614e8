import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { moduleProvider } from "../../../components/dynamic";
import { portAnswers } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";
import type { ResourceProps } from "../../../model/resourceProps";

const ROOT = path.join(__dirname, "..", "..", "..");

/**
 * Calls a provider method the way Pulumi's dynamic-provider host does: in a separate Node process started in the
 * project folder, from the provider's serialized text loaded with require-from-string.
 */
async function callSerialized(provider: pulumi.dynamic.ResourceProvider, method: string, ...args: unknown[]): Promise<ResourceProps> {
    const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    const script = `
        const provider = require("require-from-string")(process.env.PROVIDER).handler();
        provider[process.argv[1]](...JSON.parse(process.argv[2])).then(
            (result) => process.stdout.write(JSON.stringify(result ?? null)),
            (error) => { process.stderr.write(String(error.stack)); process.exit(1); });`;
    const out = execFileSync("node", ["-e", script, method, JSON.stringify(args)], {
        cwd: ROOT,
        env: { ...process.env, PROVIDER: text },
        encoding: "utf8",
    });
    return JSON.parse(out);
}

describe("a dynamic provider serialized into the state", () => {
    const server = moduleProvider(path.join(ROOT, "components", "local", "providers", "postgresServer.ts"));
    const database = moduleProvider(path.join(ROOT, "components", "local", "providers", "postgresDatabase.ts"));
    let props: ResourceProps;

    beforeAll(async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-dyn-"));
        fs.chmodSync(dir, 0o755);
        props = {
            label: "postgres of cell dyn-eu",
            dir: path.join(dir, "postgres"),
            port: await freePort(),
            superuser: "cellplane",
            superuserPassword: "first-password",
        };
    });
    afterAll(() => fs.rmSync(path.dirname(props.dir), { recursive: true, force: true }));

    test("is small: it carries the module path, not the implementation", async () => {
        const { text } = await pulumi.runtime.serializeFunction(() => server, { allowSecrets: true });
        expect(text).toContain("providers/postgresServer.ts");
        expect(text).not.toContain("initdb");
        expect(text.length).toBeLessThan(5_000);
    });

    test("creates, reads, repairs and deletes a real server from another process", async () => {
        const created = await callSerialized(server, "create", props);
        expect(created).toEqual({ id: props.dir, outs: { ...props, running: true } });
        expect(await portAnswers(props.port)).toBe(true);

        const app = { server: props, database: "cellplane", owner: "cellplane_app", ownerPassword: "app-password" };
        expect((await callSerialized(database, "create", app)).outs.healthy).toBe(true);

        const pid = Number(fs.readFileSync(path.join(props.dir, "server.pid"), "utf8"));
        process.kill(pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 300));
        const drifted = await callSerialized(server, "read", props.dir, created.outs);
        expect(drifted.props.running).toBe(false);
        expect(await callSerialized(server, "diff", props.dir, drifted.props, props)).toMatchObject({ changes: true, replaces: [] });

        const rotated = { ...props, superuserPassword: "second-password" };
        expect((await callSerialized(server, "update", props.dir, drifted.props, rotated)).outs).toEqual({ ...rotated, running: true });
        expect((await callSerialized(database, "read", "id", { ...app, server: rotated })).props.healthy).toBe(true);

        await callSerialized(database, "delete", "id", { ...app, server: rotated });
        await callSerialized(server, "delete", props.dir, rotated);
        expect(await portAnswers(props.port)).toBe(false);
        expect(fs.existsSync(props.dir)).toBe(false);
    });
});
