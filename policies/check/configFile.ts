import Ajv from "ajv";
import addFormats from "ajv-formats";
import type { Policies } from "@pulumi/policy";
import { POLICIES } from "../pack";
import type { PackConfig } from "./engine";

const LEVELS = ["advisory", "mandatory", "remediate", "disabled"];

/**
 * Every problem of a `--policy-pack-config` file, checked offline as the engine would at `pulumi preview`: each key a
 * policy of the pack (or `all`), each value a level, or a level with settings that the policy's `configSchema` accepts.
 */
export function configProblems(file: string, config: PackConfig, policies: Policies = POLICIES): string[] {
    const ajv = addFormats(new Ajv({ allErrors: true, useDefaults: false }));
    const byName = new Map(policies.map((p) => [p.name, p]));
    const problems: string[] = [];
    for (const [name, entry] of Object.entries(config)) {
        const policy = byName.get(name);
        if (!policy && name !== "all") {
            problems.push(`${file}: "${name}" is no policy of the pack; policies: ${[...byName.keys()].join(", ")}`);
            continue;
        }
        const schema =
            typeof entry === "string"
                ? { enum: LEVELS }
                : {
                      type: "object",
                      properties: { enforcementLevel: { enum: LEVELS }, ...policy?.configSchema?.properties },
                      ...(policy?.configSchema?.required ? { required: policy.configSchema.required } : {}),
                      additionalProperties: false,
                  };
        const validate = ajv.compile(schema);
        if (!validate(entry))
            problems.push(
                ...validate.errors!.map(
                    (e) =>
                        `${file}: ${name}${e.instancePath.replaceAll("/", ".")} ${e.message}${e.params && "allowedValues" in e.params ? ` (${(e.params.allowedValues as string[]).join(", ")})` : ""}${e.params && "additionalProperty" in e.params ? `: "${e.params.additionalProperty}" is no setting of ${name}` : ""}`,
                ),
            );
    }
    return problems;
}
