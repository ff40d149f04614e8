import * as fs from "fs";
import * as path from "path";
import { holdsData } from "../../model/stateful";
import { runStackFile } from "../support/harness";

describe("the resources that hold data", () => {
    test("every stateful type is one the program creates (no misspelt type guards nothing)", async () => {
        const types = new Set<string>();
        for (const stack of ["prod", "local"]) for (const r of (await runStackFile(stack)).resources) types.add(r.type);
        const stateful = [...types].filter((type) => holdsData(type, {}));
        expect(stateful.length).toBeGreaterThan(20);
        const source = fs.readFileSync(path.join(__dirname, "..", "..", "model", "stateful.ts"), "utf8");
        const listed = [...source.matchAll(/^ {4}"([^"]+:[^"]+)",$/gm)].map((m) => m[1]);
        expect(listed.filter((type) => !types.has(type))).toEqual([]);
    });

    test("a local cell's topics, buckets and schemas hold data; its files, certificates and secrets do not", () => {
        const local = "pulumi-nodejs:dynamic/cellplane:LocalObject";
        expect(
            ["topic", "bucket", "container", "postgresSchema", "clickhouseDatabase", "clickhouseTable"].every((kind) =>
                holdsData(local, { kind }),
            ),
        ).toBe(true);
        expect(["file", "certificateAuthority", "serverCertificate", "secret"].some((kind) => holdsData(local, { kind }))).toBe(false);
        expect(holdsData("kubernetes:helm.sh/v3:Release", { chart: "seaweedfs" })).toBe(true);
        expect(holdsData("kubernetes:helm.sh/v3:Release", { chart: "spark-operator" })).toBe(false);
        expect(holdsData("pulumi-nodejs:dynamic/cellplane:LocalAppServer", {})).toBe(false);
    });
});
