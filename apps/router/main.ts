/** The front door of one residency of an environment (config.ts). */
import { Readiness } from "../shared/readiness";
import { runService } from "../shared/service";
import { loadRouterConfig } from "./config";
import { routerServer } from "./server";

runService(async () => {
    const config = loadRouterConfig();
    const app = routerServer(config);
    // The router keeps no connection of its own: it is ready as soon as it listens.
    new Readiness().guard(app);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    const cells = new Set(Object.values(config.ROUTES).map((r) => r.cell));
    console.log(
        `router of residency ${config.RESIDENCY} listening on ${address}: ${Object.keys(config.ROUTES).length} tenants on ${cells.size} cells`,
    );
    return () => app.close();
});
