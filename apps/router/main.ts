/** The front door of one residency of an environment (config.ts). */
import { Readiness } from "../shared/readiness";
import { runService } from "../shared/service";
import { loadRouterConfig } from "./config";
import { RoutingTable } from "./routingTable";
import { routerServer } from "./server";

runService(async () => {
    const config = loadRouterConfig();
    const routing = new RoutingTable(config.ROUTING_FILE, config.RESIDENCY);
    routing.watch(config.ROUTING_POLL_MS, (message) => console.log(message));
    const app = routerServer(config, routing);
    // The router keeps no connection of its own: it is ready as soon as it listens.
    new Readiness().guard(app);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    const table = routing.current;
    console.log(
        `router of residency ${config.RESIDENCY} listening on ${address}: routing table serial ${table.serial}, ${Object.keys(table.tenants).length} tenants on ${Object.keys(table.cells).length} cells (${config.ROUTING_FILE})`,
    );
    return async () => {
        routing.stop();
        await app.close();
    };
});
