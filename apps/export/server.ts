import type { FastifyInstance } from "fastify";
import type { Pool } from "pg";
import type { ApiKeys } from "../shared/apiKeys";
import { tenantApi } from "../shared/auth";
import { tlsOf } from "../shared/config";
import { healthRoute, metricsRoute, serviceApp } from "../shared/http";
import type { Quotas } from "../shared/quotas";
import type { ExportConfig } from "./config";
import type { DownloadSigner } from "./downloads";
import type { ExportMetrics } from "./metrics";
import type { ExportRunner } from "./runner";
import type { ExportStore } from "./store";
import { jobRoutes } from "./routes/jobs";
import { scheduleRoutes } from "./routes/schedules";
import { queryRoutes } from "./routes/query";
import type { LakeQueries } from "./lakeQueries";

export interface ExportDeps {
    config: Pick<ExportConfig, "CELL_ID" | "TENANTS" | "ROUTER_URLS" | "ROUTER_KEY" | "TLS_CERT" | "TLS_KEY" | "DOWNLOAD_URL_SECONDS">;
    keys: ApiKeys;
    quotas: Quotas;
    pool: Pool;
    store: ExportStore;
    runner: ExportRunner;
    metrics: ExportMetrics;
    downloads: DownloadSigner;
    /** Tenants' SQL over the cell's lake, where the cell has one. */
    lake?: LakeQueries;
}

/**
 * The export API of one cell (seed 000 §2.3): a tenant's schedules, on-demand exports, and the jobs every run
 * leaves, each a plugin behind the tenant hook. Tenants come from API keys.
 */
export function exportServer(deps: ExportDeps): FastifyInstance {
    const { config, keys, quotas } = deps;
    const app = serviceApp({ tls: tlsOf(config), metrics: deps.metrics.registry });
    app.register(async (api) => {
        tenantApi(api, { config, keys, quotas });
        scheduleRoutes(api, deps);
        jobRoutes(api, deps);
        queryRoutes(api, deps);
    });
    healthRoute(app, config.CELL_ID);
    metricsRoute(app, deps.metrics.registry);
    return app;
}
