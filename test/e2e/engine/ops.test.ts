import { call, trustStack } from "../../support/cellClient";
import * as fs from "fs";
import * as path from "path";
import { DeleteBucketCommand, DeleteBucketEncryptionCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import * as http from "http";
import type { AddressInfo } from "net";
import { Client } from "pg";
import { portAnswers, runningPid } from "../../../components/local/supervisor";
import { eventOf, eventually, queryCell } from "../apps/cell";
import { cellAdd, cellplane, cellplaneAsync } from "../../support/cli";
import { SIGNATURE_HEADER, webhookSignatureHolds } from "../../../model/webhook";
import { WEBHOOK_SECRET_ENV } from "../../../scripts/ops/driftSignals";
import { nameOfUrn } from "../../../scripts/ops/urns";
import { isolatedLocalStack } from "../../support/project";
import type { JsonBody } from "../../support/json";
import { PORTS_PER_LOCAL_CELL } from "../../../model/config";
import type { ResourceProps } from "../../../model/resourceProps";
import { clickhouseOfCell, exportFilesOf, kafkaOfCell, s3OfCell, withCellPostgres } from "../../../scripts/ops/cellClients";
import { deleteTenantEvents } from "../../../scripts/ops/tenantData";
import { topicOffsets } from "../../../apps/shared/kafka";
import { deadLetterTopic, EVENTS_TOPIC } from "../../../apps/shared/topics";

/**
 * The operators' loop on an isolated local stack, through the real command line: add a cell, place tenants,
 * reconcile, break things by hand, drift finds exactly those, reconcile repairs, drift is clean again.
 */
describe("cellplane on a local stack", () => {
    const {
        dir: project,
        env,
        pulumi,
        state,
        ports,
    } = isolatedLocalStack("cellplane-ops-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu" }];
    });
    const run = (...args: string[]) => cellplane(project, args, { ...env, CELLPLANE_STATE_HOME: project });
    const drift = () => {
        const result = run("drift", "--env", "local", "--json");
        return { code: result.code, report: JSON.parse(result.stdout), stderr: result.stderr };
    };
    const driftedOf = (report: JsonBody) => report.stacks[0].drifted.map((r: ResourceProps) => r.name).sort();
    let cells: ResourceProps;

    afterAll(() => {
        pulumi("destroy", "--yes", "--skip-preview");
        fs.rmSync(project, { recursive: true, force: true });
    });

    test("cell add and tenant add edit the stack, reconcile deploys it and writes the routing table", () => {
        expect(
            run(
                ...cellAdd(
                    { env: "local", id: "local-us", cloud: "local", region: "us-local", residency: "us" },
                    "--port-base",
                    String(ports.us),
                ),
            ).code,
        ).toBe(0);
        const placed = run("tenant", "add", "--env", "local", "--id", "globex", "--residency", "us", "--json");
        expect(JSON.parse(placed.stdout)).toMatchObject({ tenant: "globex", cell: "local-us" });

        const reconciled = run("reconcile", "--env", "local");
        expect(reconciled.code).toBe(0);
        const routingFile = path.join(project, "routing", "local", "e2e.json");
        expect(reconciled.stdout).toContain(`routing table (2 tenants) in ${routingFile}`);
        const routing = JSON.parse(fs.readFileSync(routingFile, "utf8")) as Record<string, ResourceProps>;
        expect(Object.fromEntries(Object.entries(routing).map(([t, r]) => [t, [r.cell, r.residency]]))).toEqual({
            acme: ["local-eu", "eu"],
            globex: ["local-us", "us"],
        });
        cells = JSON.parse(pulumi("stack", "output", "cells", "--json", "--show-secrets").stdout);
        trustStack(
            cells,
            Object.values(JSON.parse(pulumi("stack", "output", "routers", "--json").stdout) as Record<string, { url: string }>).map(
                (r) => r.url,
            ),
        );
    });

    test("key create gives a tenant a key in its own cell that the router accepts, and key revoke takes it back", async () => {
        const created = run("key", "create", "--env", "local", "--tenant", "globex", "--json");
        expect(created.code).toBe(0);
        const { key, id, cell, routerUrl } = JSON.parse(created.stdout);
        expect(cell).toBe("local-us");
        const post = () =>
            call(`${routerUrl}/v1/events`, {
                method: "POST",
                headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
                body: JSON.stringify(eventOf("globex")),
            });
        expect((await post()).status).toBe(202);

        expect(run("key", "revoke", "--env", "local", "--tenant", "globex", "--id", id).stdout).toContain(
            `revoked key ${id} of tenant globex on cell local-us`,
        );
        await new Promise((r) => setTimeout(r, 5_500));
        expect((await post()).status).toBe(401);
        const unknown = run("key", "create", "--env", "local", "--tenant", "nobody");
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toContain("--tenant nobody: no stack of environment local places it");
    });

    test("send-sample sends a tenant's first events through the router and waits until /v1/metrics counts them", () => {
        const sent = run("send-sample", "--env", "local", "--tenant", "globex", "--count", "70", "--json");
        expect(sent.code).toBe(0);
        expect(JSON.parse(sent.stdout)).toMatchObject({ tenant: "globex", cell: "local-us", sent: 70, counted: 70 });
        expect(sent.stderr).toContain("accepted; waiting for the cell to store them");
        const tooMany = run("send-sample", "--env", "local", "--tenant", "globex", "--count", "1001");
        expect(tooMany.code).toBe(2);
        expect(tooMany.stderr).toContain("1001 is over 1000, the most events one request may carry");
    });

    test("tenant quarantine, then reconcile, has the running router refuse the tenant with 423; release lets it in again", async () => {
        const { key, routerUrl } = JSON.parse(run("key", "create", "--env", "local", "--tenant", "globex", "--json").stdout);
        const post = () =>
            call(`${routerUrl}/v1/events`, {
                method: "POST",
                headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
                body: JSON.stringify(eventOf("globex")),
            });
        const routerPid = () => runningPid(path.join(state, "e2e", "local-us", "router"));
        const before = routerPid();
        expect(run("tenant", "quarantine", "--env", "local", "--id", "globex", "--reason", "abuse report 7", "--by", "ops-e2e").code).toBe(
            0,
        );
        // On failure the matcher shows what the command said.
        const reconciled = run("reconcile", "--env", "local");
        expect(reconciled.code === 0 ? "" : reconciled.stderr + reconciled.stdout).toBe("");
        // The router re-reads its table every 2 s.
        expect(await eventually(async () => (await post()).status === 423, 10_000)).toBe(true);
        const refused = await post();
        expect([refused.status, ((await refused.json()) as JsonBody).error]).toEqual([
            423,
            "tenant globex is quarantined by the operators of residency us: abuse report 7",
        ]);
        expect(run("tenant", "release", "--env", "local", "--id", "globex", "--reason", "resolved", "--by", "ops-e2e").code).toBe(0);
        expect(run("reconcile", "--env", "local").code).toBe(0);
        expect(await eventually(async () => (await post()).status === 202, 10_000)).toBe(true);
        // The table changed twice; the router read it each time without a restart.
        expect(routerPid()).toBe(before);
        const audit = fs
            .readFileSync(path.join(project, "audit", "routing-overrides.local.jsonl"), "utf8")
            .trim()
            .split("\n");
        expect(audit.map((line) => JSON.parse(line).action)).toEqual(["quarantine", "release"]);
    }, 180_000);

    test("health drives each cell's canary end to end, turns red within 2 minutes the cell whose consumer stopped, worst first, and green once it runs", async () => {
        const healthy = run("health", "--env", "local", "--sample", "3", "--json");
        expect(healthy.code).toBe(0);
        const report = JSON.parse(healthy.stdout);
        expect(report.cells.map((c: ResourceProps) => [c.cell, c.verdict])).toEqual([
            ["local-eu", "green"],
            ["local-us", "green"],
        ]);
        expect(report.cells[1].checks.map((c: ResourceProps) => [c.name, c.verdict])).toEqual([
            ["ingest", "green"],
            ["export", "green"],
            ["postgres", "green"],
            ["freshness", "green"],
            ["rollup", "green"],
            ["exported", "green"],
            ["errors", "green"],
            ["partitions", "green"],
        ]);
        const { key, routerUrl } = JSON.parse(run("key", "create", "--env", "local", "--tenant", "globex", "--json").stdout);
        const consumer = runningPid(path.join(state, "e2e", "local-us", "ingest-consumer"))!;
        process.kill(consumer, "SIGSTOP");
        const stopped = Date.now();
        try {
            // Accepted into Kafka, then stuck there: /healthz of every process still answers.
            const posted = await call(`${routerUrl}/v1/events`, {
                method: "POST",
                headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
                body: JSON.stringify(Array.from({ length: 30 }, () => eventOf("globex"))),
            });
            expect(posted.status).toBe(202);
            const sick = run("health", "--env", "local", "--sample", "3");
            expect(sick.code).toBe(1);
            expect(Date.now() - stopped).toBeLessThan(120_000);
            expect(sick.stdout).toMatch(
                /^RED {3}local-us \(us\)\n(.*\n)*? {6}red {3}freshness {2}the canary's event, accepted with 202, is not in ClickHouse after 30.0 s/m,
            );
            expect(sick.stdout).toMatch(
                /^RED {3}local-us \(us\)\n(.*\n)*? {6}red {3}partitions no progress in 3 s: partition \d+ \d+ behind/m,
            );
            expect(sick.stdout.indexOf("local-us")).toBeLessThan(sick.stdout.indexOf("local-eu"));
        } finally {
            process.kill(consumer, "SIGCONT");
        }
        expect(await eventually(async () => run("health", "--env", "local", "--sample", "3").code === 0, 90_000)).toBe(true);
    }, 300_000);

    test("drift of the fresh stack is clean, exit 0", () => {
        const { code, report } = drift();
        expect(code).toBe(0);
        expect(report.stacks[0]).toMatchObject({ stack: "e2e", status: "clean", drifted: [] });
        expect(report.stacks[0].checked).toBeGreaterThan(40);
    });

    test("drift finds exactly a stopped server, a deleted bucket and a changed Postgres role, exit 1", async () => {
        const pid = Number(fs.readFileSync(path.join(state, "e2e", "local-us", "kafka", "server.pid"), "utf8"));
        process.kill(pid, "SIGKILL");

        const us = cells["local-us"];
        const s3 = s3OfCell(us);
        await s3.send(new DeleteBucketCommand({ Bucket: us.endpoints.bucket }));

        const server = JSON.parse(pulumi("stack", "export", "--show-secrets").stdout).deployment.resources.find(
            (r: ResourceProps) => r.type.endsWith(":LocalPostgresServer") && r.urn.endsWith("local-eu-postgres-server"),
        ).outputs;
        // `stack export --show-secrets` keeps a secret as its plaintext JSON inside a marker object.
        const superuserPassword = JSON.parse(server.superuserPassword.plaintext);
        const pg = new Client({
            host: "127.0.0.1",
            port: ports.eu,
            user: server.superuser,
            password: superuserPassword,
            database: "postgres",
            ssl: { ca: cells["local-eu"].endpoints.postgres.ca },
        });
        await pg.connect();
        await pg.query(`alter role ${pg.escapeIdentifier(cells["local-eu"].endpoints.postgres.user)} nologin`);
        await pg.end();

        const { code, report } = drift();
        expect(code).toBe(1);
        expect(report.stacks[0].status).toBe("drifted");
        expect(driftedOf(report)).toEqual([
            "local-eu-postgres-database",
            "local-us-kafka-dead-letters",
            "local-us-kafka-events",
            "local-us-kafka-server",
            "local-us-kafka-windows",
            "local-us-object-store-exports",
        ]);
        const changes = Object.fromEntries(report.stacks[0].drifted.map((r: ResourceProps) => [r.name, r.changes]));
        expect(changes["local-us-kafka-server"]).toContainEqual({
            property: "running",
            old: true,
            new: false,
            class: "runtime",
            concern: "restorable",
        });
        expect(changes["local-eu-postgres-database"]).toContainEqual(
            expect.objectContaining({ property: "healthy", old: true, new: false }),
        );
        // A dead server, a deleted bucket and a role that cannot log in are all put right by `up`.
        expect(new Set(report.stacks[0].drifted.map((r: ResourceProps) => r.class))).toEqual(new Set(["runtime"]));
        expect(report.stacks[0].drifted.find((r: ResourceProps) => r.name === "local-us-kafka-server").cell).toBe("local-us");
        expect(report.stacks[0].policyFindings).toEqual([]);
        expect(JSON.stringify(report)).not.toContain(superuserPassword);
    });

    test("reconcile repairs what drifted and drift is clean again", async () => {
        expect(run("reconcile", "--env", "local").code).toBe(0);
        expect(await portAnswers(ports.us + 1)).toBe(true);
        const { code, report } = drift();
        expect(code).toBe(0);
        expect(report.stacks[0].status).toBe("clean");
    }, 120_000);

    test("drift --classify: encryption removed from both cells' buckets is one residency cause no rule can ignore, a tag is cosmetic; --reconcile-runtime restarts a killed server and leaves the buckets; metrics and a signed webhook carry it", async () => {
        for (const id of ["local-eu", "local-us"])
            await s3OfCell(cells[id]).send(new DeleteBucketEncryptionCommand({ Bucket: cells[id].endpoints.bucket }));
        const us = cells["local-us"];
        await s3OfCell(us).send(
            new PutBucketTaggingCommand({ Bucket: us.endpoints.bucket, Tagging: { TagSet: [{ Key: "team", Value: "analytics" }] } }),
        );
        process.kill(Number(fs.readFileSync(path.join(state, "e2e", "local-eu", "kafka", "server.pid"), "utf8")), "SIGKILL");
        const ignoreFile = path.join(project, "drift-ignore.json");
        const rule = { owner: "data-platform", expires: "2099-12-31" };
        fs.writeFileSync(
            ignoreFile,
            JSON.stringify([
                { ...rule, property: "observed.*", reason: "a bucket migration is under way in both cells" },
                { ...rule, urn: "*::local-eu-kafka-events", reason: "the events topic is recreated by the broker itself" },
            ]),
        );
        const metricsFile = path.join(project, "metrics", "drift.prom");
        const secret = "drift-webhook-secret-for-the-e2e";
        const received: { body: string; signed: boolean }[] = [];
        const receiver = http.createServer((request, response) => {
            let body = "";
            request.on("data", (chunk) => (body += chunk));
            request.on("end", () => {
                received.push({ body, signed: webhookSignatureHolds(secret, String(request.headers[SIGNATURE_HEADER]), body) });
                response.writeHead(204).end();
            });
        });
        await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
        try {
            const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/drift`;
            const checked = await cellplaneAsync(
                project,
                [
                    "drift",
                    "--env",
                    "local",
                    "--json",
                    "--classify",
                    "--ignore",
                    ignoreFile,
                    "--reconcile-runtime",
                    "--metrics",
                    metricsFile,
                    "--webhook",
                    webhook,
                ],
                { ...env, CELLPLANE_STATE_HOME: project, [WEBHOOK_SECRET_ENV]: secret },
            );
            expect(checked.code).toBe(3);
            const report = JSON.parse(checked.stdout);
            const [stack] = report.stacks;
            const classes = Object.fromEntries(stack.drifted.map((r: ResourceProps) => [r.name, r.class]));
            expect(classes).toMatchObject({
                "local-eu-object-store-exports": "residency",
                "local-us-object-store-exports": "residency",
                "local-eu-kafka-server": "runtime",
                "local-eu-kafka-dead-letters": "runtime",
            });
            expect(stack.ignored.map((r: ResourceProps) => r.name)).toEqual(["local-eu-kafka-events"]);
            const usBucket = stack.drifted.find((r: ResourceProps) => r.name === "local-us-object-store-exports");
            expect(usBucket.changes.map((c: ResourceProps) => [c.property, c.class])).toEqual([
                ["intact", "runtime"],
                ["observed.encrypted", "residency"],
            ]);
            expect(usBucket.ignored).toEqual([
                expect.objectContaining({
                    property: "observed.tags.team",
                    new: "analytics",
                    class: "cosmetic",
                    rule: expect.stringMatching(/^ignore rule \[0\] of data-platform/),
                }),
            ]);
            expect(stack.refusedIgnores).toHaveLength(2);
            expect(stack.refusedIgnores[0]).toMatch(
                /ignore rule \[0\] of data-platform: .* matches residency drift \(encryption\) of local-eu-object-store-exports observed.encrypted, which is never ignored/,
            );
            expect(stack.policyFindings.map((f: ResourceProps) => [f.policy, f.cell, f.class])).toEqual([
                ["local-bucket-encrypted", "local-eu", "residency"],
                ["local-bucket-encrypted", "local-us", "residency"],
            ]);
            expect(report.causes[0]).toMatchObject({
                class: "residency",
                part: "{cell}-object-store-exports",
                where: [
                    { stack: "e2e", cell: "local-eu", resource: "local-eu-object-store-exports" },
                    { stack: "e2e", cell: "local-us", resource: "local-us-object-store-exports" },
                ],
            });
            expect(stack.reconciled.urns.map(nameOfUrn).sort()).toEqual([
                "local-eu-kafka-dead-letters",
                "local-eu-kafka-server",
                "local-eu-kafka-windows",
            ]);
            expect(await portAnswers(ports.eu + 1)).toBe(true);

            expect(fs.readFileSync(metricsFile, "utf8")).toContain(
                'cellplane_drift_resources{env="local",stack="e2e",class="residency"} 2\n',
            );
            expect(received).toHaveLength(1);
            expect(received[0].signed).toBe(true);
            expect(JSON.parse(received[0].body)).toEqual(report);
        } finally {
            receiver.close();
        }

        const again = run("drift", "--env", "local", "--classify", "--ignore", ignoreFile);
        expect(again.code).toBe(3);
        expect(again.stdout).toMatch(
            /^stack\s+status\s+checked\s+drifted\s+residency\s+runtime\s+cosmetic\s+ignored\s+seconds\ne2e\s+drifted\s+\d+\s+2\s+2\s+0\s+0\s+0\s/m,
        );
        expect(again.stdout).toContain("observed.encrypted: true → false  [residency: encryption]");
        expect(again.stdout).toContain(
            'e2e: ignored local-us-object-store-exports observed.tags.team: undefined → "analytics" (ignore rule [0] of data-platform: a bucket migration is under way in both cells)',
        );
        expect(again.stdout).toContain("e2e: not ignored: ignore rule [0] of data-platform");
        expect(again.stdout).toMatch(
            /causes shared by several cells:\n {2}\[residency\] \{cell\}-object-store-exports \(pulumi-nodejs:dynamic\/cellplane:LocalObject\) in local-eu, local-us/,
        );

        expect(run("reconcile", "--env", "local").code).toBe(0);
        expect(drift().code).toBe(0);
    }, 300_000);

    test("attest signs a green attestation of acme: four stores in eu-local, zero hits in the us cell; verify accepts it, not a tampered copy", () => {
        const file = path.join(project, "acme.attestation.json");
        const attested = run("attest", "--env", "local", "--tenant", "acme", "--out", file);
        expect(attested.code).toBe(0);
        const signed = JSON.parse(fs.readFileSync(file, "utf8"));
        expect(signed.body.stores.map((s: ResourceProps) => [s.store, s.region.value, s.region.residency, s.publicAccess])).toEqual([
            ["postgres", "eu-local", "eu", false],
            ["kafka", "eu-local", "eu", false],
            ["clickhouse", "eu-local", "eu", false],
            ["objects", "eu-local", "eu", false],
        ]);
        expect(signed.body.stores[0].encryption.inTransit).toBe("TLS, verified against the stack's CA");
        expect(signed.body.elsewhere.map((e: ResourceProps) => [e.cell, e.store, e.hits])).toEqual([
            ["local-us", "postgres", 0],
            ["local-us", "kafka", 0],
            ["local-us", "clickhouse", 0],
            ["local-us", "objects", 0],
        ]);
        expect(signed.body).toMatchObject({ verdict: "green", reasons: [], drift: { status: "clean" }, routing: { cell: "local-eu" } });
        expect(signed.body.policies.mandatory).toEqual([]);
        expect(run("attest", "verify", "--env", "local", "--file", file).stdout).toMatch(
            /^valid: signed by residency eu at .*; verdict green for tenant acme/,
        );

        const tampered = path.join(project, "tampered.json");
        const moved = signed.body.stores.map((s: ResourceProps) => ({ ...s, region: { ...s.region, value: "eu-west-1" } }));
        fs.writeFileSync(tampered, JSON.stringify({ ...signed, body: { ...signed.body, stores: moved } }));
        const refused = run("attest", "verify", "--env", "local", "--file", tampered);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("invalid: the signature does not hold: the report was changed after it was signed");
    }, 180_000);

    test("one of acme's events in the us cell's ClickHouse, one of its files in the us cell's bucket, or one of its records in the us cell's Kafka turns the attestation red", async () => {
        const us = cells["local-us"];
        const clickhouse = clickhouseOfCell(us as never);
        const files = exportFilesOf(us as never);
        const copy = "tenant=acme/object=events/date=2026-11-27/copied.parquet";
        try {
            await clickhouse.insert({
                table: "analytics.events",
                values: [
                    { ...eventOf("acme"), metadata: "{}", timestamp: "2026-11-27 10:00:00.000", received_at: "2026-11-27 10:00:01.000" },
                ],
                format: "JSONEachRow",
            });
            const row = run("attest", "--env", "local", "--tenant", "acme");
            expect(row.code).toBe(1);
            expect(row.stderr).toMatch(/^RED: tenant acme/m);
            expect(row.stderr).toMatch(/\d+ hit\(s\) for acme in the clickhouse of cell local-us \(us\)/);
            await deleteTenantEvents(clickhouse, "acme");
            // What the us cell's export app may have copied of the event's day into its Postgres meanwhile.
            await withCellPostgres(us as never, (pool) => pool.query("DELETE FROM cellplane.daily_reports WHERE org_id = 'acme'"));

            await files.write(copy, Buffer.from("PAR1"));
            const file = run("attest", "--env", "local", "--tenant", "acme");
            expect(file.code).toBe(1);
            expect(file.stderr).toContain("1 hit(s) for acme in the objects of cell local-us (us)");
            expect(file.stderr).not.toContain("in the clickhouse of cell local-us");
        } finally {
            await files.deleteAll(copy);
            await clickhouse.close();
        }

        // A record set aside in the us cell's dead letters, where no consumer stores it.
        const kafka = kafkaOfCell(us as never, "e2e-attest");
        const producer = kafka.producer();
        const admin = kafka.admin();
        const deadLetters = deadLetterTopic(EVENTS_TOPIC);
        try {
            await producer.send({ messages: [{ topic: deadLetters, key: Buffer.from("acme"), value: Buffer.from("{}") }] });
            const record = run("attest", "--env", "local", "--tenant", "acme");
            expect(record.code).toBe(1);
            expect(record.stderr).toContain("1 hit(s) for acme in the kafka of cell local-us (us)");
        } finally {
            const ends = await topicOffsets(admin, deadLetters);
            await admin.deleteRecords({
                topics: [{ name: deadLetters, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) }],
            });
            await producer.close();
            await admin.close();
        }
        expect(run("attest", "--env", "local", "--tenant", "acme").code).toBe(0);
    }, 300_000);

    test("plan refuses a preview that would replace a cell's Postgres server, naming the property, and passes once it is allowed", () => {
        expect(run("plan", "--env", "local").stdout).toContain("no data would be lost");
        pulumi("config", "set", "cellplane:stateDir", path.join(project, "elsewhere"));
        try {
            const refused = run("plan", "--env", "local", "--json");
            expect(refused.code).toBe(1);
            const [plan] = JSON.parse(refused.stdout).stacks;
            const postgres = plan.stateful.find((c: ResourceProps) => c.type === "pulumi-nodejs:dynamic/cellplane:LocalPostgresServer");
            expect(postgres).toMatchObject({ op: "replace", because: ["dir"], allowed: false });
            const human = run("plan", "--env", "local");
            expect(human.code).toBe(1);
            expect(human.stdout).toContain(
                `refused: ${postgres.name} (pulumi-nodejs:dynamic/cellplane:LocalPostgresServer) holds data and would be replaced because dir changed: its data would be lost. If that is intended, run again with --allow-replace '${postgres.urn}'`,
            );
            const allowed = run("plan", "--env", "local", "--allow-replace", ...plan.stateful.map((c: ResourceProps) => c.urn));
            expect(allowed.code).toBe(0);
            expect(allowed.stdout).toContain(`allowed: ${postgres.name} (pulumi-nodejs:dynamic/cellplane:LocalPostgresServer) is replaced`);
        } finally {
            pulumi("config", "set", "cellplane:stateDir", state);
        }
    }, 180_000);

    test("the human report is a table with the time per stack and for the environment", () => {
        const result = run("drift", "--env", "local");
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/^stack\s+status\s+checked\s+drifted\s+seconds\ne2e\s+clean\s+\d+\s+0\s+\d+\.\d/m);
        expect(result.stdout).toMatch(/environment local: 1 stack in \d+\.\d s/);
    });

    test("removing a cell that still has tenants is refused and changes nothing", () => {
        const file = path.join(project, "Pulumi.e2e.yaml");
        const before = fs.readFileSync(file, "utf8");
        const refused = run("cell", "remove", "--env", "local", "--id", "local-us");
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("cell local-us still holds tenant globex");
        expect(fs.readFileSync(file, "utf8")).toBe(before);
    });

    test("cell add --preview previews the new cell's resources, and cell remove takes it out again", () => {
        const added = run(
            ...cellAdd(
                { env: "local", id: "local-eu-2", cloud: "local", region: "eu-local", residency: "eu" },
                "--port-base",
                String(ports.us + PORTS_PER_LOCAL_CELL),
                "--preview",
            ),
        );
        expect(added.code).toBe(0);
        const summary = (out: string) => JSON.parse(/preview of e2e: (\{.*\})/.exec(out)![1]);
        expect(summary(added.stdout).create).toBeGreaterThan(15);
        expect(added.stdout).toContain("local-eu-2-postgres-server");
        const removed = run("cell", "remove", "--env", "local", "--id", "local-eu-2", "--preview");
        expect(removed.code).toBe(0);
        expect(summary(removed.stdout).create).toBeUndefined();
    });

    test("a stack of the environment with no state is reported unreachable, and the others are still checked", () => {
        fs.copyFileSync(path.join(project, "Pulumi.e2e.yaml"), path.join(project, "Pulumi.ghost.yaml"));
        const { code, report } = drift();
        fs.rmSync(path.join(project, "Pulumi.ghost.yaml"));
        expect(code).toBe(2);
        expect(report.stacks.map((s: ResourceProps) => [s.stack, s.status])).toEqual([
            ["e2e", "clean"],
            ["ghost", "unreachable"],
        ]);
        expect(report.stacks[1].message).toContain("stack ghost has no state in file://");
    });

    test("tenant remove refuses while the tenant has data, --purge prints the plan and deletes it, and its keys stop working", async () => {
        const file = path.join(project, "Pulumi.e2e.yaml");
        const before = fs.readFileSync(file, "utf8");
        const { key, routerUrl } = JSON.parse(run("key", "create", "--env", "local", "--tenant", "globex", "--json").stdout);
        const us = cells["local-us"];
        const stored = async () =>
            Number((await queryCell<{ n: string }>(us, "SELECT count() AS n FROM analytics.events WHERE org_id = 'globex'"))[0].n);
        for (let i = 0; i < 50 && (await stored()) === 0; i++) await new Promise((r) => setTimeout(r, 200));
        const events = await stored();
        expect(events).toBeGreaterThan(0);

        const refused = run("tenant", "remove", "--env", "local", "--id", "globex");
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`tenant globex still has data in cell local-us: ${events} events`);
        expect(refused.stderr).toContain("delete it with --purge, which would:");
        const dryRun = run("tenant", "remove", "--env", "local", "--id", "globex", "--purge", "--dry-run");
        expect(dryRun.code).toBe(0);
        expect(dryRun.stdout).toContain(`clickhouse  delete ${events} events`);
        expect(fs.readFileSync(file, "utf8")).toBe(before);
        expect(await stored()).toBe(events);

        const purged = run("tenant", "remove", "--env", "local", "--id", "globex", "--purge");
        expect(purged.code).toBe(0);
        expect(purged.stdout).toContain("deleted the events of globex from ClickHouse");
        expect(purged.stdout).toMatch(/revoked [1-9]\d* keys/);
        expect(await stored()).toBe(0);
        expect(fs.readFileSync(file, "utf8")).not.toContain("globex");
        await new Promise((r) => setTimeout(r, 5_500));
        const post = await call(`${routerUrl}/v1/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(eventOf("globex")),
        });
        expect(post.status).toBe(401);
    }, 120_000);
});
