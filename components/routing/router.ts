import * as pulumi from "@pulumi/pulumi";
import type { Residency } from "../../model/residency";
import type { RouterTableContent } from "../../model/routing";
import { bundleApp } from "../apps/bundle";
import type { Cell } from "../cell";
import { RoutingRevision } from "./revision";

export interface RouterArgs {
    /** The cell that runs the router, of the router's residency, and the router's parent. It keeps no event data. */
    host: Cell;
    residency: Residency;
    /** The residency's cells and tenants, where the other tenants go, and the operators' overrides. */
    table: pulumi.Input<RouterTableContent>;
    /** cell → the key of the router's proof for it (`Cell.routerKey`): the residency's cells only. Secrets. */
    keys: Record<string, pulumi.Input<string>>;
}

/**
 * One residency's front door: the router app, with its residency's routing table as a file it re-reads while it
 * runs (a new table never restarts it) and the keys of its residency's cells, nothing of the others'.
 */
export class Router extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:index:Router", name, {}, { parent: args.host, ...opts });
        const table = pulumi.output(args.table);
        const revision = new RoutingRevision(
            `${name}-table`,
            table.apply((content) => JSON.stringify(content)),
            { parent: this },
        );
        const file = pulumi.all([table, revision.serial]).apply(([content, serial]) => JSON.stringify({ serial, ...content }, null, 2));
        this.url = args.host.host(
            {
                bundle: bundleApp("router"),
                env: { RESIDENCY: args.residency, ...(args.host.appCa ? { UPSTREAM_CA: args.host.appCa } : {}) },
                secretEnv: { ROUTER_KEYS: pulumi.secret(pulumi.all(args.keys).apply((keys) => JSON.stringify(keys))) },
                secretRefs: {},
                fileEnv: { ROUTING_FILE: file },
            },
            this,
        ).url;
        this.registerOutputs({ url: this.url });
    }
}
