import * as path from "path";
import type { CellConfig } from "../../model/config";
import { TENANT_DIRECTORY_KEY } from "../../model/tenantDirectory";
import type { AppName } from "../apps/bundle";
import type { CellContext, CellPlatform, CellTarget } from "../platform";
import { appUrlOf } from "./appServer";
import {
    blobAccountOf,
    LocalApp,
    LocalBlobStore,
    LocalClickHouse,
    LocalKafka,
    LocalMetrics,
    LocalObjectStore,
    LocalPostgres,
    LocalJobScheduler,
    LocalStreamingJob,
} from "./parts";
import { blobEndpointOf } from "./azuriteServer";
import type { ScrapeTarget } from "./prometheusServer";
import { s3Url } from "./seaweedfsServer";
import { exportsBucketOf, lakeBucketOf } from "../bucketNames";
import { LocalObject, localSecret } from "./resources";
import type { LocalCertificates } from "./tls";

/**
 * Offsets of a local cell's servers and apps from its `portBase`, all within its PORTS_PER_LOCAL_CELL: Kafka's
 * controller takes the port after Kafka's, and SeaweedFS's own servers the INTERNAL_PORTS from `objectStoreInternal`.
 * The exporters (`*Metrics`) serve plain HTTP on loopback; the cell's Prometheus listens on `metrics`.
 */
export const LOCAL_PORTS = {
    postgres: 0,
    kafka: 1,
    clickhouse: 3,
    objectStore: 4,
    kafkaPlain: 5,
    ingest: 6,
    export: 7,
    router: 8,
    "ingest-consumer": 9,
    objectStoreInternal: 10,
    metrics: 19,
    kafkaMetrics: 20,
    postgresMetrics: 21,
    objectStoreMetrics: 22,
    streaming: 23,
    jobScheduler: 24,
} as const;

export interface LocalTargetOptions {
    /** The stack's CA, which issues every server's certificate; absent, the cells speak plain text. */
    certificates?: LocalCertificates;
    /** Whether each cell runs its Prometheus and the exporters it scrapes (`cellplane:localMetrics`). */
    metrics: boolean;
    /** Whether each cell runs the streaming job (`cellplane:localStreaming`). */
    streaming: boolean;
    /** Whether each cell runs its lakehouse jobs on their schedules (`cellplane:localJobSchedules`). */
    jobSchedules: boolean;
}

/**
 * This machine: every part is a real server process (Postgres, Kafka in KRaft mode, ClickHouse's engine, SeaweedFS)
 * listening on loopback, with its data under `stateDir`, the stack's folder. No Kubernetes, so no stream operators.
 */
export const localTarget = (stateDir: string, options: LocalTargetOptions): CellTarget => ({
    platform(context: CellContext): CellPlatform {
        const { cell, parent } = context;
        const { certificates } = options;
        const root = path.join(stateDir, cell.id);
        const part = (name: keyof typeof LOCAL_PORTS) => ({ context, dir: path.join(root, name), port: portOf(cell, name), certificates });
        // Where an exporter serves its metrics, when the cell runs its metrics server.
        const metricsPort = (name: "kafkaMetrics" | "postgresMetrics" | "objectStoreMetrics") =>
            options.metrics ? portOf(cell, name) : undefined;
        const opts = { parent };
        return {
            postgres: () =>
                new LocalPostgres(`${cell.id}-postgres`, { ...part("postgres"), metricsPort: metricsPort("postgresMetrics") }, opts),
            kafka: () =>
                new LocalKafka(
                    `${cell.id}-kafka`,
                    { ...part("kafka"), plainPort: portOf(cell, "kafkaPlain"), metricsPort: metricsPort("kafkaMetrics") },
                    opts,
                ),
            clickhouse: (objectStore, lakeReaders) =>
                new LocalClickHouse(
                    `${cell.id}-clickhouse`,
                    {
                        ...part("clickhouse"),
                        coldDisk: objectStore.coldDisk,
                        lakeReaders,
                        exporterReach: [...exporterStores(cell, Boolean(certificates)), `127.0.0.1:${portOf(cell, "postgres")}`],
                    },
                    opts,
                ),
            objectStore: () =>
                cell.objectStore === "azblob" && certificates
                    ? new LocalBlobStore(`${cell.id}-blob-store`, { ...part("objectStore"), certificates }, opts)
                    : new LocalObjectStore(
                          `${cell.id}-object-store`,
                          {
                              ...part("objectStore"),
                              internalPortBase: portOf(cell, "objectStoreInternal"),
                              metricsPort: metricsPort("objectStoreMetrics"),
                          },
                          opts,
                      ),
            metrics: options.metrics
                ? (after) =>
                      new LocalMetrics(
                          `${cell.id}-metrics`,
                          { ...part("metrics"), targets: scrapeTargetsOf(context, Boolean(certificates)) },
                          { parent, dependsOn: after },
                      )
                : undefined,
            tenantDirectory: (directory) => {
                new LocalObject(
                    `${cell.id}-tenant-directory`,
                    { kind: "file", spec: { path: path.join(root, TENANT_DIRECTORY_KEY), content: JSON.stringify(directory, null, 2) } },
                    opts,
                );
            },
            lakehouseJobs: options.jobSchedules
                ? (stores, jobOpts) => new LocalJobScheduler(`${cell.id}-lakehouse-scheduler`, { ...part("jobScheduler"), stores }, jobOpts)
                : undefined,
            streamingJob: options.streaming
                ? (kafka, jobOpts) => new LocalStreamingJob(`${cell.id}-streaming`, { ...part("streaming"), kafka }, jobOpts)
                : undefined,
            app: (spec, appOpts) => new LocalApp(`${cell.id}-${spec.bundle.app}`, { spec, ...part(spec.bundle.app) }, appOpts),
            secret: (name, bytes) => localSecret(`${cell.id}-${name}`, parent, bytes),
        };
    },
    appUrl: (cell, app) => appUrlOf({ port: portOf(cell, app), https: Boolean(options.certificates) }),
});

const portOf = (cell: CellConfig, name: keyof typeof LOCAL_PORTS) => cell.portBase! + LOCAL_PORTS[name];

/** Where the export app's ClickHouse user writes exports, and (a SeaweedFS cell) reads the lake its query API serves. */
function exporterStores(cell: CellConfig, https: boolean): string[] {
    const port = portOf(cell, "objectStore");
    if (cell.objectStore === "azblob") return [blobEndpointOf({ port, account: blobAccountOf(cell.id) })];
    return [`${s3Url(port, https)}/${lakeBucketOf(cell.id)}/`, `${s3Url(port, https)}/${exportsBucketOf(cell.id)}/`];
}

/**
 * What a local cell's Prometheus scrapes, by the rule set's job names: the apps and ClickHouse's front over the cell's
 * HTTPS, the exporters over loopback HTTP. Azurite serves no metrics, so a cell whose store is Blob has no
 * `object-store` job.
 */
export function scrapeTargetsOf(context: CellContext, https: boolean): ScrapeTarget[] {
    const { cell, hostsRouter } = context;
    const apps: AppName[] = ["ingest", "ingest-consumer", "export", ...(hostsRouter ? (["router"] as const) : [])];
    return [
        ...apps.map((app) => ({ job: app, port: portOf(cell, app), https })),
        { job: "clickhouse", port: portOf(cell, "clickhouse"), https },
        { job: "postgres", port: portOf(cell, "postgresMetrics"), https: false },
        { job: "kafka", port: portOf(cell, "kafkaMetrics"), https: false },
        ...(cell.objectStore === "azblob" ? [] : [{ job: "object-store", port: portOf(cell, "objectStoreMetrics"), https: false }]),
    ];
}
