/**
 * What a cell size means, independent of the cloud. Each target maps a size to its own instance types
 * (see `aws/sizing.ts`, `azure/sizing.ts`); the counts here are shared so every cloud scales alike.
 */
export const SIZES = ["small", "medium", "large"] as const;
export type Size = (typeof SIZES)[number];

export interface CellShape {
    /** Most tenants one cell may hold: the blast radius of a cell failure. */
    tenantCapacity: number;
    kafkaBrokers: number;
    kafkaStorageGb: number;
    postgresInstances: number;
    postgresStorageGb: number;
    clickhouseShards: number;
    clickhouseReplicas: number;
    clickhouseStorageGb: number;
    keeperReplicas: number;
    nodes: { min: number; desired: number; max: number };
    /** Requests/limits for one in-cluster data pod (ClickHouse, Kafka, Postgres on Kubernetes). */
    pod: { cpu: string; memory: string };
}

export const CELL_SHAPES: Record<Size, CellShape> = {
    small: {
        tenantCapacity: 10,
        kafkaBrokers: 1,
        kafkaStorageGb: 100,
        postgresInstances: 1,
        postgresStorageGb: 50,
        clickhouseShards: 1,
        clickhouseReplicas: 1,
        clickhouseStorageGb: 100,
        keeperReplicas: 1,
        nodes: { min: 2, desired: 2, max: 4 },
        pod: { cpu: "1", memory: "4Gi" },
    },
    medium: {
        tenantCapacity: 40,
        kafkaBrokers: 3,
        kafkaStorageGb: 500,
        postgresInstances: 2,
        postgresStorageGb: 200,
        clickhouseShards: 2,
        clickhouseReplicas: 2,
        clickhouseStorageGb: 500,
        keeperReplicas: 3,
        nodes: { min: 3, desired: 4, max: 8 },
        pod: { cpu: "4", memory: "16Gi" },
    },
    large: {
        tenantCapacity: 100,
        kafkaBrokers: 6,
        kafkaStorageGb: 2000,
        postgresInstances: 3,
        postgresStorageGb: 1000,
        clickhouseShards: 4,
        clickhouseReplicas: 2,
        clickhouseStorageGb: 2000,
        keeperReplicas: 3,
        nodes: { min: 6, desired: 8, max: 20 },
        pod: { cpu: "8", memory: "32Gi" },
    },
};
