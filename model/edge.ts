import type { AppName } from "../components/apps/bundle";
import type { Residency } from "./residency";

/** The apps a cell serves at its public name, and the paths of the tenant API each answers (as the router routes them). */
export const PUBLIC_PATHS = {
    ingest: ["/v1/events", "/v1/metrics"],
    export: ["/v1/exports", "/v1/schedules", "/v1/jobs"],
} as const satisfies Partial<Record<AppName, readonly string[]>>;

/** Where a cluster cell's public names live: the environment under the stack's DNS zone. */
export interface EdgeNames {
    environment: string;
    dnsZone: string;
}

/** A router's public name: `<residency>.<environment>.<zone>`. */
export const routerHost = (residency: Residency, names: EdgeNames) => `${residency}.${names.environment}.${names.dnsZone}`;

/** A cell's public name, which its ingest and export APIs share: `<cell>.<environment>.<zone>`. */
export const cellHost = (cell: string, names: EdgeNames) => `${cell}.${names.environment}.${names.dnsZone}`;
