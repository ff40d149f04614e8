import { execFileSync } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Kafka, logLevel } from "kafkajs";
import { kafkaLibs } from "./tools";
import { assertPortFree, destroyService, portAnswers, runningPid, startService, stopService } from "./supervisor";

/** A single-node Kafka in KRaft mode (combined broker and controller) holding one cell's topics. */
export interface KafkaServerSpec {
    label: string;
    dir: string;
    port: number;
    controllerPort: number;
}

const JAVA_OPTS = ["-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true"];

export const bootstrapOf = (spec: Pick<KafkaServerSpec, "port">) => `127.0.0.1:${spec.port}`;

export function kafkaAdmin(spec: Pick<KafkaServerSpec, "port">) {
    return new Kafka({ clientId: "cellplane", brokers: [bootstrapOf(spec)], logLevel: logLevel.NOTHING, retry: { retries: 3 } }).admin();
}

function writeConfig(spec: KafkaServerSpec): string {
    const config = path.join(spec.dir, "server.properties");
    fs.writeFileSync(
        config,
        [
            "process.roles=broker,controller",
            "node.id=1",
            `controller.quorum.voters=1@127.0.0.1:${spec.controllerPort}`,
            `listeners=PLAINTEXT://127.0.0.1:${spec.port},CONTROLLER://127.0.0.1:${spec.controllerPort}`,
            `advertised.listeners=PLAINTEXT://127.0.0.1:${spec.port}`,
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            `log.dirs=${path.join(spec.dir, "data")}`,
            // One node: every internal topic has one replica.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "auto.create.topics.enable=false",
            "",
        ].join("\n"),
    );
    fs.writeFileSync(
        path.join(spec.dir, "log4j.properties"),
        [
            "log4j.rootLogger=WARN, stdout",
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
            "log4j.logger.kafka.server.KafkaRaftServer=INFO",
            "",
        ].join("\n"),
    );
    return config;
}

function java(spec: KafkaServerSpec, main: string, ...args: string[]): string[] {
    return [
        ...JAVA_OPTS,
        "-cp",
        `${kafkaLibs()}/*`,
        `-Dlog4j.configuration=file:${path.join(spec.dir, "log4j.properties")}`,
        main,
        ...args,
    ];
}

/** Formats the storage on first use, then starts the broker (a running broker is left alone). */
export async function startKafka(spec: KafkaServerSpec): Promise<number> {
    const running = runningPid(spec.dir);
    if (running) return running;
    // Refuse a taken port before writing anything, so a refused start leaves no folder behind.
    await assertPortFree(spec.port, spec.label);
    await assertPortFree(spec.controllerPort, `${spec.label} (controller)`);
    fs.mkdirSync(spec.dir, { recursive: true });
    const config = writeConfig(spec);
    if (!fs.existsSync(path.join(spec.dir, "data", "meta.properties"))) {
        execFileSync("java", java(spec, "kafka.tools.StorageTool", "format", "-t", randomUUID(), "-c", config, "--ignore-formatted"), {
            stdio: "pipe",
        });
    }
    return startService({
        label: spec.label,
        command: "java",
        args: java(spec, "kafka.Kafka", config),
        dir: spec.dir,
        port: spec.port,
        readyTimeoutMs: 60_000,
    });
}

/** Running means the process lives and the broker answers a metadata request. */
export async function kafkaRunning(spec: KafkaServerSpec): Promise<boolean> {
    if (!runningPid(spec.dir) || !(await portAnswers(spec.port))) return false;
    const admin = kafkaAdmin(spec);
    try {
        await admin.connect();
        await admin.describeCluster();
        return true;
    } catch {
        return false;
    } finally {
        await admin.disconnect();
    }
}

export async function stopKafka(spec: KafkaServerSpec): Promise<void> {
    await stopService(spec.dir, 30_000);
}

export async function destroyKafka(spec: KafkaServerSpec): Promise<void> {
    await destroyService(spec.dir, 30_000);
}
