import { fetchTrusting } from "../../../scripts/ops/https";
import { randomBytes } from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { LOCAL_PORTS } from "../../../components/local";
import { loopbackRequest } from "../../../components/local/loopbackHttp";
import { portAnswers, runningPid } from "../../../components/local/supervisor";
import { NODE_VERSION } from "../../../components/runtime";
import { type KafkaAccess, KafkaClients } from "../../../apps/shared/kafka";
import { isolatedLocalStack, ROOT } from "../../support/project";
import { STATEFUL_URNS_FILE } from "../../../offline/statefulUrns";
import type { ResourceProps } from "../../../model/resourceProps";
import { clickhouseOfCell, kafkaOfCell, s3OfCell } from "../../../scripts/ops/cellClients";

/**
 * An isolated copy of the local stack (own ports, state folder and backend) under the real engine: every server
 * answers a real client, refresh finds no drift, then exactly the drift made by hand, `up` repairs it, a taken
 * port is refused by name, and `destroy` leaves nothing.
 */
/** A process's environment, as the kernel holds it. */
const processEnvironment = (pid: number): Record<string, string> =>
    Object.fromEntries(
        fs
            .readFileSync(`/proc/${pid}/environ`, "utf8")
            .split("\0")
            .filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );

/** An error's message with those of its causes and aggregated errors: the Kafka client nests why it failed. */
function chainOf(error: unknown): string {
    if (!(error instanceof Error)) return String(error);
    const nested = [error.cause, ...((error as AggregateError).errors ?? [])].filter((e) => e !== undefined);
    return [error.message, ...nested.map(chainOf)].join("\n");
}

describe("the local stack under the real engine", () => {
    const { dir: project, pulumi, ok, state, ports } = isolatedLocalStack("cellplane-local-");
    let cells: ResourceProps;

    const changed = (out: string) =>
        [...out.matchAll(/~ (pulumi-nodejs:dynamic\/cellplane:\w+): \(update\)\n\s+\[id=[^\]]*\]\n\s+\[urn=[^\]]*::([^\]]+)\]/g)]
            .map((m) => m[2])
            .sort();

    afterAll(() => {
        pulumi("destroy", "--yes", "--skip-preview");
        fs.rmSync(project, { recursive: true, force: true });
    });

    test("pulumi up brings up both cells, and each server answers a real client", async () => {
        ok("up", "--yes", "--skip-preview");
        cells = JSON.parse(pulumi("stack", "output", "cells", "--json", "--show-secrets").stdout);
        const eu = cells["local-eu"];
        expect(eu.endpoints.postgres.port).toBe(ports.eu);

        const pg = new Client({
            host: "127.0.0.1",
            port: eu.endpoints.postgres.port,
            user: eu.endpoints.postgres.user,
            password: eu.credentials.postgresPassword,
            database: eu.endpoints.postgres.database,
            ssl: { ca: eu.endpoints.postgres.ca },
        });
        await pg.connect();
        await pg.query("create table cellplane.probe (id int)");
        await pg.end();

        const admin = kafkaOfCell(eu).admin();
        expect(await admin.listTopics()).toContain("events");
        await admin.close();

        const clickhouse = clickhouseOfCell(eu);
        const tables = await (
            await clickhouse.query({
                query: "SELECT database, name, engine FROM system.tables WHERE database = 'analytics'",
                format: "JSONEachRow",
            })
        ).json();
        // The events table is the cell's resource; the rollups and the metadata key catalog are created by its ingest consumer.
        expect(tables).toEqual(
            expect.arrayContaining([
                { database: "analytics", name: "events", engine: "ReplacingMergeTree" },
                { database: "analytics", name: "rollup_marks", engine: "ReplacingMergeTree" },
                { database: "analytics", name: "hourly_metrics", engine: "ReplacingMergeTree" },
                { database: "analytics", name: "daily_metrics", engine: "ReplacingMergeTree" },
                { database: "analytics", name: "daily_reports", engine: "ReplacingMergeTree" },
                { database: "analytics", name: "metadata_keys", engine: "AggregatingMergeTree" },
            ]),
        );
        await clickhouse.close();

        const s3 = s3OfCell(eu);
        const bucket = await s3.send(new HeadBucketCommand({ Bucket: eu.endpoints.bucket }));
        expect(bucket.$metadata.httpStatusCode).toBe(200);
    }, 300_000);

    test("Postgres, ClickHouse and the object store speak TLS only: a plain-text client is refused, and so is one that does not trust the stack's CA", async () => {
        const { postgres } = cells["local-eu"].endpoints;
        const as = (ssl: object | false) =>
            new Client({ ...postgres, password: cells["local-eu"].credentials.postgresPassword, ssl }).connect();
        await expect(as(false)).rejects.toThrow(/no encryption/);
        await expect(as({})).rejects.toThrow(/unable to verify the first certificate/);
        const verified = new Client({ ...postgres, password: cells["local-eu"].credentials.postgresPassword, ssl: { ca: postgres.ca } });
        await verified.connect();
        expect((await verified.query("select ssl, version from pg_stat_ssl where pid = pg_backend_pid()")).rows[0]).toEqual({
            ssl: true,
            version: expect.stringMatching(/^TLSv1\.[23]$/),
        });
        await verified.end();

        const { clickhouseUrl, clickhouseCa } = cells["local-eu"].endpoints;
        expect(clickhouseUrl).toMatch(/^https:/);
        await expect(fetch(`${clickhouseUrl.replace("https:", "http:")}/ping`)).rejects.toThrow();
        await expect(fetch(`${clickhouseUrl}/ping`)).rejects.toThrow();
        const ping = await loopbackRequest(`${clickhouseUrl}/ping`, { ca: clickhouseCa });
        expect(ping).toEqual({ status: 200, text: "Ok.\n" });

        const { objectStoreEndpoint, objectStoreCa } = cells["local-eu"].endpoints;
        expect(objectStoreEndpoint).toMatch(/^https:/);
        const plainText = await fetch(`${objectStoreEndpoint.replace("https:", "http:")}/healthz`);
        expect([plainText.status, await plainText.text()]).toEqual([400, "Client sent an HTTP request to an HTTPS server.\n"]);
        expect((await loopbackRequest(`${objectStoreEndpoint}/healthz`, { ca: objectStoreCa })).status).toBe(200);
    });

    test("Kafka takes SASL over TLS only: plain text and a wrong password are refused, and ingest may produce but not read", async () => {
        const eu = cells["local-eu"];
        const ingestEnv = processEnvironment(runningPid(path.join(state, "e2e", "local-eu", "ingest"))!);
        const { username } = JSON.parse(ingestEnv.KAFKA).sasl;
        const client = (access: Omit<KafkaAccess, "brokers">, brokers = [eu.endpoints.kafkaBootstrap]) =>
            new KafkaClients({ brokers, ...access }, "refusal-probe", 0);
        const tls = { ca: eu.endpoints.kafkaCa!, rejectUnauthorized: true as const };
        const connects = async (kafka: KafkaClients) => {
            const admin = kafka.admin();
            try {
                return await admin.listTopics();
            } finally {
                await admin.close();
            }
        };
        const scram = (password: string) => ({ mechanism: "SCRAM-SHA-512" as const, username, password });
        await expect(connects(client({}))).rejects.toThrow();
        await expect(connects(client({ tls }))).rejects.toThrow();
        const refusal = (attempt: Promise<unknown>) => attempt.then(() => "accepted", chainOf);
        expect(await refusal(connects(client({ tls, sasl: scram(randomBytes(16).toString("hex")) })))).toMatch(
            /SASL authentication failed/,
        );

        const asIngest = client({ tls, sasl: scram(ingestEnv.KAFKA_PASSWORD) });
        const producer = asIngest.producer();
        await producer.send({ messages: [{ topic: "events", value: Buffer.from("{}") }] });
        await producer.close();
        // Its group is out of reach (FindCoordinator is refused), so no consumer of ingest's ever reads.
        const consumer = asIngest.consumer("ingest-clickhouse");
        expect(await refusal(consumer.consume({ topics: ["events"] }))).toMatch(/authoriz/i);
        await consumer.close(true);

        // Event Hubs' mechanism, SASL PLAIN over TLS, on its own port.
        const plainPort = ports.eu + LOCAL_PORTS.kafkaPlain;
        const overPlain = client({ tls, sasl: { mechanism: "PLAIN", username, password: ingestEnv.KAFKA_PASSWORD } }, [
            `127.0.0.1:${plainPort}`,
        ]);
        const plainProducer = overPlain.producer();
        await plainProducer.send({ messages: [{ topic: "events", value: Buffer.from("{}") }] });
        await plainProducer.close();
    });

    test("rotating the stack's CA gives every server a new certificate: the old CA is refused, and the apps come back ready", async () => {
        const before = cells["local-eu"].endpoints.postgres.ca!;
        ok(
            "up",
            "--yes",
            "--skip-preview",
            "--replace",
            "urn:pulumi:e2e::cellplane::pulumi-nodejs:dynamic/cellplane:LocalObject::local-ca",
        );
        cells = JSON.parse(pulumi("stack", "output", "cells", "--json", "--show-secrets").stdout);
        const { postgres, ingestUrl } = cells["local-eu"].endpoints;
        expect(postgres.ca).not.toEqual(before);
        const password = cells["local-eu"].credentials.postgresPassword;
        await expect(new Client({ ...postgres, password, ssl: { ca: before } }).connect()).rejects.toThrow(/unable to verify/);
        const current = new Client({ ...postgres, password, ssl: { ca: postgres.ca } });
        await current.connect();
        await current.end();
        expect((await fetchTrusting(cells["local-eu"].endpoints.appCa)(`${ingestUrl}/readyz`)).status).toBe(200);
        expect(changed(ok("refresh", "--preview-only", "--diff"))).toEqual([]);
    }, 180_000);

    test("every app and the ClickHouse front run on the bootstrap's Node 24, whatever Node runs the engine", () => {
        for (const service of ["ingest", "ingest-consumer", "export", "router", "clickhouse"]) {
            const pid = fs.readFileSync(path.join(state, "e2e", "local-eu", service, "server.pid"), "utf8").trim();
            const runtime = fs.readlinkSync(`/proc/${pid}/exe`);
            expect({ service, version: execFileSync(runtime, ["--version"], { encoding: "utf8" }).trim() }).toEqual({
                service,
                version: `v${NODE_VERSION}`,
            });
        }
        expect(NODE_VERSION).toMatch(/^24\./);
    });

    test("a second up changes nothing and refresh finds no drift", () => {
        expect(ok("up", "--yes", "--skip-preview")).not.toMatch(/\d+ (created|updated|replaced|deleted)/);
        expect(changed(ok("refresh", "--preview-only", "--diff"))).toEqual([]);
    });

    test("the engine names the resources that hold data as the recorded URNs of the local stack (offline/statefulUrns.json)", () => {
        const deployed = (JSON.parse(pulumi("stack", "export").stdout).deployment.resources as { urn: string }[]).map((r) =>
            r.urn.replace("urn:pulumi:e2e::", "urn:pulumi:local::"),
        );
        const recorded = JSON.parse(fs.readFileSync(STATEFUL_URNS_FILE, "utf8")).local as string[];
        expect(recorded.filter((urn) => !deployed.includes(urn))).toEqual([]);
    });

    test("refresh reports exactly a killed server and a deleted topic, and up repairs them", async () => {
        const pid = Number(fs.readFileSync(path.join(state, "e2e", "local-eu", "clickhouse", "server.pid"), "utf8"));
        process.kill(pid, "SIGKILL");
        const admin = kafkaOfCell(cells["local-us"]).admin();
        await admin.deleteTopics({ topics: ["events"] });
        await admin.close();
        await new Promise((r) => setTimeout(r, 500));

        const drift = ok("refresh", "--preview-only", "--diff");
        // The analytics database and its events table cannot be read while their server is down: they read as damaged too.
        expect(changed(drift)).toEqual([
            "local-eu-clickhouse-analytics",
            "local-eu-clickhouse-events",
            "local-eu-clickhouse-server",
            "local-us-kafka-events",
        ]);
        expect(drift).toMatch(/running\s*: true => false/);
        expect(drift).toMatch(/intact\s*: true => false/);

        ok("up", "--yes", "--skip-preview", "--refresh");
        expect(await portAnswers(cells["local-eu"].endpoints.postgres.port + 3)).toBe(true);
        expect(changed(ok("refresh", "--preview-only", "--diff"))).toEqual([]);
    });

    test("the policy pack passes the local stack and rejects one that keeps data inside the repository", () => {
        ok(
            "preview",
            "--policy-pack",
            path.join(ROOT, "policies"),
            "--policy-pack-config",
            path.join(ROOT, "policies", "config", "local.json"),
        );
        ok("config", "set", "cellplane:stateDir", path.join(ROOT, "state"));
        const rejected = pulumi(
            "preview",
            "--policy-pack",
            path.join(ROOT, "policies"),
            "--policy-pack-config",
            path.join(ROOT, "policies", "config", "local.json"),
        );
        ok("config", "set", "cellplane:stateDir", state);
        expect(rejected.code).not.toBe(0);
        expect(rejected.out).toMatch(/local-state-outside-repo/);
        expect(rejected.out).toMatch(/keeps its data in .*\/state\/e2e\/local-eu\/postgres, inside the repository/);
    });

    // A destroy and two ups of both cells: about a minute alone, more beside other suites.
    test("a port already taken is refused, naming the port and the cell, and up completes once it is free", async () => {
        ok("destroy", "--yes", "--skip-preview");
        const blocker = net.createServer().listen(ports.us + 1, "127.0.0.1");
        await new Promise((r) => blocker.once("listening", r));
        const refused = pulumi("up", "--yes", "--skip-preview");
        blocker.close();
        expect(refused.code).not.toBe(0);
        expect(refused.out).toContain(`port ${ports.us + 1} for kafka of cell local-us is already in use by another process`);
        // Servers whose start was under way when the refusal ended the update are taken over, not started twice.
        ok("up", "--yes", "--skip-preview");
        expect(await portAnswers(ports.us + 1)).toBe(true);
    }, 240_000);

    test("pulumi destroy leaves no process, port or data folder", async () => {
        ok("destroy", "--yes", "--skip-preview");
        for (const base of [ports.eu, ports.us]) {
            for (const offset of Object.values(LOCAL_PORTS)) expect(await portAnswers(base + offset)).toBe(false);
        }
        const left = fs.existsSync(path.join(state, "e2e")) ? fs.readdirSync(path.join(state, "e2e"), { recursive: true }) : null;
        expect(left).toBeNull();
    });
});
