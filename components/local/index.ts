import * as path from "path";
import type { CellContext, CellPlatform, CellTarget } from "../platform";
import { LocalClickHouse, LocalKafka, LocalObjectStore, LocalPostgres } from "./parts";
import { LocalObject } from "./resources";

/** Offsets of a local cell's servers from its `portBase` (Kafka's controller and MinIO's console take the next port). */
export const LOCAL_PORTS = { postgres: 0, kafka: 1, clickhouse: 3, minio: 4 } as const;

/**
 * This machine: every part is a real server process (Postgres, Kafka in KRaft mode, ClickHouse's engine, MinIO)
 * listening on loopback, with its data under the stack's state folder. No Kubernetes, so no stream operators.
 */
export const localTarget: CellTarget = {
    platform(context: CellContext): CellPlatform {
        const { cell, parent } = context;
        const root = path.join(context.stateDir, cell.id);
        const part = (name: keyof typeof LOCAL_PORTS) => ({ context, dir: path.join(root, name), port: cell.portBase! + LOCAL_PORTS[name] });
        const opts = { parent };
        return {
            postgres: () => new LocalPostgres(`${cell.id}-postgres`, part("postgres"), opts),
            kafka: () => new LocalKafka(`${cell.id}-kafka`, part("kafka"), opts),
            clickhouse: () => new LocalClickHouse(`${cell.id}-clickhouse`, part("clickhouse"), opts),
            objectStore: () => new LocalObjectStore(`${cell.id}-object-store`, part("minio"), opts),
            tenantDirectory: (directory) => {
                new LocalObject(`${cell.id}-tenant-directory`, { kind: "file", spec: { path: path.join(root, "tenants.json"), content: JSON.stringify(directory, null, 2) } }, opts);
            },
        };
    },
};
