import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { moduleProvider } from "../dynamic";
import type { ObjectProps } from "./providers/object";
import type { ServerKind } from "./providers/server";

const serverProvider = moduleProvider(path.join(__dirname, "providers", "server.ts"));
const objectProvider = moduleProvider(path.join(__dirname, "providers", "object.ts"));

/** A Kafka, ClickHouse or SeaweedFS server process of a local cell; `running` turns false on refresh when it is gone. */
export class LocalServer extends pulumi.dynamic.Resource {
    declare readonly running: pulumi.Output<boolean>;

    constructor(
        name: string,
        args: { kind: ServerKind; spec: pulumi.Input<Record<string, unknown>> },
        opts?: pulumi.CustomResourceOptions,
    ) {
        super(
            serverProvider,
            name,
            { ...args, running: undefined },
            { ...opts, additionalSecretOutputs: ["spec"] },
            "cellplane",
            `Local${args.kind[0].toUpperCase()}${args.kind.slice(1)}Server`,
        );
    }
}

/** A topic, bucket, ClickHouse database, file or secret of a local cell; `intact` turns false when damaged by hand. */
export class LocalObject extends pulumi.dynamic.Resource {
    declare readonly intact: pulumi.Output<boolean>;
    declare readonly value: pulumi.Output<string>;

    constructor(
        name: string,
        args: { kind: ObjectProps["kind"]; spec: pulumi.Input<Record<string, unknown>>; server?: pulumi.Input<unknown> },
        opts?: pulumi.CustomResourceOptions,
    ) {
        super(
            objectProvider,
            name,
            { ...args, intact: undefined, value: undefined },
            { ...opts, additionalSecretOutputs: ["server", "value"] },
            "cellplane",
            "LocalObject",
        );
    }
}

/** A generated password of `bytes` random bytes, hex-encoded, as a Pulumi secret. */
export function localSecret(name: string, parent: pulumi.Resource, bytes = 16): pulumi.Output<string> {
    return pulumi.secret(new LocalObject(name, { kind: "secret", spec: { bytes } }, { parent }).value);
}
