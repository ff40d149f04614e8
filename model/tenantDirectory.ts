/**
 * Which tenant lives on which cell. Every cell carries the whole directory, so its apps can send a tenant of
 * another cell to the right place, and the policy pack can check placement from the deployed resources.
 */
export interface TenantDirectory {
    cells: Record<string, { cloud: string; region: string; residency: string; size: string }>;
    tenants: Record<string, { residency: string; cell: string } & TenantQuotas>;
}

/** What a tenant may use of its cell (`cellplane:tenants[].quotas`); every app of the cell enforces them. */
export interface TenantQuotas {
    eventsPerSecond: number;
    apiRequestsPerMinute: number;
    maxStorageGb: number;
}

/** Name of the ConfigMap that holds the directory in a cell's data namespace, and its key. */
export const TENANT_DIRECTORY_CONFIGMAP = "cellplane-tenants";
export const TENANT_DIRECTORY_KEY = "directory.json";
