import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client, Pool } from "pg";
import { migrate, MIGRATIONS } from "../../../apps/shared/migrations";
import {
    dropDatabase,
    dropMonitorRole,
    ensureDatabase,
    ensureMonitorRole,
    monitorRoleIntact,
    readDatabase,
} from "../../../components/local/postgresObjects";
import { destroyPostgres, PostgresServerSpec, postgresStatus, startPostgres } from "../../../components/local/postgresServer";
import { isAlive, portAnswers } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";

/** A real PostgreSQL 16 server in a folder of its own, on a free port. */
describe("a local Postgres server", () => {
    let spec: PostgresServerSpec;
    const app = { database: "cellplane", owner: "cellplane_app", ownerPassword: "app-password-1" };
    const connectAs = async (user: string, password: string, database: string) => {
        const client = new Client({ host: "127.0.0.1", port: spec.port, user, password, database });
        await client.connect();
        return client;
    };
    const connectAsApp = (password = app.ownerPassword) => connectAs(app.owner, password, app.database);
    const connectAsSuperuser = () => connectAs(spec.superuser, spec.superuserPassword, "postgres");

    beforeAll(async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-pg-"));
        fs.chmodSync(root, 0o755);
        spec = {
            label: "postgres of cell test-eu",
            dir: path.join(root, "postgres"),
            port: await freePort(),
            superuser: "cellplane",
            superuserPassword: "superuser-password-1",
        };
    });
    afterAll(async () => {
        await destroyPostgres(spec);
        fs.rmSync(path.dirname(spec.dir), { recursive: true, force: true });
    });

    test("starts, answers a real client, and a second start is a no-op", async () => {
        const pid = await startPostgres(spec);
        expect(isAlive(pid)).toBe(true);
        expect(await postgresStatus(spec)).toEqual({ running: true, pid });
        expect(await startPostgres(spec)).toBe(pid);
        const version = new Client({
            host: "127.0.0.1",
            port: spec.port,
            user: spec.superuser,
            password: spec.superuserPassword,
            database: "postgres",
        });
        await version.connect();
        expect((await version.query("show server_version")).rows[0].server_version).toMatch(/^16\./);
        await version.end();
    });

    test("creates the app's role and database, and the role can log in", async () => {
        expect(await readDatabase(spec, app)).toEqual({
            databaseExists: false,
            databaseOwner: undefined,
            roleExists: false,
            roleCanLogin: false,
        });
        await ensureDatabase(spec, app);
        expect(await readDatabase(spec, app)).toEqual({
            databaseExists: true,
            databaseOwner: app.owner,
            roleExists: true,
            roleCanLogin: true,
        });
        const client = await connectAsApp();
        await client.query("create table t (id int)");
        await client.end();
    });

    test("migrates the cell's schema once, however many app replicas start together", async () => {
        const setup = await connectAsApp();
        await setup.query("CREATE SCHEMA IF NOT EXISTS cellplane");
        await setup.end();
        const pools = Array.from(
            { length: 4 },
            () => new Pool({ host: "127.0.0.1", port: spec.port, user: app.owner, password: app.ownerPassword, database: app.database }),
        );
        const applied = await Promise.all(pools.map((pool) => migrate(pool)));
        expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.id));
        expect(await migrate(pools[0])).toEqual([]);
        const history = await pools[0].query("SELECT id FROM cellplane.schema_migrations ORDER BY id");
        expect(history.rows.map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));
        // A later step is applied alone, after the ones already there.
        const next = { id: "9999_probe", statements: ["CREATE TABLE cellplane.probe (id int)"] };
        expect(await migrate(pools[1], [...MIGRATIONS, next])).toEqual([next.id]);
        await Promise.all(pools.map((pool) => pool.end()));
    });

    test("refuses a wrong password", async () => {
        await expect(connectAsApp("wrong")).rejects.toThrow(/password authentication failed/);
    });

    test("repairs a role changed by hand", async () => {
        const admin = await connectAsSuperuser();
        await admin.query(`alter role ${app.owner} nologin`);
        await admin.end();
        expect((await readDatabase(spec, app)).roleCanLogin).toBe(false);
        await ensureDatabase(spec, app);
        expect((await readDatabase(spec, app)).roleCanLogin).toBe(true);
    });

    test("the monitoring role reads the server's statistics and nothing of the app's; losing pg_monitor reads as damaged", async () => {
        const monitor = { role: "cellplane_monitor" };
        await ensureMonitorRole(spec, monitor, "monitor-password-1");
        expect(await monitorRoleIntact(spec, monitor)).toBe(true);
        const client = await connectAs(monitor.role, "monitor-password-1", app.database);
        try {
            const rights = await client.query(
                "select pg_has_role('pg_read_all_stats', 'member') as stats, rolsuper from pg_roles where rolname = current_user",
            );
            expect(rights.rows).toEqual([{ stats: true, rolsuper: false }]);
            await expect(client.query("create table cellplane.spy (x int)")).rejects.toThrow(/permission denied/);
        } finally {
            await client.end();
        }
        const admin = await connectAsSuperuser();
        for (const damage of [`revoke pg_monitor from ${monitor.role}`, `alter role ${monitor.role} superuser`]) {
            await admin.query(damage);
            expect([damage, await monitorRoleIntact(spec, monitor)]).toEqual([damage, false]);
            await ensureMonitorRole(spec, monitor, "monitor-password-1");
            expect([damage, await monitorRoleIntact(spec, monitor)]).toEqual([damage, true]);
        }
        await admin.end();
        await dropMonitorRole(spec, monitor);
        expect(await monitorRoleIntact(spec, monitor)).toBe(false);
    });

    test("a killed server reads as stopped, and restarts with its data", async () => {
        const { pid } = await postgresStatus(spec);
        process.kill(pid!, "SIGKILL");
        await new Promise((r) => setTimeout(r, 300));
        expect(await postgresStatus(spec)).toEqual({ running: false });
        await startPostgres(spec);
        const client = await connectAsApp();
        expect((await client.query("select count(*)::int as n from t")).rows[0].n).toBe(0);
        await client.end();
    });

    test("refuses a port that another process holds, naming the port and the server", async () => {
        const blocker = net.createServer().listen(0, "127.0.0.1");
        await new Promise((r) => blocker.once("listening", r));
        const port = (blocker.address() as net.AddressInfo).port;
        const other = { ...spec, label: "postgres of cell test-us", dir: path.join(path.dirname(spec.dir), "other"), port };
        await expect(startPostgres(other)).rejects.toThrow(
            `port ${port} for postgres of cell test-us is already in use by another process`,
        );
        blocker.close();
        fs.rmSync(other.dir, { recursive: true, force: true });
    });

    test("dropping the database removes it and its role; destroying the server leaves no process, port or folder", async () => {
        await dropDatabase(spec, app);
        expect(await readDatabase(spec, app)).toMatchObject({ databaseExists: false, roleExists: false });
        const { pid } = await postgresStatus(spec);
        await destroyPostgres(spec);
        expect(isAlive(pid!)).toBe(false);
        expect(await portAnswers(spec.port)).toBe(false);
        expect(fs.existsSync(spec.dir)).toBe(false);
    });
});
