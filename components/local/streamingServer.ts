import * as fs from "fs";
import * as path from "path";
import { FLINK_VERSION, SQL_DRIVER } from "../../apps/lakehouse/engines";
import { KAFKA_PASSWORD_ENV, type StreamingSettings, streamingScript } from "../../apps/lakehouse/streaming";
import { loopbackRequest } from "./loopbackHttp";
import { runningPid, ServiceError, startService, stopService, writePrivateFile } from "./supervisor";
import { flinkHome } from "./tools";

/** A local cell's streaming job: Flink's own runtime in one JVM (a mini cluster), its REST API on `port`. */
export interface StreamingServerSpec {
    label: string;
    dir: string;
    port: number;
    /** The job's settings; the Kafka CA, when given, is written to the job's folder. */
    settings: Omit<StreamingSettings, "kafka"> & { kafka: Omit<StreamingSettings["kafka"], "caFile"> };
    kafkaCa?: string;
    kafkaPassword?: string;
}

/** What Flink's launcher opens of the JDK to its serializers on Java 17 (its `env.java.opts.all` default). */
const OPENED_PACKAGES = [
    "java.io",
    "java.lang",
    "java.lang.reflect",
    "java.net",
    "java.nio",
    "java.text",
    "java.time",
    "java.util",
    "java.util.concurrent",
    "java.util.concurrent.atomic",
    "java.util.concurrent.locks",
    "sun.nio.ch",
];

/** Flink's warnings and errors, and the Kafka clients' connections, into the job's log (its default is errors only). */
const LOG_CONFIG = `rootLogger.level = WARN
rootLogger.appenderRef.console.ref = Console
appender.console.type = Console
appender.console.name = Console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %-5p %c{1} - %m%n
logger.kafka.name = org.apache.flink.connector.kafka
logger.kafka.level = INFO
`;

/** Flink's configuration: a mini cluster on loopback, its REST API on the spec's port, the job run until stopped. */
function configYaml(spec: StreamingServerSpec): string {
    return `execution:
  target: local
  runtime-mode: streaming
rest:
  address: 127.0.0.1
  bind-address: 127.0.0.1
  port: ${spec.port}
taskmanager:
  numberOfTaskSlots: 2
parallelism:
  default: 1
table:
  dml-sync: true
`;
}

/**
 * Writes the job's script and configuration into its folder, starts Flink's launcher on it (the Kafka password in its
 * environment), and waits until the job has checkpointed once: from then on it reads from committed offsets, so no
 * event sent after the start is missed.
 */
export async function startStreaming(spec: StreamingServerSpec): Promise<number> {
    if (runningPid(spec.dir)) return runningPid(spec.dir)!;
    fs.mkdirSync(path.join(spec.dir, "conf"), { recursive: true });
    const caFile = spec.kafkaCa ? writePrivateFile(path.join(spec.dir, "kafka-ca.pem"), spec.kafkaCa) : undefined;
    const script = path.join(spec.dir, "streaming.sql");
    fs.writeFileSync(script, streamingScript({ ...spec.settings, kafka: { ...spec.settings.kafka, caFile } }));
    fs.writeFileSync(path.join(spec.dir, "conf", "config.yaml"), configYaml(spec));
    const logConfig = path.join(spec.dir, "conf", "log4j2.properties");
    fs.writeFileSync(logConfig, LOG_CONFIG);
    const home = flinkHome();
    const lib = path.join(home, "pyflink", "lib");
    const jars = path.join(home, "jars");
    const pid = await startService({
        label: spec.label,
        command: "java",
        args: [
            "-Xmx512m",
            `-Dlog4j.configurationFile=${logConfig}`,
            ...OPENED_PACKAGES.map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`),
            "-cp",
            `${lib}/*:${jars}/*`,
            "org.apache.flink.client.cli.CliFrontend",
            ...["run", "--target", "local", "-c", SQL_DRIVER, path.join(lib, `flink-table-runtime-${FLINK_VERSION}.jar`)],
            ...["--scriptUri", `file://${script}`],
        ],
        dir: spec.dir,
        port: spec.port,
        env: {
            FLINK_CONF_DIR: path.join(spec.dir, "conf"),
            FLINK_OPT_DIR: jars,
            FLINK_LIB_DIR: lib,
            ...(spec.kafkaPassword ? { [KAFKA_PASSWORD_ENV]: spec.kafkaPassword } : {}),
        },
        readyTimeoutMs: 90_000,
    });
    // A job that never runs leaves no launcher behind, which the next start would take for a running one.
    await untilCheckpointed(spec).catch(async (error: unknown) => {
        await stopService(spec.dir);
        throw error;
    });
    return pid;
}

const askFlink = async <T>(spec: StreamingServerSpec, route: string): Promise<T | undefined> => {
    const answer = await loopbackRequest(`http://127.0.0.1:${spec.port}${route}`, { timeoutMs: 2_000 }).catch(() => undefined);
    return answer?.status === 200 ? (JSON.parse(answer.text) as T) : undefined;
};

/** The checkpoints the mini cluster's running job has completed; undefined while no job runs. */
async function checkpointsOfRunningJob(spec: StreamingServerSpec): Promise<number | undefined> {
    const overview = await askFlink<{ jobs: { jid: string; state: string }[] }>(spec, "/jobs/overview");
    const job = overview?.jobs.find((j) => j.state === "RUNNING");
    if (!job) return undefined;
    const checkpoints = await askFlink<{ counts: { completed: number } }>(spec, `/jobs/${job.jid}/checkpoints`);
    return checkpoints?.counts.completed ?? 0;
}

async function untilCheckpointed(spec: StreamingServerSpec, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let checkpoints: number | undefined;
    while (Date.now() < deadline && runningPid(spec.dir)) {
        checkpoints = await checkpointsOfRunningJob(spec);
        if (checkpoints) return;
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new ServiceError(
        `${spec.label}: the streaming job ${checkpoints === undefined ? "is not running" : "runs but has not checkpointed"}; see ${path.join(spec.dir, "server.log")}`,
    );
}

/** Running means the launcher lives and its job runs. */
export async function streamingRunning(spec: StreamingServerSpec): Promise<boolean> {
    return runningPid(spec.dir) !== undefined && (await checkpointsOfRunningJob(spec)) !== undefined;
}
