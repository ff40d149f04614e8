import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/**
 * A generated password, wrapped as a Pulumi secret at the source so every input and output derived from it
 * stays encrypted in state. No special characters: it goes into URLs and connection strings.
 */
export function generatedPassword(name: string, parent: pulumi.Resource, length = 32): pulumi.Output<string> {
    return pulumi.secret(new random.RandomPassword(name, { length, special: false }, { parent }).result);
}
