/** The residency front door of one environment (config.ts). */
import { loadRouterConfig } from "./config";
import { routerServer } from "./server";

async function main() {
    const config = loadRouterConfig();
    const app = routerServer(config);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    const cells = new Set(Object.values(config.ROUTES).map((r) => r.cell));
    console.log(`router listening on ${address}: ${Object.keys(config.ROUTES).length} tenants on ${cells.size} cells`);
    const stop = async () => {
        await app.close();
        process.exit(0);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
}

main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
