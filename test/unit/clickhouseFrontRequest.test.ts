import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { Vetting, type FrontUser } from "../../components/local/clickhouse/access";
import { Accounts } from "../../components/local/clickhouse/accounts";
import { splitInlineData } from "../../components/local/clickhouse/body";
import { httpStatusOf } from "../../components/local/clickhouse/errors";
import { requestOf } from "../../components/local/clickhouse/request";

const url = (params: Record<string, string>) => new URL(`http://front/?${new URLSearchParams(params)}`);

describe("a request's URL, as ClickHouse's HTTP interface reads it", () => {
    test("settings are every parameter that is not the interface's own; param_* are parameters", () => {
        const request = requestOf(url({ query: "SELECT 1", max_threads: "3", param_x: "a\\tb", database: "d", session_id: "s" }));
        expect(request).toMatchObject({
            query: "SELECT 1",
            settings: { max_threads: "3" },
            params: { x: "a\\tb" },
            database: "d",
            session: { id: "s", timeoutSeconds: 60, check: false },
        });
    });

    test("property: a name that cannot be a setting is refused as an unknown setting, naming it", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 1 }).filter((name) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !name.startsWith("param_")),
                (name) => {
                    expect(() => requestOf(url({ [name]: "1" }))).toThrow(
                        expect.objectContaining({ code: 115, message: `Unknown setting '${name}'` }),
                    );
                },
            ),
        );
    });

    test("property: session_timeout takes whole seconds up to an hour, and names the bad value", () => {
        fc.assert(
            fc.property(fc.oneof(fc.integer({ min: -10, max: 5000 }).map(String), fc.string()), (timeout) => {
                const valid = /^\d+$/.test(timeout) && Number(timeout) <= 3600;
                const read = () => requestOf(url({ session_id: "s", session_timeout: timeout }));
                if (valid) expect(read().session?.timeoutSeconds).toBe(Number(timeout));
                else expect(read).toThrow(`session_timeout ${timeout} is invalid`);
            }),
        );
    });

    test("native block compression is refused by name, never misread", () => {
        expect(() => requestOf(url({ compress: "1" }))).toThrow(
            expect.objectContaining({ code: 48, message: expect.stringMatching(/^compress=1/) }),
        );
    });

    test("codes map to a server's HTTP statuses", () => {
        expect([62, 60, 497, 159, 48, 241].map(httpStatusOf)).toEqual([400, 404, 403, 408, 501, 500]);
    });
});

describe("an insert's inline data", () => {
    test.each([
        ["INSERT INTO t VALUES (1), (2)", "INSERT INTO t FORMAT Values", " (1), (2)"],
        ["INSERT INTO t (a, b) FORMAT TSV\n1\t2\n", "INSERT INTO t (a, b) FORMAT TSV", "1\t2\n"],
        [
            'INSERT INTO t SETTINGS async_insert = 1 FORMAT JSONEachRow {"a":1}',
            "INSERT INTO t SETTINGS async_insert = 1 FORMAT JSONEachRow",
            '{"a":1}',
        ],
    ])("%j is split into its insert and its data", (sql, insert, data) => {
        expect(splitInlineData(sql)).toEqual({ sql: insert, data });
    });

    test("a query without inline data is not split", () => {
        expect(splitInlineData("SELECT 1")).toBeUndefined();
    });
});

describe("what an app user may run, from the engine's parse", () => {
    const vetting = new Vetting(["file", "url", "s3", "remote", "numbers", "File", "MergeTree", "ReplacingMergeTree", "Memory"]);
    const app: FrontUser = { name: "app", passwordSha256: "", admin: false, reach: ["http://store/bucket/"] };
    const ast = (...lines: string[]) => lines.join("\n");
    const select = (source: string) =>
        ast(
            "SelectWithUnionQuery (children 1)",
            " ExpressionList (children 1)",
            "  SelectQuery (children 2)",
            "   TablesInSelectQuery (children 1)",
            "    TableExpression (children 1)",
            `     Function ${source} (children 1)`,
            "      ExpressionList (children 1)",
            "       Literal \\'http://store/bucket/key\\'",
        );

    test("local sources pass; file, url, remote and a non-granted s3 are refused by name", () => {
        expect(() => vetting.vet(app, select("numbers"))).not.toThrow();
        expect(() => vetting.vet(app, select("s3"))).not.toThrow();
        expect(() => vetting.vet({ ...app, reach: [] }, select("s3"))).toThrow("s3('http://store/bucket/key')");
        for (const source of ["file", "remote"]) expect(() => vetting.vet(app, select(source))).toThrow(`${source}()`);
    });

    test("a table on a file engine, INTO OUTFILE and SYSTEM are the admin's", () => {
        expect(() =>
            vetting.vet(app, ast("CreateQuery t (children 2)", " Storage definition (children 1)", "  Function File (children 1)")),
        ).toThrow(/file\(\)/);
        expect(() =>
            vetting.vet(app, ast("CreateQuery t (children 2)", " Storage definition (children 1)", "  Function ReplacingMergeTree")),
        ).not.toThrow();
        expect(() => vetting.vet(app, ast("SelectWithUnionQuery (children 2)", " ExpressionList", " Literal \\'/tmp/out\\'"))).toThrow(
            "INTO OUTFILE",
        );
        expect(() => vetting.vet(app, ast("SYSTEM query"))).toThrow("the statement SYSTEM");
    });

    test("the front's own upload is the one file an insert may read", () => {
        const insert = (file: string) => ast("InsertQuery   (children 3)", ` Literal \\'${file}\\'`, " Identifier t");
        expect(() => vetting.vet(app, insert("/uploads/a.body"), "/uploads/a.body")).not.toThrow();
        expect(() => vetting.vet(app, insert("/etc/passwd"), "/uploads/a.body")).toThrow("FROM INFILE");
    });
});

describe("users and roles managed through SQL", () => {
    const fresh = () =>
        new Accounts(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-accounts-")), "accounts.json"), new Set(["cellplane"]));

    test("a user from a multi-line CREATE USER, its roles and their grants; REVOKE takes them back", () => {
        const accounts = fresh();
        accounts.manage(
            "CREATE USER reporter\n  IDENTIFIED WITH sha256_password BY 'it''s;secret'\n  DEFAULT DATABASE sales\n  SETTINGS readonly = 1;",
        );
        accounts.manage("CREATE ROLE IF NOT EXISTS `sales-read`, writer");
        accounts.manage("GRANT `sales-read` TO reporter");
        accounts.manage("GRANT SHOW TABLES, SELECT ON sales.* TO `sales-read`");
        const reporter = accounts.user("reporter")!;
        expect(reporter).toMatchObject({ defaultDatabase: "sales", settings: { readonly: "1" }, roles: ["sales-read"] });
        expect(accounts.grantsOf(reporter, reporter.roles!)).toEqual([
            { privilege: "SHOW TABLES", database: "sales" },
            { privilege: "SELECT", database: "sales" },
        ]);
        accounts.manage("REVOKE SELECT ON sales.* FROM `sales-read`");
        expect(accounts.grantsOf(reporter, ["sales-read"])).toEqual([{ privilege: "SHOW TABLES", database: "sales" }]);
    });

    test("what the front cannot hold is refused by name, never widened or half applied", () => {
        const accounts = fresh();
        accounts.manage("CREATE USER u IDENTIFIED BY 'p'");
        expect(() => accounts.manage("GRANT SELECT ON sales.orders TO u")).toThrow(
            /ON db\.\* or \*; not: GRANT SELECT ON sales\.orders TO u/,
        );
        expect(() => accounts.manage("GRANT missing TO u")).toThrow("There is no role `missing`");
        expect(() => accounts.manage("CREATE USER cellplane")).toThrow("User `cellplane` already exists");
        accounts.manage("CREATE ROLE r");
        expect(() => accounts.manage("GRANT r TO u, nobody")).toThrow("There is no user `nobody`");
        expect(accounts.user("u")!.roles).toEqual([]);
    });
});
