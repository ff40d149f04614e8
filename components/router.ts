import * as pulumi from "@pulumi/pulumi";
import type { Residency } from "../model/residency";
import type { RoutingTable } from "../model/routing";
import { bundleApp } from "./apps/bundle";
import type { Cell } from "./cell";

export interface RouterArgs {
    /** The cell that runs the router, of the router's residency, and the router's parent. It keeps no event data. */
    host: Cell;
    residency: Residency;
    /** The routes of the residency's own tenants. */
    routing: pulumi.Input<RoutingTable>;
    /** Every other tenant of the environment: its residency and its router's URL, for the 421 that sends it there. */
    elsewhere: Record<string, { residency: Residency; router: string }>;
}

/** One residency's front door: the router app, configured with its residency's routes and nothing of the others'. */
export class Router extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:index:Router", name, {}, { parent: args.host, ...opts });
        const env = {
            RESIDENCY: args.residency,
            ROUTES: pulumi.output(args.routing).apply((table) => JSON.stringify(table)),
            ELSEWHERE: JSON.stringify(args.elsewhere),
        };
        this.url = args.host.host({ bundle: bundleApp("router"), env, secretEnv: {}, secretRefs: {} }, this).url;
        this.registerOutputs({ url: this.url });
    }
}
