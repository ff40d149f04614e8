import { randomBytes, randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gzipSync } from "zlib";
import { ClickHouseClient, createClient, TupleParam } from "@clickhouse/client";
import { ClickHouseServerSpec, clickhouseRunning, startClickHouse, urlOf } from "../../../components/local/clickhouseServer";
import { destroyService, portAnswers, runningPid } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";
import { analyticsDdl } from "../../../apps/shared/analytics";
import { CLICKHOUSE_GRANTS } from "../../../components/kubernetes/clickhouse";

/** A real ClickHouse engine (chdb) behind ClickHouse's HTTP interface, driven by the official client. */
describe("a local ClickHouse", () => {
    let spec: ClickHouseServerSpec;
    let client: ClickHouseClient;
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
        event_id: randomUUID(),
        org_id: i % 4 === 0 ? "acme" : "globex",
        event_type: i % 2 ? "click" : "view",
        timestamp: Date.now() - i * 1000,
        metadata: "{}",
    }));

    beforeAll(async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-ch-"));
        fs.chmodSync(root, 0o755);
        spec = {
            label: "clickhouse of cell test-eu",
            dir: path.join(root, "clickhouse"),
            port: await freePort(),
            user: "cellplane",
            password: randomBytes(12).toString("hex"),
        };
        await startClickHouse(spec);
        client = createClient({ url: urlOf(spec), username: spec.user, password: spec.password });
    }, 60_000);
    afterAll(async () => {
        await client.close();
        await destroyService(spec.dir);
        fs.rmSync(path.dirname(spec.dir), { recursive: true, force: true });
    });

    test("answers ping and refuses a wrong password", async () => {
        expect(await clickhouseRunning(spec)).toBe(true);
        expect((await client.ping()).success).toBe(true);
        const intruder = createClient({ url: urlOf(spec), username: spec.user, password: "wrong" });
        await expect(intruder.query({ query: "SELECT 1" })).rejects.toThrow(/Authentication failed/);
        await intruder.close();
    });

    test("parses the replicated, sharded analytics schema of a cluster cell, which names the cluster on every statement", async () => {
        const statements = analyticsDdl({ cluster: "cell", cold: true });
        for (const statement of statements) {
            expect(statement).toContain("ON CLUSTER `cell`");
            // The engine's own parser: what a server of the cluster would take.
            await client.query({ query: `EXPLAIN AST ${statement}`, format: "TabSeparated" }).then((r) => r.text());
        }
        const tables = statements.filter((q) => q.startsWith("CREATE TABLE"));
        expect(tables.filter((q) => /ENGINE = Replicated\w+MergeTree\('\/clickhouse\/tables\/\{shard\}\//.test(q))).toHaveLength(
            tables.length / 2,
        );
        expect(tables.filter((q) => q.includes("ENGINE = Distributed('cell', analytics,"))).toHaveLength(tables.length / 2);
        expect(
            statements.filter((q) => q.startsWith("CREATE MATERIALIZED VIEW")).every((q) => q.includes("FROM analytics.events_local")),
        ).toBe(true);
    });

    test("knows every privilege the cluster cells grant their apps' users", async () => {
        for (const grant of Object.values(CLICKHOUSE_GRANTS).flat()) {
            // The engine's parser refuses an unknown privilege or a wrong target.
            await client.query({ query: `EXPLAIN AST ${grant} TO cellplane_probe`, format: "TabSeparated" }).then((r) => r.text());
        }
        await expect(client.query({ query: "EXPLAIN AST GRANT NO_SUCH_PRIVILEGE ON *.* TO cellplane_probe" })).rejects.toThrow();
    });

    test("creates a partitioned MergeTree with a TTL, inserts rows and answers bound parameters", async () => {
        await client.command({ query: "CREATE DATABASE IF NOT EXISTS analytics" });
        await client.command({
            query: `CREATE TABLE analytics.events (event_id UUID, org_id String, event_type LowCardinality(String), timestamp DateTime64(3), metadata String)
                    ENGINE = MergeTree PARTITION BY (org_id, toYYYYMM(timestamp)) ORDER BY (org_id, event_type, timestamp)
                    TTL toDateTime(timestamp) + INTERVAL 36 MONTH DELETE`,
        });
        await client.insert({ table: "analytics.events", values: rows, format: "JSONEachRow" });
        const result = await client.query({
            query: "SELECT count() AS n FROM analytics.events WHERE org_id = {org:String}",
            query_params: { org: "acme" },
            format: "JSONEachRow",
        });
        expect(await result.json()).toEqual([{ n: "2500" }]);
    });

    test("maintains an hourly rollup through a materialized view", async () => {
        await client.command({
            query: `CREATE MATERIALIZED VIEW analytics.hourly ENGINE = SummingMergeTree ORDER BY (org_id, hour) POPULATE AS
                    SELECT org_id, toStartOfHour(timestamp) AS hour, count() AS events FROM analytics.events GROUP BY org_id, hour`,
        });
        await client.insert({
            table: "analytics.events",
            values: [{ ...rows[0], event_id: randomUUID(), org_id: "initech" }],
            format: "JSONEachRow",
        });
        const result = await client.query({
            query: "SELECT sum(events) AS n FROM analytics.hourly WHERE org_id = {org:String}",
            query_params: { org: "initech" },
            format: "JSONEachRow",
        });
        expect(await result.json()).toEqual([{ n: "1" }]);
    });

    test("keeps a bound value out of the SQL: an injection string is only a value", async () => {
        const result = await client.query({
            query: "SELECT count() AS n FROM analytics.events WHERE org_id = {org:String}",
            query_params: { org: "acme' OR 1=1 --" },
            format: "JSONEachRow",
        });
        expect(await result.json()).toEqual([{ n: "0" }]);
    });

    test("writes Parquet natively", async () => {
        const result = await client.exec({ query: "SELECT * FROM analytics.events WHERE org_id = 'acme' LIMIT 100 FORMAT Parquet" });
        const chunks: Buffer[] = [];
        for await (const chunk of result.stream) chunks.push(chunk as Buffer);
        const parquet = Buffer.concat(chunks);
        expect(parquet.subarray(0, 4).toString()).toBe("PAR1");
        expect(parquet.subarray(-4).toString()).toBe("PAR1");
    });

    test("reports a bad query as ClickHouse does", async () => {
        await expect(client.query({ query: "SELECT nope FROM analytics.events" })).rejects.toThrow(/nope/);
    });

    /** A raw request to the front, as a client other than the official one sends it. */
    const post = (query: string | undefined, body: Buffer | string, headers: Record<string, string> = {}) =>
        fetch(`${urlOf(spec)}/${query === undefined ? "" : `?query=${encodeURIComponent(query)}`}`, {
            method: "POST",
            body,
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password, ...headers },
        });

    test("an insert's body is bytes: RowBinary with bytes over 0x7F and Parquet are stored exactly", async () => {
        await client.command({ query: "CREATE TABLE bytes_in (x UInt8) ENGINE = MergeTree ORDER BY tuple()" });
        expect((await post("INSERT INTO bytes_in FORMAT RowBinary", Buffer.from([0x07, 0xc8, 0xff]))).status).toBe(200);
        const stored = await (await client.query({ query: "SELECT groupArray(x) AS xs FROM bytes_in", format: "JSONEachRow" })).json();
        expect(stored).toEqual([{ xs: [7, 200, 255] }]);

        const parquet = Buffer.from(await (await post(undefined, "SELECT number AS x FROM numbers(256) FORMAT Parquet")).arrayBuffer());
        expect(parquet.subarray(0, 4).toString()).toBe("PAR1");
        await client.command({ query: "TRUNCATE TABLE bytes_in" });
        expect((await post("INSERT INTO bytes_in FORMAT Parquet", parquet)).status).toBe(200);
        const summed = await (
            await client.query({ query: "SELECT count() AS n, sum(x) AS s FROM bytes_in", format: "JSONEachRow" })
        ).json();
        expect(summed).toEqual([{ n: "256", s: String((255 * 256) / 2) }]);
    });

    test("compressed bodies are decoded; an encoding the front cannot read is a 400 naming it, and nothing runs", async () => {
        const gzipped = await post(undefined, gzipSync("SELECT 40 + 2"), { "Content-Encoding": "gzip" });
        expect(await gzipped.text()).toBe("42\n");
        const compressing = createClient({
            url: urlOf(spec),
            username: spec.user,
            password: spec.password,
            compression: { request: true },
        });
        await compressing.command({ query: "CREATE TABLE gzipped_in (s String) ENGINE = MergeTree ORDER BY s" });
        await compressing.insert({ table: "gzipped_in", values: [{ s: "é€😀" }, { s: "plain" }], format: "JSONEachRow" });
        await compressing.close();
        expect(await (await client.query({ query: "SELECT s FROM gzipped_in ORDER BY s", format: "JSONEachRow" })).json()).toEqual([
            { s: "plain" },
            { s: "é€😀" },
        ]);

        const refused = await post("INSERT INTO gzipped_in FORMAT JSONEachRow", '{"s":"never"}', { "Content-Encoding": "lz4" });
        expect(refused.status).toBe(400);
        expect(await refused.text()).toMatch(/Unknown Content-Encoding "lz4"/);
        expect(await (await client.query({ query: "SELECT count() AS n FROM gzipped_in", format: "JSONEachRow" })).json()).toEqual([
            { n: "2" },
        ]);
    });

    test("answers carry the headers a server sends, and default_format applies to a query that names none", async () => {
        const json = await post(undefined, "SELECT number FROM numbers(3) FORMAT JSONEachRow");
        expect(json.headers.get("content-type")).toBe("application/x-ndjson; charset=UTF-8");
        expect(json.headers.get("x-clickhouse-format")).toBe("JSONEachRow");
        expect(json.headers.get("x-clickhouse-timezone")).toMatch(/\w/);
        expect(JSON.parse(json.headers.get("x-clickhouse-summary")!)).toMatchObject({ result_rows: "3" });

        const csv = await fetch(`${urlOf(spec)}/?default_format=CSV`, {
            method: "POST",
            body: "SELECT 'a' AS s, 1 AS n",
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
        });
        expect(csv.headers.get("x-clickhouse-format")).toBe("CSV");
        expect(await csv.text()).toBe('"a",1\n');
    });

    test("bound parameters of every shape: NULL, arrays, tuples and maps with quotes and backslashes inside", async () => {
        const cases: [string, unknown, unknown][] = [
            ["{x:Nullable(String)} IS NULL", null, 1],
            ["{x:String}", "it's \\ a\ttab", "it's \\ a\ttab"],
            ["{x:Array(String)}", ["it's", "b\\c"], ["it's", "b\\c"]],
            ["{x:Tuple(String, UInt8)}", new TupleParam(["a'b", 1]), ["a'b", 1]],
            ["{x:Map(String, UInt8)}", new Map([["k'", 1]]), { "k'": 1 }],
            ["{x:Array(Nullable(UInt8))}", [1, null], [1, null]],
        ];
        for (const [expression, value, expected] of cases) {
            const answer = await (
                await client.query({ query: `SELECT ${expression} AS v`, query_params: { x: value }, format: "JSONEachRow" })
            ).json();
            expect({ expression, answer }).toEqual({ expression, answer: [{ v: expected }] });
        }
    });

    test("an insert with an empty body is a 200 that stores nothing", async () => {
        const empty = await post("INSERT INTO bytes_in FORMAT JSONEachRow", "");
        expect(empty.status).toBe(200);
    });

    test("a client that aborts mid-upload leaves the front serving", async () => {
        const upload = new AbortController();
        const slow = new ReadableStream({
            start(controller) {
                controller.enqueue(new TextEncoder().encode('{"x":1}\n'));
                setTimeout(() => upload.abort(), 100);
            },
        });
        await expect(
            fetch(`${urlOf(spec)}/?query=${encodeURIComponent("INSERT INTO bytes_in FORMAT JSONEachRow")}`, {
                method: "POST",
                body: slow,
                duplex: "half",
                signal: upload.signal,
                headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
            }),
        ).rejects.toThrow();
        expect((await client.ping()).success).toBe(true);
        expect(await (await post(undefined, "SELECT 1")).text()).toBe("1\n");
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(fs.readdirSync(path.join(spec.dir, "uploads"))).toEqual([]);
    });

    test("a killed server reads as stopped and restarts with its data", async () => {
        process.kill(runningPid(spec.dir)!, "SIGKILL");
        await new Promise((r) => setTimeout(r, 300));
        expect(await clickhouseRunning(spec)).toBe(false);
        await startClickHouse(spec);
        const result = await client.query({ query: "SELECT count() AS n FROM analytics.events", format: "JSONEachRow" });
        expect(await result.json()).toEqual([{ n: String(rows.length + 1) }]);
    }, 60_000);

    test("destroy leaves no process, port or folder", async () => {
        await destroyService(spec.dir);
        expect(await portAnswers(spec.port)).toBe(false);
        expect(fs.existsSync(spec.dir)).toBe(false);
    });
});
