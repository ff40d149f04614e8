import * as esbuild from "esbuild";
import * as path from "path";
import { cacheDir, NODE_TARGET } from "../runtime";

/** Each app's entry point under `apps/`. */
const ENTRIES = {
    ingest: "ingest/main.ts",
    "ingest-consumer": "ingest/consumerMain.ts",
    export: "export/main.ts",
    router: "router/main.ts",
} as const;
export type AppName = keyof typeof ENTRIES;

/** One app as a single JavaScript file, named by esbuild after a hash of its content. */
export interface AppBundle {
    app: AppName;
    file: string;
    hash: string;
}

const ROOT = path.join(__dirname, "..", "..");
const built = new Map<AppName, AppBundle>();

/**
 * Bundles an app's entry point and everything it imports into `<cache>/bundles/<app>-<hash>.js`. The same sources
 * give the same file and hash, so an unchanged app leaves every deployment as it is.
 */
export function bundleApp(app: AppName): AppBundle {
    const cached = built.get(app) ?? { app, ...bundleFile(path.join(ROOT, "apps", ENTRIES[app]), app) };
    built.set(app, cached);
    return cached;
}

/** Bundles one entry point into `<cache>/bundles/<name>-<hash>.js`. */
export function bundleFile(entry: string, name: string): { file: string; hash: string } {
    const result = esbuild.buildSync({
        entryPoints: [entry],
        absWorkingDir: ROOT,
        outdir: path.join(cacheDir(), "bundles"),
        entryNames: `${name}-[hash]`,
        bundle: true,
        platform: "node",
        target: NODE_TARGET,
        format: "cjs",
        minify: true,
        legalComments: "none",
        // pg loads its native binding only when asked to; the apps never ask.
        external: ["pg-native"],
        // The Kafka client's checksums and codecs are WebAssembly read from a file beside its module; a bundle has no
        // such file, so it takes the build that carries the module inline.
        alias: { "@platformatic/wasm-utils": "@platformatic/wasm-utils/bundled" },
        // ES modules bundled into CommonJS still ask for their own URL (the Kafka client's createRequire): the bundle's.
        banner: { js: 'const import_meta_url = require("url").pathToFileURL(__filename).href;' },
        define: { "import.meta.url": "import_meta_url" },
        metafile: true,
        logLevel: "error",
    });
    const file = path.resolve(ROOT, Object.keys(result.metafile.outputs)[0]);
    return { file, hash: /-([A-Z0-9]+)\.js$/.exec(file)![1] };
}
