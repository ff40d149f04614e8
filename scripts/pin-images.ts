/**
 * `npm run images:pin`: pins every image the cells run to the digest its registry serves for its tag, in
 * model/imageDigests.json, which the components read (model/versions.ts). crane speaks each registry's API and its
 * auth (Docker Hub's tokens, ghcr.io's). Run it where the registries answer, after a version changes, and commit the
 * file. `--registry host:port` asks one registry for every image instead: a mirror, or the tests' own.
 *
 *   npm run images:pin [-- --registry 127.0.0.1:5000 --insecure --out file.json]
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { craneBin } from "../components/local/tools";
import { imageDigests, PINNED_IMAGES } from "../model/versions";

export const DIGESTS_FILE = path.join(__dirname, "..", "model", "imageDigests.json");

/** Where `image` lives on a mirror at `registry`: Docker Hub's official images under `library/`, others by their path. */
export function mirroredAt(image: string, registry: string): string {
    const parts = image.split("/");
    const repository = /[.:]/.test(parts[0]) && parts.length > 1 ? parts.slice(1) : parts;
    return `${registry}/${repository.length === 1 ? `library/${repository[0]}` : repository.join("/")}`;
}

/** The digest of each image's tag, asked of its registry (or of `registry` for all); throws naming the first it cannot get. */
export function resolveDigests(images: string[], options: { registry?: string; insecure?: boolean } = {}): Record<string, string> {
    const digests: Record<string, string> = {};
    for (const image of images) {
        const reference = options.registry ? mirroredAt(image, options.registry) : image;
        try {
            const out = execFileSync(craneBin(), ["digest", ...(options.insecure ? ["--insecure"] : []), reference], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
                timeout: 60_000,
            });
            digests[image] = out.trim();
        } catch (error) {
            const stderr = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
            throw new Error(`${image}: its registry gave no digest for ${reference} (${stderr}); nothing was written`, { cause: error });
        }
        if (!/^sha256:[0-9a-f]{64}$/.test(digests[image])) throw new Error(`${image}: "${digests[image]}" is not a sha256 digest`);
    }
    return digests;
}

if (require.main === module) {
    const options = new Command("images:pin")
        .description("pin every image the cells run to its registry's digest for its tag")
        .option("--registry <host:port>", "ask this registry (a mirror) for every image")
        .option("--insecure", "reach the registry over plain HTTP")
        .option("--out <file>", "where to write the digests", DIGESTS_FILE)
        .parse()
        .opts<{ registry?: string; insecure?: boolean; out: string }>();
    try {
        const before = options.out === DIGESTS_FILE ? imageDigests() : {};
        const digests = resolveDigests(PINNED_IMAGES, options);
        for (const [image, digest] of Object.entries(digests))
            console.log(`${image}  ${digest}${before[image] === digest ? "" : before[image] ? "  (changed)" : "  (new)"}`);
        fs.writeFileSync(options.out, `${JSON.stringify(digests, null, 2)}\n`);
        console.log(`pinned ${Object.keys(digests).length} images in ${options.out}`);
    } catch (error) {
        console.error((error as Error).message);
        process.exitCode = 1;
    }
}
