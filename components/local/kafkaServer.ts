import { execFileSync } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { AclOperations, AclPermissionTypes, ResourcePatternTypes, ResourceTypes } from "@platformatic/kafka";
import { stringify as toYaml } from "yaml";
import { X509Certificate } from "crypto";
import type { ServerTls } from "./certificates";
import type { KafkaGrant } from "../kafkaGrants";
import { jmxExporterAgent, kafkaLibs } from "./tools";
import { KafkaClients, scramAccess } from "../../apps/shared/kafka";
import { assertPortFree, destroyService, portAnswers, runningPid, startService, stopService } from "./supervisor";

/** A SASL user of the cell's Kafka and what it may do. */
export interface KafkaUser {
    username: string;
    password: string;
    grants: KafkaGrant[];
}

/**
 * How the broker is reached, as MSK and Strimzi are: SASL_SSL only, SCRAM-SHA-512 on the main port and SASL PLAIN
 * (Event Hubs' mechanism) on `plainPort`, every user held to its ACLs. The controller listener takes only
 * clients with a certificate of the stack's CA: the broker itself.
 */
export interface KafkaSecurity {
    tls: ServerTls;
    /** The broker's own user, a super user: its traffic to itself, and the cell's provisioning. */
    admin: { username: string; password: string };
    users: KafkaUser[];
    plainPort: number;
}

/** A single-node Kafka in KRaft mode (combined broker and controller) holding one cell's topics. */
export interface KafkaServerSpec {
    label: string;
    dir: string;
    port: number;
    controllerPort: number;
    /** Absent: plain text and no authentication, for tests of the server alone. */
    security?: KafkaSecurity;
    /** Where the JMX exporter agent in the broker's JVM serves its metrics (plain HTTP on loopback); absent, none. */
    metricsPort?: number;
}

const JAVA_OPTS = ["-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true"];

export const bootstrapOf = (spec: Pick<KafkaServerSpec, "port">) => `127.0.0.1:${spec.port}`;

/** Clients of the broker as its admin. */
export function kafkaOfServer(spec: Pick<KafkaServerSpec, "port" | "security">): KafkaClients {
    const { security } = spec;
    return new KafkaClients(scramAccess([bootstrapOf(spec)], security?.tls.ca, security?.admin), "cellplane");
}

export const kafkaAdmin = (spec: Pick<KafkaServerSpec, "port" | "security">) => kafkaOfServer(spec).admin();

/** A PEM as one line of a properties file, where `\n` stands for the line breaks. */
const pemValue = (pem: string) => pem.trim().replace(/\n/g, "\\n");

const jaas = (module: string, options: Record<string, string>) =>
    `org.apache.kafka.common.security.${module} required ${Object.entries(options)
        .map(([key, value]) => `${key}="${value}"`)
        .join(" ")};`;

function listenerSettings(spec: KafkaServerSpec): string[] {
    const { security } = spec;
    if (!security)
        return [
            `listeners=PLAINTEXT://127.0.0.1:${spec.port},CONTROLLER://127.0.0.1:${spec.controllerPort}`,
            `advertised.listeners=PLAINTEXT://127.0.0.1:${spec.port}`,
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        ];
    const { admin, users, tls } = security;
    const plainUsers = Object.fromEntries([admin, ...users].map((u) => [`user_${u.username}`, u.password]));
    return [
        `listeners=SCRAM://127.0.0.1:${spec.port},PLAIN://127.0.0.1:${security.plainPort},CONTROLLER://127.0.0.1:${spec.controllerPort}`,
        `advertised.listeners=SCRAM://127.0.0.1:${spec.port},PLAIN://127.0.0.1:${security.plainPort}`,
        "listener.security.protocol.map=SCRAM:SASL_SSL,PLAIN:SASL_SSL,CONTROLLER:SSL",
        "inter.broker.listener.name=SCRAM",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
        "listener.name.scram.sasl.enabled.mechanisms=SCRAM-SHA-512",
        `listener.name.scram.scram-sha-512.sasl.jaas.config=${jaas("scram.ScramLoginModule", admin)}`,
        "listener.name.plain.sasl.enabled.mechanisms=PLAIN",
        `listener.name.plain.plain.sasl.jaas.config=${jaas("plain.PlainLoginModule", { ...admin, ...plainUsers })}`,
        "listener.name.controller.ssl.client.auth=required",
        "ssl.keystore.type=PEM",
        `ssl.keystore.certificate.chain=${pemValue(tls.cert)}`,
        `ssl.keystore.key=${pemValue(tls.key)}`,
        "ssl.truststore.type=PEM",
        `ssl.truststore.certificates=${pemValue(tls.ca)}`,
        "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        `super.users=User:${admin.username};User:${new X509Certificate(tls.cert).subject.replace(/\n/g, ",")}`,
        "allow.everyone.if.no.acl.found=false",
    ];
}

function writeConfig(spec: KafkaServerSpec): string {
    const config = path.join(spec.dir, "server.properties");
    fs.writeFileSync(
        config,
        [
            "process.roles=broker,controller",
            "node.id=1",
            `controller.quorum.voters=1@127.0.0.1:${spec.controllerPort}`,
            "controller.listener.names=CONTROLLER",
            ...listenerSettings(spec),
            `log.dirs=${path.join(spec.dir, "data")}`,
            // One node: every internal topic has one replica.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "auto.create.topics.enable=false",
            "",
        ].join("\n"),
        { mode: 0o600 },
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

/**
 * The JMX exporter agent's flag. It serves what an operator of the broker reads (throughput per topic, replication,
 * log sizes, the controller, request rates, heap), lowercased: all of the broker's MBeans are ten thousand series,
 * most of them request-time percentiles, which would only cost scrape time.
 */
function metricsAgent(spec: KafkaServerSpec): string[] {
    if (spec.metricsPort === undefined) return [];
    const config = path.join(spec.dir, "jmx-exporter.yaml");
    const includeObjectNames = [
        "kafka.server:type=BrokerTopicMetrics,*",
        "kafka.server:type=ReplicaManager,*",
        "kafka.log:type=Log,*",
        "kafka.controller:*",
        "kafka.network:type=RequestMetrics,name=RequestsPerSec,*",
        "java.lang:type=Memory",
    ];
    fs.writeFileSync(config, toYaml({ lowercaseOutputName: true, lowercaseOutputLabelNames: true, includeObjectNames }));
    return [`-javaagent:${jmxExporterAgent()}=127.0.0.1:${spec.metricsPort}:${config}`];
}

/** Formats the storage on first use, then starts the broker (a running broker is left alone). */
export async function startKafka(spec: KafkaServerSpec): Promise<number> {
    const running = runningPid(spec.dir);
    if (running) return running;
    // Refuse a taken port before writing anything, so a refused start leaves no folder behind.
    await assertPortFree(spec.port, spec.label);
    await assertPortFree(spec.controllerPort, `${spec.label} (controller)`);
    if (spec.metricsPort !== undefined) await assertPortFree(spec.metricsPort, `${spec.label} (metrics)`);
    fs.mkdirSync(spec.dir, { recursive: true });
    const config = writeConfig(spec);
    if (!fs.existsSync(path.join(spec.dir, "data", "meta.properties"))) {
        // The admin's SCRAM credential goes in with the storage: the broker needs it to reach itself.
        const admin = spec.security?.admin;
        const scram = admin ? ["--add-scram", `SCRAM-SHA-512=[name=${admin.username},password=${admin.password}]`] : [];
        execFileSync(
            "java",
            java(spec, "kafka.tools.StorageTool", "format", "-t", randomUUID(), "-c", config, "--ignore-formatted", ...scram),
            {
                stdio: "pipe",
            },
        );
    }
    const pid = await startService({
        label: spec.label,
        command: "java",
        args: [...metricsAgent(spec), ...java(spec, "kafka.Kafka", config)],
        dir: spec.dir,
        port: spec.port,
        readyTimeoutMs: 60_000,
    });
    if (spec.security) await ensureUsers(spec, spec.security);
    return pid;
}

/** Each app's SCRAM credential (set again on every start, so a new password takes) and its ACLs. */
async function ensureUsers(spec: KafkaServerSpec, security: KafkaSecurity): Promise<void> {
    const clientConfig = path.join(spec.dir, "admin.properties");
    fs.writeFileSync(
        clientConfig,
        [
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            `sasl.jaas.config=${jaas("scram.ScramLoginModule", security.admin)}`,
            "ssl.truststore.type=PEM",
            `ssl.truststore.certificates=${pemValue(security.tls.ca)}`,
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    for (const user of security.users) {
        execFileSync(
            "java",
            java(
                spec,
                "kafka.admin.ConfigCommand",
                ...["--bootstrap-server", bootstrapOf(spec), "--command-config", clientConfig, "--alter"],
                ...["--add-config", `SCRAM-SHA-512=[password=${user.password}]`, "--entity-type", "users", "--entity-name", user.username],
            ),
            { stdio: "pipe" },
        );
    }
    fs.rmSync(clientConfig);
    const admin = kafkaAdmin(spec);
    try {
        await admin.createAcls({
            creations: security.users.flatMap(({ username, grants }) =>
                grants.flatMap(({ resourceType, resourceName, operations }) =>
                    operations.map((operation) => ({
                        resourceType: RESOURCE_TYPES[resourceType],
                        resourceName,
                        resourcePatternType: ResourcePatternTypes.LITERAL,
                        principal: `User:${username}`,
                        host: "*",
                        operation: AclOperations[operation.toUpperCase() as "READ" | "WRITE" | "DESCRIBE"],
                        permissionType: AclPermissionTypes.ALLOW,
                    })),
                ),
            ),
        });
    } finally {
        await admin.close();
    }
}

const RESOURCE_TYPES = { topic: ResourceTypes.TOPIC, group: ResourceTypes.GROUP };

/** Running means the process lives and the broker answers a metadata request. */
export async function kafkaRunning(spec: KafkaServerSpec): Promise<boolean> {
    if (!runningPid(spec.dir) || !(await portAnswers(spec.port))) return false;
    const admin = kafkaAdmin(spec);
    try {
        await admin.metadata({ topics: [] });
        return true;
    } catch {
        return false;
    } finally {
        await admin.close();
    }
}

export async function stopKafka(spec: KafkaServerSpec): Promise<void> {
    await stopService(spec.dir, 30_000);
}

export async function destroyKafka(spec: KafkaServerSpec): Promise<void> {
    await destroyService(spec.dir, 30_000);
}
