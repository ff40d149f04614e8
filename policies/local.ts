import * as fs from "fs";
import * as path from "path";
import { describe, resourcePolicy } from "./lib";

/** The repo this pack belongs to: local cells must keep their data elsewhere. */
const REPO = fs.realpathSync(path.resolve(__dirname, ".."));

/** `dir` with every symbolic link resolved, as far as it exists; the part that does not exist yet is appended as written. */
function realPathOf(dir: string): string {
    const absolute = path.resolve(dir);
    const existing = (p: string): string => (fs.existsSync(p) || path.dirname(p) === p ? p : existing(path.dirname(p)));
    const base = existing(absolute);
    return path.join(fs.realpathSync(base), path.relative(base, absolute));
}

/** Whether `dir` is `REPO` or inside it, compared as real paths (so `..state` or a link into the repo cannot pass for outside). */
function insideRepo(dir: string): boolean {
    const relative = path.relative(REPO, realPathOf(dir));
    return relative === "" || (relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

export const localStateOutsideRepo = resourcePolicy({
    name: "local-state-outside-repo",
    description: "Local cells keep server data outside the repository, so no database file or key is ever committed.",
    appliesTo: (type) => type.startsWith("pulumi-nodejs:dynamic/cellplane:Local"),
    check: (resource, report) => {
        const dir = resource.props.dir ?? resource.props.spec?.dir ?? resource.props.spec?.path;
        if (typeof dir === "string" && insideRepo(dir)) {
            report(
                `${describe(resource)} keeps its data in ${dir}, inside the repository ${REPO}. Keep local state outside the repository.`,
            );
        }
    },
});

export const LOCAL_POLICIES = [localStateOutsideRepo];
