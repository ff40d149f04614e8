import * as fs from "fs";
import * as path from "path";
import { imageDigests, imageOf, PINNED_IMAGES, taggedImageOf, VERSIONS } from "../../model/versions";
import { pinnedVersionsOf } from "../../policies/versions";

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

describe("images pinned by digest", () => {
    const digest = `sha256:${"0f".repeat(32)}`;

    test("an image is named by its tag and, once pinned, its digest: the tag says the version, the digest the bytes", () => {
        const tagged = taggedImageOf(VERSIONS.clickhouseImage);
        expect(imageOf(VERSIONS.clickhouseImage, {})).toBe(tagged);
        expect(imageOf(VERSIONS.clickhouseImage, { [tagged]: digest })).toBe(`${tagged}@${digest}`);
        // The supported-versions policies still read the version from the tag.
        expect(pinnedVersionsOf({ type: "kubernetes:apps/v1:Deployment", props: { spec: { image: `${tagged}@${digest}` } } })).toEqual([
            { kind: VERSIONS.clickhouseImage.kind, version: VERSIONS.clickhouseImage.version },
        ]);
    });

    test("every pinned digest names an image the cells run, and is a sha256", () => {
        for (const [image, pinned] of Object.entries(imageDigests())) {
            expect(PINNED_IMAGES).toContain(image);
            expect(pinned).toMatch(/^sha256:[0-9a-f]{64}$/);
        }
    });
});
