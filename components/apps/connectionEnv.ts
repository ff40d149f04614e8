import * as pulumi from "@pulumi/pulumi";
import { CONNECTION_ENV, type ConnectionName } from "../../model/connections";
import type { SecretSource, StoreAccess } from "../platform";

/** An app's environment: plain settings, Pulumi secrets, and keys of Kubernetes Secrets that operators write. */
export interface AppEnvironment {
    env: Record<string, pulumi.Input<string>>;
    secretEnv: Record<string, pulumi.Input<string>>;
    secretRefs: Record<string, { name: pulumi.Input<string>; key: string }>;
}

const empty = (): AppEnvironment => ({ env: {}, secretEnv: {}, secretRefs: {} });

function put(environment: AppEnvironment, variable: string, source: SecretSource | undefined): void {
    if (!source) return;
    if ("value" in source) environment.secretEnv[variable] = pulumi.secret(source.value);
    else environment.secretRefs[variable] = source.secretKeyRef;
}

/** The one place a store's access becomes environment variables: `<NAME>` (JSON), `<NAME>_CA`, `<NAME>_PASSWORD`. */
export function connectionEnv<C>(name: ConnectionName, access: StoreAccess<C>): AppEnvironment {
    const prefix = CONNECTION_ENV[name];
    const environment = empty();
    environment.env[prefix] = pulumi.output(access.connection).apply((connection) => JSON.stringify(connection));
    put(environment, `${prefix}_CA`, access.ca);
    put(environment, `${prefix}_PASSWORD`, access.password);
    return environment;
}

export function mergeEnvironments(...parts: AppEnvironment[]): AppEnvironment {
    return parts.reduce(
        (all, part) => ({
            env: { ...all.env, ...part.env },
            secretEnv: { ...all.secretEnv, ...part.secretEnv },
            secretRefs: { ...all.secretRefs, ...part.secretRefs },
        }),
        empty(),
    );
}

/** Settings that are not secrets. */
export const plainEnv = (env: Record<string, pulumi.Input<string>>): AppEnvironment => ({ ...empty(), env });
