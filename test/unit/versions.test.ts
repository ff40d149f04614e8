import * as fs from "fs";
import * as path from "path";
import { VERSIONS } from "../../model/versions";

const README = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
const section = README.slice(README.indexOf("## Pinned versions"), README.indexOf("\n## ", README.indexOf("## Pinned versions") + 1));

describe("the table of pinned versions", () => {
    test.each(Object.entries(VERSIONS))("%s: each entry has a source, and an end of support that is a date or null", (_name, pinned) => {
        expect(pinned.source).toMatch(/^https:\/\//);
        if (pinned.endOfSupport !== null)
            expect(new Date(`${pinned.endOfSupport}T00:00:00Z`).toISOString().slice(0, 10)).toBe(pinned.endOfSupport);
    });

    test.each(Object.entries(VERSIONS))("%s: the README's row says the same version and end of support", (_name, pinned) => {
        const version = /^v?[\dx.]+/.exec(pinned.version)![0];
        const rows = section.split("\n").filter(
            (line) =>
                line.startsWith("|") &&
                line
                    .split("|")[2]
                    .split(/[\s/()]+/)
                    .includes(version),
        );
        const end = pinned.endOfSupport ?? /none published|while newest/;
        expect(rows.filter((row) => row.split("|")[3].match(end))).not.toEqual([]);
    });
});
