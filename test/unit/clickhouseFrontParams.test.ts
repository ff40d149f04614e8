import { paramValue, placeholderTypes } from "../../components/local/clickhouse/params";

describe("param_* values, as ClickHouse's HTTP interface reads them", () => {
    test("placeholders give each parameter its type", () => {
        expect(
            placeholderTypes("SELECT {a:String}, { b : Map(String, UInt8) } WHERE x = {c:Array(Tuple(String, Nullable(UInt8)))}"),
        ).toEqual(
            new Map([
                ["a", "String"],
                ["b", "Map(String, UInt8)"],
                ["c", "Array(Tuple(String, Nullable(UInt8)))"],
            ]),
        );
    });

    test("\\N is NULL for any type", () => {
        expect(paramValue("\\N", "Nullable(String)")).toBeNull();
        expect(paramValue("\\N", "Array(UInt8)")).toBeNull();
    });

    test("a scalar is unescaped once, so chdb's own escaping gives the text back", () => {
        expect(paramValue("it\\'s \\\\ a\\ttab\\n", "String")).toBe("it's \\ a\ttab\n");
    });

    test("an array, tuple or map becomes the value chdb writes as that literal", () => {
        expect(paramValue("['it\\'s','b\\\\c']", "Array(String)")).toEqual(["it's", "b\\c"]);
        expect(paramValue("[1,NULL,-3]", "Array(Nullable(Int8))")).toEqual([1, null, -3]);
        expect(paramValue("[18446744073709551615]", "Array(UInt64)")).toEqual([18446744073709551615n]);
        const tuple = paramValue("('a\\'b', 1.5, [2])", "Tuple(String, Float64, Array(UInt8))") as { values: unknown[] };
        expect(tuple.constructor.name).toBe("TupleParam");
        expect(tuple.values).toEqual(["a'b", 1.5, [2]]);
        expect(paramValue("{'k\\'':1, 'l':2}", "Map(String, UInt8)")).toEqual(
            new Map([
                ["k'", 1],
                ["l", 2],
            ]),
        );
    });

    test("a malformed literal says where it stops", () => {
        expect(() => paramValue("['open", "Array(String)")).toThrow(/cannot be parsed at position 7: a quoted string is not closed/);
        expect(() => paramValue("[1 2]", "Array(UInt8)")).toThrow(/expected ,/);
    });
});
