import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { moduleProvider } from "../dynamic";

const revisionProvider = moduleProvider(path.join(__dirname, "revisionProvider.ts"));

/**
 * The serial of a routing table: 1 when the table is first made, one more with every change of its content, kept in
 * the state. A router takes a table only if its serial is not older than the one it serves (`apps/router/routingTable.ts`).
 */
export class RoutingRevision extends pulumi.dynamic.Resource {
    declare readonly serial: pulumi.Output<number>;

    constructor(name: string, content: pulumi.Input<string>, opts?: pulumi.CustomResourceOptions) {
        const digest = pulumi.output(content).apply((text) => createHash("sha256").update(text).digest("hex"));
        super(revisionProvider, name, { digest, serial: undefined }, opts, "cellplane", "RoutingRevision");
    }
}
