import * as path from "path";
import { describe, resourcePolicy } from "./lib";

/** The repo this pack belongs to: local cells must keep their data elsewhere. */
const REPO = path.resolve(__dirname, "..");

export const localStateOutsideRepo = resourcePolicy({
    name: "local-state-outside-repo",
    description: "Local cells keep server data outside the repository, so no database file or key is ever committed.",
    appliesTo: (type) => type.startsWith("pulumi-nodejs:dynamic/cellplane:Local"),
    check: (resource, report) => {
        const dir = resource.props.dir ?? resource.props.spec?.dir ?? resource.props.spec?.path;
        if (typeof dir === "string" && !path.relative(REPO, path.resolve(dir)).startsWith("..")) {
            report(`${describe(resource)} keeps its data in ${dir}, inside the repository ${REPO}. Keep local state outside the repository.`);
        }
    },
});

export const LOCAL_POLICIES = [localStateOutsideRepo];
