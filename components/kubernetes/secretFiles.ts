import * as pulumi from "@pulumi/pulumi";
import type { SecretSource } from "../platform";

/**
 * Where the pods take each secret from: a Pulumi secret goes into the component's own Secret; a Secret an operator
 * writes (Strimzi's user, CloudNativePG's CA) is referred to where it is.
 */
export class SecretFiles {
    readonly data: Record<string, pulumi.Input<string>> = {};

    /** `secret`: the name of the component's own Secret, which it makes of `data`. */
    constructor(private readonly secret: string) {}

    /**
     * The Secret's `stringData`: none when every secret is an operator's. The API server stores an empty map as no
     * field, so `{}` would read back as a change and replace the Secret on every `pulumi up`.
     */
    get stringData(): Record<string, pulumi.Input<string>> | undefined {
        return Object.keys(this.data).length > 0 ? this.data : undefined;
    }

    env(variable: string, source: SecretSource | undefined) {
        return source ? [{ name: variable, valueFrom: { secretKeyRef: this.ref(variable, source) } }] : [];
    }

    file(file: string, source: SecretSource | undefined) {
        if (!source) return undefined;
        const { name, key } = this.ref(file, source);
        return { secret: { name, items: [{ key, path: file }] } };
    }

    private ref(key: string, source: SecretSource): { name: pulumi.Input<string>; key: string } {
        if ("secretKeyRef" in source) return source.secretKeyRef;
        this.data[key] = pulumi.secret(source.value);
        return { name: this.secret, key };
    }
}
