import { stackNamesIn } from "../../model/stackFiles";
import { StackFile } from "./stackFile";

/** A command the operator asked for that would break a rule: nothing has been changed. */
export class Refusal extends Error {
    constructor(message: string) {
        super(message);
        this.name = "Refusal";
    }
}

/** The stacks of an environment: every `Pulumi.<stack>.yaml` of the project whose `cellplane:environment` is `env`. */
export function stacksOf(projectDir: string, env: string): string[] {
    return stackNamesIn(projectDir).filter((stack) => StackFile.load(projectDir, stack).raw().environment === env);
}

/** The one stack a config edit applies to: `--stack`, else the environment's only stack. */
export function stackToEdit(projectDir: string, env: string, stack?: string): string {
    const stacks = stacksOf(projectDir, env);
    if (stack !== undefined) {
        if (!stacks.includes(stack))
            throw new Refusal(
                `--stack ${stack}: not a stack of environment ${env} in ${projectDir}. Stacks of ${env}: ${stacks.join(", ") || "none"}`,
            );
        return stack;
    }
    if (stacks.length === 0) throw new Refusal(`--env ${env}: no Pulumi.<stack>.yaml in ${projectDir} has cellplane:environment ${env}`);
    if (stacks.length > 1) throw new Refusal(`--env ${env} has several stacks (${stacks.join(", ")}): name one with --stack`);
    return stacks[0];
}
