import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Pool, PoolClient } from "pg";
import { KEY_CACHE_TTL_MS, revokeTenantKeys } from "../../apps/shared/apiKeys";
import { SERVER_TIMEOUTS } from "../../apps/shared/http";
import type { MoveState } from "../../apps/shared/tenantMoves";
import { RollupRefresher } from "../../apps/ingest/rollups";
import { defaultStateHome } from "../../stacks/stateHome";
import { clickhouseOfCell, exportFilesOf, withCellPostgres } from "./cellClients";
import { Refusal, stacksOf } from "./environment";
import type { CellOutputs } from "./keys";
import { stackPlacing, tenantHome } from "./keys";
import { writeRoutingFile } from "./reconcile";
import { ownersOf, ROUTERS } from "./rollout";
import { StackFile, writeDurably } from "./stackFile";
import { deleteTenantData, deleteTenantEvents, drained, prefixOf, rowCountsOf, TENANT_ROWS } from "./tenantData";
import { moveTenant } from "./tenants";
import { openStack } from "./workspace";

/** The steps of an online move, in order; each is journalled once done, so a crashed move resumes after the last. */
export const MOVE_STEPS = ["fence", "drain", "clone", "verify", "flip", "bake", "forget"] as const;
export type MoveStep = (typeof MOVE_STEPS)[number];

/** What a tenant holds in a cell, to compare the copy with the original. */
export interface TenantSnapshot {
    /** Rows per table of the cell's Postgres. */
    postgres: Record<string, number>;
    events: { count: number; checksum: string; lastEventId: string };
    /** The events the daily rollup counts. */
    rollup: number;
    /** Exported file → SHA-256 of its bytes. */
    objects: Record<string, string>;
}

export interface MoveJournal {
    tenant: string;
    env: string;
    stack: string;
    from: string;
    to: string;
    startedAt: string;
    /** Step → when it finished. */
    done: Partial<Record<MoveStep, string>>;
    /** The source as `verify` found it, checked again before `forget`: nothing may land there after the fence. */
    snapshot?: TenantSnapshot;
    finishedAt?: string;
}

/**
 * The tenant's rows in the cell's Postgres that move with it, parents first. Quota buckets are rate state and start
 * afresh; daily reports the target computes from the events it gets; archive records are of the source's own runs.
 */
const MOVED_ROWS = TENANT_ROWS.filter(([table]) => !["quota_buckets", "daily_reports", "event_archives"].includes(table));

const JSONB = 3802;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const moveJournalFile = (env: string, tenant: string) => path.join(defaultStateHome(), "moves", env, `${tenant}.json`);

function readJournal(file: string): MoveJournal | undefined {
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as MoveJournal) : undefined;
}

const saveJournal = (file: string, journal: MoveJournal) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeDurably(file, `${JSON.stringify(journal, null, 2)}\n`);
};

/**
 * Moves a tenant to another cell of its residency while it keeps sending: clone → verify → flip → forget.
 * - **fence**: both cells refuse the tenant's writes (503, Retry-After) and start none of its exports;
 * - **drain**: the source's consumer stores every event Kafka holds, and no export of the tenant still runs;
 * - **clone**: its Postgres rows (API keys, schedules, jobs), its events (the target's rollups rebuild from them)
 *   and its exported files, each file read back and compared by SHA-256;
 * - **verify**: row counts, an events checksum, the last event id, the rollup's total and every file's checksum match;
 * - **flip**: the tenant is pinned to the target in the stack file and the two cells and the routers are updated; the
 *   target takes the tenant's writes, the source answers 421;
 * - **bake**, then **forget**: once the source is verified unchanged, its copy is deleted.
 * Every step is idempotent and journalled; running the same move again resumes after the last step done.
 */
export async function executeMove(
    projectDir: string,
    env: string,
    tenant: string,
    to: string,
    o: { bakeMs: number; say: (line: string) => void },
): Promise<MoveJournal> {
    const file = moveJournalFile(env, tenant);
    const journal = await startOrResume(projectDir, env, tenant, to, file, o.say);
    const stack = await openStack(projectDir, env, journal.stack);
    const cells: Record<string, CellOutputs> = (await stack.outputs()).cells.value;
    const [source, target] = [cells[journal.from], cells[journal.to]];
    if (!target) throw new Refusal(`cell ${to} is in the stack file but not deployed: run cellplane rollout --env ${env} first`);
    const step = async (name: MoveStep, what: string, run: () => Promise<void>) => {
        if (journal.done[name]) return;
        o.say(`${name}: ${what}…`);
        await run();
        journal.done[name] = new Date().toISOString();
        saveJournal(file, journal);
    };

    await step("fence", `${journal.from} and ${journal.to} refuse ${tenant}'s writes`, async () => {
        await withCellPostgres(source, (pool) => setMove(pool, tenant, "departing", journal.to));
        await withCellPostgres(target, (pool) => setMove(pool, tenant, "arriving", journal.from));
        await sleep(KEY_CACHE_TTL_MS + SERVER_TIMEOUTS.requestTimeoutMs);
    });
    await step("drain", `${journal.from}'s consumer stores what Kafka holds; running exports finish`, async () => {
        await drained({ cell: journal.from, outputs: source });
        await withCellPostgres(source, (pool) => exportsSettled(pool, tenant));
    });
    await step("clone", `copying ${tenant}'s rows, events and files to ${journal.to}`, async () => {
        await withPools(source, target, (from, into) => copyRows(from, into, tenant));
        o.say(`  postgres: copied ${MOVED_ROWS.map(([table]) => table).join(", ")}`);
        o.say(`  clickhouse: copied ${await copyEvents(source, target, tenant)} events (the rollups rebuild from them)`);
        o.say(`  objects: copied ${await copyFiles(source, target, tenant)} files, each read back and compared`);
    });
    await step("verify", `comparing ${journal.from} and ${journal.to}`, async () => {
        const [was, copy] = await Promise.all([snapshotOf(source, tenant), snapshotOf(target, tenant)]);
        const differences = differencesOf(was, copy);
        if (differences.length > 0) {
            delete journal.done.clone;
            saveJournal(file, journal);
            throw new Error(
                `the copy on ${journal.to} differs from ${journal.from}: ${differences.join("; ")}. Run the move again to clone anew`,
            );
        }
        journal.snapshot = was;
        o.say(
            `  match: ${was.events.count} events (last ${was.events.lastEventId || "none"}), ${Object.keys(was.objects).length} files, rows ${JSON.stringify(was.postgres)}`,
        );
    });
    await step("flip", `routing ${tenant} to ${journal.to}`, async () => {
        const stackFile = StackFile.load(projectDir, journal.stack);
        if (stackFile.validate().tenants.find((t) => t.id === tenant)?.cell !== journal.to) {
            moveTenant(stackFile, tenant, journal.to);
            stackFile.save();
        }
        const owners = await ownersOf(stack);
        const targets = [journal.from, journal.to, ROUTERS].flatMap((owner) => owners.get(owner)?.urns ?? []);
        await stack.up({ target: targets, onOutput: (out) => o.say(out.trimEnd()) });
        await withCellPostgres(target, (pool) => pool.query("DELETE FROM cellplane.tenant_moves WHERE org_id = $1", [tenant]));
        await withCellPostgres(source, (pool) => setMove(pool, tenant, "departed", journal.to));
        writeRoutingFile(env, journal.stack, await stack.outputs());
        await sleep(KEY_CACHE_TTL_MS);
    });
    await step("bake", `${o.bakeMs / 1000} s before the old copy goes`, async () => {
        await sleep(Math.max(0, Date.parse(journal.done.flip!) + o.bakeMs - Date.now()));
    });
    await step("forget", `deleting ${tenant} from ${journal.from}, once verified unchanged`, async () => {
        const [now, copy] = await Promise.all([snapshotOf(source, tenant), snapshotOf(target, tenant)]);
        const changed = differencesOf(journal.snapshot!, now);
        if (changed.length > 0) throw new Error(`${journal.from} changed after the fence: ${changed.join("; ")}. Nothing was deleted`);
        const lost = missingOf(journal.snapshot!, copy);
        if (lost.length > 0) throw new Error(`${journal.to} lost part of the copy: ${lost.join("; ")}. Nothing was deleted`);
        await withCellPostgres(source, async (pool) => {
            await revokeTenantKeys(pool, tenant);
            await deleteTenantData({ outputs: source }, pool, tenant, (line) => o.say(`  ${line}`));
            await pool.query("DELETE FROM cellplane.api_keys WHERE org_id = $1", [tenant]);
            await pool.query("DELETE FROM cellplane.tenant_moves WHERE org_id = $1", [tenant]);
        });
    });
    journal.finishedAt ??= new Date().toISOString();
    saveJournal(file, journal);
    return journal;
}

async function startOrResume(projectDir: string, env: string, tenant: string, to: string, file: string, say: (line: string) => void) {
    const journal = readJournal(file);
    if (journal && !journal.finishedAt) {
        if (journal.to !== to)
            throw new Refusal(
                `a move of ${tenant} to ${journal.to} is under way (${file}); finish it first: cellplane tenant move --env ${env} --id ${tenant} --to ${journal.to} --execute`,
            );
        const last = MOVE_STEPS.filter((s) => journal.done[s]).at(-1);
        say(`resuming the move of ${tenant} from ${journal.from} to ${journal.to}${last ? ` after step ${last}` : ""}`);
        return journal;
    }
    // The stack file's own checks (residency, capacity, the target's existence), on an edit that is not saved.
    moveTenant(StackFile.load(projectDir, stackPlacing(projectDir, env, tenant)), tenant, to);
    const home = await tenantHome(projectDir, env, tenant);
    if (!home)
        throw new Refusal(`tenant ${tenant} is placed in its stack file but not yet deployed: run cellplane rollout --env ${env} first`);
    const fresh: MoveJournal = { tenant, env, stack: home.stack, from: home.cell, to, startedAt: new Date().toISOString(), done: {} };
    saveJournal(file, fresh);
    say(`moving ${tenant} from ${home.cell} to ${to} (journal: ${file})`);
    return fresh;
}

const withPools = <T>(a: CellOutputs, b: CellOutputs, run: (a: Pool, b: Pool) => Promise<T>) =>
    withCellPostgres(a, (first) => withCellPostgres(b, (second) => run(first, second)));

async function setMove(pool: Pool, tenant: string, state: MoveState, otherCell: string): Promise<void> {
    await pool.query(
        `INSERT INTO cellplane.tenant_moves (org_id, state, other_cell) VALUES ($1, $2, $3)
         ON CONFLICT (org_id) DO UPDATE SET state = EXCLUDED.state, other_cell = EXCLUDED.other_cell, since = now()`,
        [tenant, state, otherCell],
    );
}

/** Waits until no export of the tenant runs under a live lease (the fence starts no new one). */
async function exportsSettled(pool: Pool, tenant: string, timeoutMs = 600_000): Promise<void> {
    for (const until = Date.now() + timeoutMs; ; await sleep(1_000)) {
        const { rows } = await pool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM cellplane.export_jobs WHERE tenant_id = $1 AND status = 'running' AND lease_until > now()",
            [tenant],
        );
        if (rows[0].n === 0) return;
        if (Date.now() > until)
            throw new Error(`${rows[0].n} exports of ${tenant} still run after ${timeoutMs / 1000} s; run the move again later`);
    }
}

/** Replaces the tenant's rows on the target with the source's, in one transaction. */
async function copyRows(from: Pool, into: Pool, tenant: string): Promise<void> {
    const client = await into.connect();
    try {
        await client.query("BEGIN");
        for (const [table, column] of [...MOVED_ROWS].reverse())
            await client.query(`DELETE FROM cellplane.${table} WHERE ${column} = $1`, [tenant]);
        for (const [table, column] of MOVED_ROWS) await copyTable(from, client, table, column, tenant);
        await client.query("COMMIT");
    } catch (error) {
        await client.query("ROLLBACK");
        throw error;
    } finally {
        client.release();
    }
}

async function copyTable(from: Pool, into: PoolClient, table: string, column: string, tenant: string): Promise<void> {
    const { rows, fields } = await from.query(`SELECT * FROM cellplane.${table} WHERE ${column} = $1`, [tenant]);
    const names = fields.map((f) => f.name);
    // pg reads jsonb as JavaScript values and would write arrays back as Postgres arrays: send those as JSON text.
    const json = new Set(fields.filter((f) => f.dataTypeID === JSONB).map((f) => f.name));
    for (const row of rows) {
        await into.query(
            `INSERT INTO cellplane.${table} (${names.join(", ")}) VALUES (${names.map((_, i) => `$${i + 1}`).join(", ")})`,
            names.map((name) => (json.has(name) && row[name] !== null ? JSON.stringify(row[name]) : row[name])),
        );
    }
}

/**
 * Replaces the tenant's events on the target with the source's, streamed through this process as TabSeparated
 * (exact for every column type), so the cells need no route to each other. The target's materialized views rebuild
 * its id index, rollups and key catalog from them.
 */
async function copyEvents(source: CellOutputs, target: CellOutputs, tenant: string): Promise<number> {
    const [from, into] = [clickhouseOfCell(source), clickhouseOfCell(target)];
    try {
        await deleteTenantEvents(into, tenant);
        const rows = await from.exec({
            query: "SELECT * FROM analytics.events FINAL WHERE org_id = {org:String} FORMAT TabSeparated",
            query_params: { org: tenant },
        });
        await into.insert({ table: "analytics.events", values: rows.stream, format: "TabSeparated" });
        const counted = await into.query({
            query: "SELECT count() AS n FROM analytics.events WHERE org_id = {org:String}",
            query_params: { org: tenant },
            format: "JSONEachRow",
        });
        return Number((await counted.json<{ n: string }>())[0].n);
    } finally {
        await Promise.all([from.close(), into.close()]);
    }
}

const sha256 = (body: Buffer) => createHash("sha256").update(body).digest("hex");

/** Copies every exported file of the tenant, reading each back from the target to compare its SHA-256. */
async function copyFiles(source: CellOutputs, target: CellOutputs, tenant: string): Promise<number> {
    const [from, into] = [exportFilesOf(source), exportFilesOf(target)];
    const names = await from.list(prefixOf(tenant));
    for (const name of names) {
        const body = await from.read(name);
        await into.write(name, body);
        if (sha256(await into.read(name)) !== sha256(body)) throw new Error(`${name}: the copy on the target differs from the original`);
    }
    return names.length;
}

/** What the tenant holds in a cell, with checksums of its events and files, its rollups computed first. */
export async function snapshotOf(cell: CellOutputs, tenant: string): Promise<TenantSnapshot> {
    const postgres = await withCellPostgres(cell, (pool) => rowCountsOf(pool, tenant, MOVED_ROWS));
    const clickhouse = clickhouseOfCell(cell);
    try {
        const scalar = async <T>(query: string) =>
            (await (await clickhouse.query({ query, query_params: { org: tenant }, format: "JSONEachRow" })).json<T>())[0];
        const events = await scalar<{ count: string; checksum: string; last: string }>(
            `SELECT count() AS count,
                    toString(groupBitXor(cityHash64(event_id, user_id, session_id, event_type, event_category, timestamp, region, environment, metadata))) AS checksum,
                    if(count() = 0, '', toString(argMax(event_id, (timestamp, event_id)))) AS last
             FROM analytics.events FINAL WHERE org_id = {org:String}`,
        );
        await new RollupRefresher(clickhouse).refresh();
        const rollup = await scalar<{ n: string }>(
            "SELECT toUInt64(sum(events)) AS n FROM analytics.daily_metrics FINAL WHERE org_id = {org:String}",
        );
        const files = exportFilesOf(cell);
        const objects: Record<string, string> = {};
        for (const name of await files.list(prefixOf(tenant))) objects[name] = sha256(await files.read(name));
        return {
            postgres,
            events: { count: Number(events.count), checksum: events.checksum, lastEventId: events.last },
            rollup: Number(rollup.n),
            objects,
        };
    } finally {
        await clickhouse.close();
    }
}

/** Every way `b` differs from `a`, one phrase each. */
function differencesOf(a: TenantSnapshot, b: TenantSnapshot): string[] {
    const found: string[] = [];
    for (const [table, n] of Object.entries(a.postgres))
        if (b.postgres[table] !== n) found.push(`postgres ${table}: ${n} rows, then ${b.postgres[table]}`);
    if (a.events.count !== b.events.count) found.push(`events: ${a.events.count}, then ${b.events.count}`);
    else if (a.events.checksum !== b.events.checksum) found.push(`events: the same count, another checksum`);
    if (a.events.lastEventId !== b.events.lastEventId) found.push(`last event: ${a.events.lastEventId}, then ${b.events.lastEventId}`);
    if (a.rollup !== b.rollup) found.push(`daily rollup: ${a.rollup} events, then ${b.rollup}`);
    const names = new Set([...Object.keys(a.objects), ...Object.keys(b.objects)]);
    for (const name of names)
        if (a.objects[name] !== b.objects[name])
            found.push(`file ${name}: ${a.objects[name] ?? "absent"}, then ${b.objects[name] ?? "absent"}`);
    return found;
}

/** What of the copy `verify` checked is no longer on the target (which may since have more). */
function missingOf(copied: TenantSnapshot, now: TenantSnapshot): string[] {
    const found: string[] = [];
    if (now.events.count < copied.events.count) found.push(`events: ${copied.events.count} copied, ${now.events.count} there now`);
    for (const [name, sum] of Object.entries(copied.objects)) if (now.objects[name] !== sum) found.push(`file ${name}`);
    return found;
}

/** Every tenant of a cell moved, one at a time, each to the least-loaded other cell of its residency. */
export async function drainCell(projectDir: string, env: string, cell: string, o: { bakeMs: number; say: (line: string) => void }) {
    const stack = stacksOf(projectDir, env).find((s) =>
        StackFile.load(projectDir, s)
            .validate()
            .cells.some((c) => c.id === cell),
    );
    if (!stack) throw new Refusal(`--id ${cell}: no stack of environment ${env} has that cell`);
    const moved: { tenant: string; to: string }[] = [];
    for (;;) {
        const config = StackFile.load(projectDir, stack).validate();
        const tenant = config.tenants.find((t) => t.cell === cell);
        if (!tenant) break;
        const residency = config.cells.find((c) => c.id === cell)!.residency;
        const load = (id: string) => config.tenants.filter((t) => t.cell === id).length;
        const others = config.cells.filter((c) => c.residency === residency && c.id !== cell).sort((a, b) => load(a.id) - load(b.id));
        if (others.length === 0)
            throw new Refusal(
                `cell ${cell} is the only cell of residency ${residency}: add another (cellplane cell add) before draining it`,
            );
        o.say(`drain ${cell}: tenant ${tenant.id} → ${others[0].id}`);
        await executeMove(projectDir, env, tenant.id, others[0].id, o);
        moved.push({ tenant: tenant.id, to: others[0].id });
    }
    return { cell, stack, moved };
}
