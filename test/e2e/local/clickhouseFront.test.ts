import { randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ClickHouseClient, createClient } from "@clickhouse/client";
import fc from "fast-check";
import { ClickHouseServerSpec, startClickHouse, urlOf } from "../../../components/local/clickhouseServer";
import { destroyService, idsOf, runningPid, SERVICE_USER } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";

const secret = () => randomBytes(12).toString("hex");

/** The front as a server: streaming and cancelling, settings, sessions, and what each user may run. */
describe("the local ClickHouse front", () => {
    let spec: ClickHouseServerSpec;
    let admin: ClickHouseClient;
    /** Stands in for the cell's bucket: the one URL prefix the exporter is granted. */
    let bucket: http.Server;
    let bucketUrl: string;
    const clientOf = (username: string, password: string, more: object = {}) =>
        createClient({ url: urlOf(spec), username, password, ...more });
    const app = (name: string) => spec.apps!.find((a) => a.name === name)!;
    const get = (query: string, params: Record<string, string> = {}, headers: Record<string, string> = {}) =>
        fetch(`${urlOf(spec)}/?${new URLSearchParams({ query, ...params })}`, {
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password, ...headers },
        });
    /** How many queries whose text holds `fragment` the engine is running. */
    const running = async (fragment: string) => {
        const result = await admin.query({
            query: "SELECT count() AS n FROM system.processes WHERE position(query, {fragment:String}) > 0 AND position(query, 'system.processes') = 0",
            query_params: { fragment },
            format: "JSONEachRow",
        });
        return Number((await result.json<{ n: string }>())[0].n);
    };
    const eventually = async (check: () => Promise<boolean>, timeoutMs = 10_000) => {
        const deadline = Date.now() + timeoutMs;
        while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        return check();
    };
    const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

    beforeAll(async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-chfront-"));
        fs.chmodSync(root, 0o755);
        bucket = http.createServer((_req, res) => res.end("from the bucket\n"));
        const bucketPort = await freePort();
        await new Promise<void>((resolve) => bucket.listen(bucketPort, "127.0.0.1", resolve));
        bucketUrl = `http://127.0.0.1:${bucketPort}/cell-bucket/`;
        spec = {
            label: "clickhouse of cell test-front",
            dir: path.join(root, "clickhouse"),
            port: await freePort(),
            user: "cellplane",
            password: secret(),
            apps: [
                { name: "reader", password: secret(), readonly: true },
                { name: "exporter", password: secret(), reach: [bucketUrl] },
            ],
        };
        await startClickHouse(spec);
        admin = clientOf(spec.user, spec.password);
        await admin.command({ query: "CREATE TABLE kv (k String, v UInt64) ENGINE = MergeTree ORDER BY k" });
    }, 60_000);
    afterAll(async () => {
        await admin.close();
        bucket.close();
        await destroyService(spec.dir);
        fs.rmSync(path.dirname(spec.dir), { recursive: true, force: true });
    });

    test("runs as the unprivileged service user when started by root", () => {
        const uid = Number(/Uid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${runningPid(spec.dir)}/status`, "utf8"))![1]);
        expect(uid).toBe(process.getuid!() === 0 ? idsOf(SERVICE_USER).uid : process.getuid!());
    });

    test("a disconnected unbounded select is killed and its memory is back within 10 s", async () => {
        const pid = runningPid(spec.dir)!;
        const before = rssOf(pid);
        const reading = new AbortController();
        const response = await fetch(`${urlOf(spec)}/?query=${encodeURIComponent("SELECT * FROM system.numbers")}`, {
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
            signal: reading.signal,
        });
        const reader = response.body!.getReader();
        let received = 0;
        while (received < 50 * 1024 ** 2) received += (await reader.read()).value!.length;
        reading.abort();
        let after = rssOf(pid);
        for (let waited = 0; waited < 10_000 && after > before + 200 * 1024 ** 2; waited += 250) {
            await new Promise((r) => setTimeout(r, 250));
            after = rssOf(pid);
        }
        expect(after - before).toBeLessThan(200 * 1024 ** 2);
        expect(await eventually(async () => (await running("SELECT * FROM system.numbers")) === 0)).toBe(true);
    }, 30_000);

    test("a query that computes without answering is killed when its client goes away", async () => {
        const waiting = new AbortController();
        const pending = fetch(`${urlOf(spec)}/?query=${encodeURIComponent("SELECT count() FROM system.numbers")}`, {
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
            signal: waiting.signal,
        }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
        waiting.abort();
        await pending;
        expect(await eventually(async () => (await running("SELECT count() FROM system.numbers")) === 0)).toBe(true);
    });

    test("a write whose client goes away runs to its end, as on a server: its table and views stay in step", async () => {
        await admin.command({ query: "CREATE TABLE written (x UInt64) ENGINE = MergeTree ORDER BY x" });
        const leaving = new AbortController();
        const insert = fetch(
            `${urlOf(spec)}/?${new URLSearchParams({ query: "INSERT INTO written SELECT number FROM numbers(5) WHERE sleepEachRow(0.2) = 0" })}`,
            {
                method: "POST",
                headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
                signal: leaving.signal,
            },
        ).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
        leaving.abort();
        await insert;
        expect(await eventually(async () => (await (await get("SELECT count() FROM written")).text()) === "5\n")).toBe(true);
    });

    test("an error after the first rows arrives as a server writes it into the stream", async () => {
        const result = await admin.query({
            query: "SELECT number, throwIf(number = 100000, 'boom in the stream') FROM numbers(1000000) SETTINGS max_block_size = 10000",
            format: "JSONEachRow",
        });
        await expect(result.json()).rejects.toThrow(/boom in the stream/);
        expect(await admin.query({ query: "SELECT 1 AS one", format: "JSONEachRow" }).then((r) => r.json())).toEqual([{ one: 1 }]);
    });

    test("URL settings apply to their query, default limits hold, and an unknown setting is refused as a server refuses it", async () => {
        const limited = await get("SELECT number FROM numbers(10)", { max_result_rows: "2" });
        expect(limited.status).toBe(500);
        expect(limited.headers.get("x-clickhouse-exception-code")).toBe("396");
        expect(await (await get("SELECT getSetting('max_result_rows')")).text()).toBe("1000000000\n");
        expect(await (await get("SELECT getSetting('max_threads')", { max_threads: "3" })).text()).toBe("3\n");
        const unknown = await get("SELECT 1", { no_such_setting: "1" });
        expect([unknown.status, unknown.headers.get("x-clickhouse-exception-code")]).toEqual([404, "115"]);
        expect(await unknown.text()).toMatch(/Unknown setting 'no_such_setting'/);
        expect((await get("1 + 1")).status).toBe(400);
    });

    test("the database parameter picks the database of unqualified names", async () => {
        await admin.command({ query: "CREATE DATABASE IF NOT EXISTS other" });
        await admin.command({ query: "CREATE TABLE IF NOT EXISTS other.only_here (x UInt8) ENGINE = Memory" });
        expect(await (await get("SELECT currentDatabase()", { database: "other" })).text()).toBe("other\n");
        expect((await get("SELECT count() FROM only_here", { database: "other" })).status).toBe(200);
    });

    test("two sessions never see each other's temporary tables or settings, and requests without one keep nothing", async () => {
        const [one, two] = [
            clientOf(spec.user, spec.password, { session_id: "one" }),
            clientOf(spec.user, spec.password, { session_id: "two" }),
        ];
        await one.command({ query: "CREATE TEMPORARY TABLE scratch (x UInt8)" });
        await one.command({ query: "INSERT INTO scratch VALUES (1)" });
        await one.command({ query: "SET max_threads = 3" });
        expect(
            await (
                await one.query({ query: "SELECT count() AS n, getSetting('max_threads') AS t FROM scratch", format: "JSONEachRow" })
            ).json(),
        ).toEqual([{ n: "1", t: 3 }]);
        await expect(two.query({ query: "SELECT count() FROM scratch" })).rejects.toThrow(/scratch/);
        await admin.command({ query: "SET max_threads = 5" });
        expect(await (await get("SELECT getSetting('max_threads') != 5")).text()).toBe("1\n");
        const missing = await get("SELECT 1", { session_id: "never-opened", session_check: "1" });
        expect(missing.headers.get("x-clickhouse-exception-code")).toBe("372");
        await Promise.all([one.close(), two.close()]);
    });

    test("one statement per request: a second one, even behind an insert's values, never runs", async () => {
        await admin.command({ query: "CREATE TABLE victim (x UInt8) ENGINE = Memory" });
        const multi = await get("SELECT 1; DROP TABLE victim");
        expect(multi.headers.get("x-clickhouse-exception-code")).toBe("62");
        await get("INSERT INTO kv VALUES ('a', 1); DROP TABLE victim");
        const values = await get("INSERT INTO kv VALUES ('inline', 7), ('more', 8)");
        expect(values.status).toBe(200);
        expect(await (await get("SELECT sum(v) FROM kv WHERE k IN ('inline', 'more')")).text()).toBe("15\n");
        expect(await (await get("EXISTS TABLE victim")).text()).toBe("1\n");
    });

    test("a reused running query_id is refused; query_id comes back as sent", async () => {
        const slow = get("SELECT sleepEachRow(0.5) FROM numbers(2)", { query_id: "twice" });
        await new Promise((r) => setTimeout(r, 200));
        const again = await get("SELECT 1", { query_id: "twice" });
        expect(again.headers.get("x-clickhouse-exception-code")).toBe("216");
        expect((await slow).headers.get("x-clickhouse-query-id")).toBe("twice");
    });

    test("answers are compressed when asked, and multipart parameters bind as parameters", async () => {
        const compressed = await get("SELECT 'zipped'", { enable_http_compression: "1" }, { "Accept-Encoding": "gzip" });
        expect(compressed.headers.get("content-encoding")).toBe("gzip");
        expect(await compressed.text()).toBe("zipped\n");
        expect((await get("SELECT 'plain'", {}, { "Accept-Encoding": "gzip" })).headers.get("content-encoding")).toBeNull();

        const form = new FormData();
        form.append("param_name", "it's a value");
        const multipart = await fetch(`${urlOf(spec)}/?${new URLSearchParams({ query: "SELECT {name:String}" })}`, {
            method: "POST",
            body: form,
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
        });
        expect(await multipart.text()).toBe("it\\'s a value\n");
    });

    test("an app user cannot reach files, URLs or hosts, write when read-only, or run the admin's statements", async () => {
        const reader = clientOf("reader", app("reader").password);
        const exporter = clientOf("exporter", app("exporter").password);
        for (const query of [
            "SELECT file('/etc/passwd')",
            "SELECT * FROM file('/etc/passwd', 'LineAsString')",
            "SELECT * FROM url('http://127.0.0.1:1/x', 'LineAsString')",
            "SELECT * FROM remote('127.0.0.1', system.one)",
            "INSERT INTO FUNCTION file('/tmp/out.tsv', 'TSV') SELECT 1",
            "SELECT 1 INTO OUTFILE '/tmp/out.tsv'",
            "CREATE TABLE leak (x String) ENGINE = File(TSV)",
            "SYSTEM DROP DNS CACHE",
            "KILL QUERY WHERE 1 ASYNC",
        ]) {
            await expect(exporter.command({ query })).rejects.toThrow(/Not enough privileges/);
        }
        const another = bucketUrl.replace("/cell-bucket/", "/another-bucket/");
        await expect(exporter.query({ query: `SELECT * FROM url('${another}x', 'LineAsString')` })).rejects.toThrow(
            /Not enough privileges/,
        );
        const granted = await exporter.query({ query: `SELECT * FROM url('${bucketUrl}x', 'LineAsString')`, format: "JSONEachRow" });
        expect(await granted.json()).toEqual([{ line: "from the bucket" }]);
        await exporter.insert({ table: "kv", values: [{ k: "exporter", v: 1 }], format: "JSONEachRow" });
        await expect(reader.insert({ table: "kv", values: [{ k: "reader", v: 1 }], format: "JSONEachRow" })).rejects.toThrow(/readonly/i);
        expect(
            await (await reader.query({ query: "SELECT count() AS n FROM kv WHERE k = 'exporter'", format: "JSONEachRow" })).json(),
        ).toEqual([{ n: "1" }]);
        expect(
            await (
                await admin.query({ query: "SELECT count() > 0 AS read FROM file('/etc/hostname', 'LineAsString')", format: "JSONEachRow" })
            ).json(),
        ).toEqual([{ read: 1 }]);
        await Promise.all([reader.close(), exporter.close()]);
    });

    test("users and roles made through SQL: the active roles' grants decide, and currentRoles() names them", async () => {
        const password = secret();
        for (const query of [
            `CREATE USER analyst IDENTIFIED WITH sha256_password BY '${password}' DEFAULT DATABASE default`,
            "CREATE ROLE IF NOT EXISTS writer, reader",
            "GRANT writer, reader TO analyst",
            "GRANT INSERT ON default.* TO writer",
            "GRANT SELECT, SHOW TABLES ON default.* TO reader",
        ]) {
            await admin.command({ query });
        }
        await admin.insert({ table: "kv", values: [{ k: "for-analyst", v: 1 }], format: "JSONEachRow" });
        const as = (role?: string | string[]) => clientOf("analyst", password, { role });
        const reader = as("reader");
        expect(
            await (await reader.query({ query: "SELECT currentRoles() AS roles, currentUser() AS user", format: "JSONEachRow" })).json(),
        ).toEqual([{ roles: ["reader"], user: "analyst" }]);
        expect(
            await (await reader.query({ query: "SELECT count() AS n FROM kv WHERE k = 'for-analyst'", format: "JSONEachRow" })).json(),
        ).toEqual([{ n: "1" }]);
        await expect(reader.insert({ table: "kv", values: [{ k: "analyst", v: 1 }], format: "JSONEachRow" })).rejects.toThrow(
            "Not enough privileges. To execute this query, it's necessary to have the grant INSERT ON default.*",
        );
        await expect(reader.query({ query: "SELECT * FROM system.one" })).rejects.toThrow("grant SELECT ON system.*");
        // merge() names tables by a pattern, which grants cannot be checked against.
        await expect(reader.query({ query: "SELECT count() FROM merge('system', '^one$')" })).rejects.toThrow(
            "merge() is reserved to the cell's admin user",
        );
        await expect(reader.command({ query: "CREATE TABLE made_by_analyst (x UInt8) ENGINE = Memory" })).rejects.toThrow(
            "grant CREATE TABLE",
        );
        await expect(as("admin-role").query({ query: "SELECT 1" })).rejects.toThrow("Role admin-role is not granted");
        await as(["writer"]).insert({ table: "kv", values: [{ k: "analyst", v: 1 }], format: "JSONEachRow" });
        await expect(clientOf("exporter", app("exporter").password).command({ query: "CREATE USER sneaky" })).rejects.toThrow(
            /Not enough privileges/,
        );
        const stored = path.join(path.dirname(spec.dir), "clickhouse", "accounts.json");
        expect(fs.statSync(stored).mode & 0o777).toBe(0o600);
        expect(fs.readFileSync(stored, "utf8")).not.toContain(password);
        await admin.command({ query: "DROP USER analyst" });
        await expect(reader.query({ query: "SELECT 1" })).rejects.toThrow(/Authentication failed/);
        await reader.close();
    });

    test("property: any string, array and map parameter binds to exactly itself, concurrently, streamed or whole", async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.array(
                    fc.tuple(
                        fc.string(),
                        fc.array(fc.string()),
                        fc.dictionary(fc.string({ minLength: 1 }), fc.nat()),
                        fc.constantFrom("JSONEachRow" as const, "JSON" as const),
                    ),
                    { minLength: 1, maxLength: 6 },
                ),
                async (cases) => {
                    const answers = await Promise.all(
                        cases.map(async ([s, a, m, format]) => {
                            const result = await admin.query({
                                query: "SELECT {s:String} AS s, {a:Array(String)} AS a, {m:Map(String, UInt32)} AS m",
                                query_params: { s, a, m: new Map(Object.entries(m)) },
                                format,
                            });
                            const rows = await result.json<{ s: string }>();
                            return Array.isArray(rows) ? rows[0] : rows.data[0];
                        }),
                    );
                    expect(answers).toEqual(cases.map(([s, a, m]) => ({ s, a, m })));
                },
            ),
            { numRuns: 40 },
        );
    }, 60_000);

    test("property: no request, however malformed, ends the process; each gets an answer", async () => {
        const pid = runningPid(spec.dir);
        await fc.assert(
            fc.asyncProperty(
                fc.record({
                    params: fc.dictionary(
                        fc.oneof(fc.string(), fc.constantFrom("query", "param_x", "session_id", "max_threads", "database")),
                        fc.string(),
                    ),
                    body: fc.uint8Array({ maxLength: 512 }),
                    encoding: fc.constantFrom(undefined, "gzip", "zstd", "br", "x-unknown"),
                    contentType: fc.constantFrom(undefined, "multipart/form-data; boundary=x", "text/plain"),
                }),
                async ({ params, body, encoding, contentType }) => {
                    const headers: Record<string, string> = { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password };
                    if (encoding) headers["Content-Encoding"] = encoding;
                    if (contentType) headers["Content-Type"] = contentType;
                    const answer = await fetch(`${urlOf(spec)}/?${new URLSearchParams(params)}`, { method: "POST", body, headers });
                    await answer.arrayBuffer().catch(() => undefined);
                    expect(answer.status).toBeGreaterThanOrEqual(200);
                    expect(answer.status).toBeLessThan(600);
                },
            ),
            { numRuns: 150 },
        );
        expect(runningPid(spec.dir)).toBe(pid);
        expect(await (await get("SELECT 1")).text()).toBe("1\n");
    }, 60_000);
});
