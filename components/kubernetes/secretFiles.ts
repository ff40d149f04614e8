import { core, type types } from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SecretSource } from "../platform";

/**
 * Where the pods take each secret from: a Pulumi secret goes into the component's own Secret; a Secret an operator
 * writes (Strimzi's user, CloudNativePG's CA) is referred to where it is.
 */
export class SecretFiles {
    private readonly data: Record<string, pulumi.Input<string>> = {};

    /** `secret`: the name of the component's own Secret. */
    constructor(private readonly secret: string) {}

    /**
     * The component's own Secret, of what `env` and `file` put in it: none when every secret is an operator's, as an
     * empty one would be stored with no field and replaced at every `pulumi up`.
     */
    resource(name: string, metadata: types.input.meta.v1.ObjectMeta, opts: pulumi.CustomResourceOptions): core.v1.Secret | undefined {
        if (Object.keys(this.data).length === 0) return undefined;
        return new core.v1.Secret(name, { metadata: { ...metadata, name: this.secret }, stringData: this.data }, opts);
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
