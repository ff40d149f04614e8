import * as fs from "fs";
import * as path from "path";
import { holdsData } from "../../model/stateful";
import { allStatefulUrns, STATEFUL_URNS_FILE } from "../../offline/statefulUrns";
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
            ["topic", "bucket", "coldBucket", "lakeBucket", "container", "postgresSchema", "clickhouseDatabase", "clickhouseTable"].every(
                (kind) => holdsData(local, { kind }),
            ),
        ).toBe(true);
        expect(["file", "certificateAuthority", "serverCertificate", "secret"].some((kind) => holdsData(local, { kind }))).toBe(false);
        expect(holdsData("kubernetes:helm.sh/v3:Release", { chart: "seaweedfs" })).toBe(true);
        expect(holdsData("kubernetes:helm.sh/v3:Release", { chart: "spark-operator" })).toBe(false);
        expect(holdsData("pulumi-nodejs:dynamic/cellplane:LocalAppServer", {})).toBe(false);
    });

    test("keep their URNs in every checked-in stack: a rename, retype or new parent would delete and recreate them", async () => {
        const recorded: Record<string, string[]> = JSON.parse(fs.readFileSync(STATEFUL_URNS_FILE, "utf8"));
        const now = await allStatefulUrns();
        const lost = Object.entries(recorded).flatMap(([stack, urns]) => urns.filter((urn) => !now[stack]?.includes(urn)));
        const added = Object.entries(now).flatMap(([stack, urns]) => urns.filter((urn) => !recorded[stack]?.includes(urn)));
        // A URN gone is a resource whose data the next `pulumi up` deletes: give it an alias (pulumi.Alias) to its old
        // name, type or parent. A new stateful resource, or one removed on purpose, is recorded with npm run stateful:record.
        expect({ lost, added }).toEqual({ lost: [], added: [] });
    }, 60_000);
});
