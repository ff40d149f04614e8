import * as pulumi from "@pulumi/pulumi";
import type { RoutingTable } from "../model/routing";
import { bundleApp } from "./apps/bundle";
import type { Cell } from "./cell";

export interface RouterArgs {
    /** The cell that runs the router, and the router's parent. It keeps no event data, so any cell may host it. */
    host: Cell;
    routing: pulumi.Input<RoutingTable>;
}

/** The environment's residency front door: the router app, configured with the stack's routing table. */
export class Router extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:index:Router", name, {}, { parent: args.host, ...opts });
        const routes = pulumi.output(args.routing).apply((table) => JSON.stringify(table));
        this.url = args.host.host({ bundle: bundleApp("router"), env: { ROUTES: routes }, secretEnv: {}, secretRefs: {} }, this).url;
        this.registerOutputs({ url: this.url });
    }
}
