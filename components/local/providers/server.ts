/** Dynamic provider of the local Kafka, ClickHouse and SeaweedFS servers and the cell's apps: see `../resources.ts` for the resources. */
import type * as pulumi from "@pulumi/pulumi";
import { appRunning, destroyApp, startApp, stopApp } from "../appServer";
import { azuriteRunning, startAzurite } from "../azuriteServer";
import { clickhouseRunning, startClickHouse } from "../clickhouseServer";
import { destroyKafka, kafkaRunning, startKafka, stopKafka } from "../kafkaServer";
import { postgresExporterRunning, startPostgresExporter } from "../postgresExporter";
import { prometheusRunning, startPrometheus } from "../prometheusServer";
import { seaweedfsRunning, startSeaweedfs } from "../seaweedfsServer";
import { startStreaming, streamingRunning } from "../streamingServer";
import { destroyService, stopService } from "../supervisor";
import type { ResourceProps } from "../../../model/resourceProps";

/** Servers with nothing to do on stop and destroy beyond their process and folder. */
const byDir = { stop: (spec: { dir: string }) => stopService(spec.dir), destroy: (spec: { dir: string }) => destroyService(spec.dir) };

const SERVERS = {
    kafka: { start: startKafka, running: kafkaRunning, stop: stopKafka, destroy: destroyKafka },
    clickhouse: { start: startClickHouse, running: clickhouseRunning, ...byDir },
    seaweedfs: { start: startSeaweedfs, running: seaweedfsRunning, ...byDir },
    azurite: { start: startAzurite, running: azuriteRunning, ...byDir },
    prometheus: { start: startPrometheus, running: prometheusRunning, ...byDir },
    postgresExporter: { start: startPostgresExporter, running: postgresExporterRunning, ...byDir },
    app: { start: startApp, running: appRunning, stop: stopApp, destroy: destroyApp },
    streaming: { start: startStreaming, running: streamingRunning, ...byDir },
} as const;
export type ServerKind = keyof typeof SERVERS;

export interface ServerProps {
    kind: ServerKind;
    spec: ResourceProps;
    running?: boolean;
}

const server = (p: ServerProps) =>
    SERVERS[p.kind] as {
        start(s: unknown): Promise<number>;
        running(s: unknown): Promise<boolean>;
        stop(s: unknown): Promise<void>;
        destroy(s: unknown): Promise<void>;
    };

export async function check(_olds: ServerProps, news: ServerProps): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: news };
}

export async function create(inputs: ServerProps): Promise<pulumi.dynamic.CreateResult> {
    await server(inputs).start(inputs.spec);
    return { id: inputs.spec.dir, outs: { kind: inputs.kind, spec: inputs.spec, running: true } };
}

/** `running: false` when the process is gone or does not answer. */
export async function read(id: string, props: ServerProps): Promise<pulumi.dynamic.ReadResult> {
    return { id, props: { kind: props.kind, spec: props.spec, running: await server(props).running(props.spec) } };
}

export async function diff(_id: string, olds: ServerProps, news: ServerProps): Promise<pulumi.dynamic.DiffResult> {
    const replaces = olds.kind !== news.kind || olds.spec.dir !== news.spec.dir ? ["spec"] : [];
    const changes = replaces.length > 0 || JSON.stringify(olds.spec) !== JSON.stringify(news.spec) || olds.running === false;
    return { changes, replaces, deleteBeforeReplace: true };
}

/** Restarts a stopped server, or restarts it with its new settings. */
export async function update(_id: string, olds: ServerProps, news: ServerProps): Promise<pulumi.dynamic.UpdateResult> {
    if (JSON.stringify(olds.spec) !== JSON.stringify(news.spec)) await server(olds).stop(olds.spec);
    await server(news).start(news.spec);
    return { outs: { kind: news.kind, spec: news.spec, running: true } };
}

export async function remove(_id: string, props: ServerProps): Promise<void> {
    await server(props).destroy(props.spec);
}

export { remove as delete };
