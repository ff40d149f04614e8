import { ChildProcess, execFileSync, spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { craneBin } from "../../../components/local/tools";
import { imageOf, PINNED_IMAGES, VERSIONS } from "../../../model/versions";
import { mirroredAt, resolveDigests } from "../../../scripts/pin-images";
import { freePort } from "../../support/freePort";

/** What a registry serves for a tag: its manifest's bytes, whose sha256 is the image's digest. */
async function manifestDigest(registry: string, reference: string): Promise<string> {
    const [repository, tag] = reference.slice(registry.length + 1).split(":");
    const response = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(response.status).toBe(200);
    return `sha256:${createHash("sha256")
        .update(Buffer.from(await response.arrayBuffer()))
        .digest("hex")}`;
}

/** `npm run images:pin` against a real OCI registry (crane's), serving an image for every tag the cells pin. */
describe("pinning the cells' images to their registry's digests", () => {
    let registry: string;
    let server: ChildProcess;
    let dir: string;

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-registry-"));
        registry = `127.0.0.1:${await freePort()}`;
        server = spawn(craneBin(), ["registry", "serve", "--address", registry], { stdio: "ignore" });
        for (let i = 0; ; i++) {
            const up = await fetch(`http://${registry}/v2/`).then(
                (r) => r.ok,
                () => false,
            );
            if (up) break;
            if (i > 100) throw new Error(`crane's registry did not answer at ${registry}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        // A one-file layer per image, each different, so each tag has a digest of its own.
        for (const image of PINNED_IMAGES) {
            const layer = path.join(dir, "layer.tar");
            fs.writeFileSync(path.join(dir, "version"), image);
            execFileSync("tar", ["-cf", layer, "-C", dir, "version"]);
            execFileSync(craneBin(), ["append", "--insecure", "-f", layer, "-t", mirroredAt(image, registry)], { stdio: "ignore" });
        }
    }, 60_000);

    afterAll(() => {
        server?.kill();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("every pinned image gets the digest of the manifest its registry serves for the tag", async () => {
        expect(PINNED_IMAGES).toEqual(expect.arrayContaining([imageOf(VERSIONS.clickhouseImage, {}), imageOf(VERSIONS.nodeImage, {})]));
        const digests = resolveDigests(PINNED_IMAGES, { registry, insecure: true });
        expect(Object.keys(digests)).toEqual(PINNED_IMAGES);
        for (const image of PINNED_IMAGES) expect(digests[image]).toBe(await manifestDigest(registry, mirroredAt(image, registry)));
        expect(new Set(Object.values(digests)).size).toBe(PINNED_IMAGES.length);
        // The components then name each image by its tag and that digest.
        expect(imageOf(VERSIONS.nodeImage, digests)).toBe(`${imageOf(VERSIONS.nodeImage, {})}@${digests[imageOf(VERSIONS.nodeImage, {})]}`);
    });

    test("the script writes the digests, and a tag the registry lacks fails naming the image, writing nothing", () => {
        const out = path.join(dir, "digests.json");
        const run = (...args: string[]) =>
            execFileSync("npx", ["tsx", "scripts/pin-images.ts", "--registry", registry, "--insecure", "--out", out, ...args], {
                encoding: "utf8",
            });
        expect(run()).toContain(`pinned ${PINNED_IMAGES.length} images in ${out}`);
        expect(Object.keys(JSON.parse(fs.readFileSync(out, "utf8")))).toEqual(PINNED_IMAGES);
        fs.rmSync(out);
        let failure = "";
        try {
            execFileSync("npx", ["tsx", "scripts/pin-images.ts", "--registry", `${registry}/nowhere`, "--insecure", "--out", out], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            });
        } catch (error) {
            failure = (error as { stderr: string }).stderr;
        }
        expect(failure).toMatch(new RegExp(`^${PINNED_IMAGES[0].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: its registry gave no digest`));
        expect(failure).toContain("nothing was written");
        expect(fs.existsSync(out)).toBe(false);
    }, 60_000);
});
