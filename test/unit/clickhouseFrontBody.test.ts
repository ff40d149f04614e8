import { insertFromFile } from "../../components/local/clickhouse/body";

describe("an insert whose data is the request's body, read from a file", () => {
    test.each([
        ["INSERT INTO t FORMAT RowBinary", "INSERT INTO t FROM INFILE '/up/q.body' FORMAT RowBinary"],
        ["insert into db.t (a, b) format JSONEachRow", "insert into db.t (a, b) FROM INFILE '/up/q.body' FORMAT JSONEachRow"],
        [
            "INSERT INTO t SETTINGS async_insert=0 FORMAT Parquet",
            "INSERT INTO t FROM INFILE '/up/q.body' SETTINGS async_insert=0 FORMAT Parquet",
        ],
        ["  INSERT INTO t\nFORMAT Native\n", "  INSERT INTO t FROM INFILE '/up/q.body' FORMAT Native"],
    ])("%j reads the file", (query, expected) => {
        expect(insertFromFile(query, "/up/q.body")).toBe(expected);
    });

    test.each([
        "SELECT 1 FORMAT JSON",
        "INSERT INTO t VALUES (1)",
        "INSERT INTO t SELECT * FROM s",
        "CREATE TABLE t (x UInt8) ENGINE = Memory",
    ])("%j takes no body: left alone", (query) => {
        expect(insertFromFile(query, "/up/q.body")).toBeUndefined();
    });

    test("a quote in the file's path cannot end the string", () => {
        expect(insertFromFile("INSERT INTO t FORMAT CSV", "/up/it's.body")).toBe("INSERT INTO t FROM INFILE '/up/it\\'s.body' FORMAT CSV");
    });
});
