import { type ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { generateKeyPairSync, randomUUID, sign } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { KAFKA_TOKEN_FILE, allowTokenFile } from "../../../apps/lakehouse/entraToken";
import { kafkaSettingsOf } from "../../../apps/lakehouse/jobs";
import { kafkaProperties } from "../../../apps/lakehouse/streaming";
import { bundleFile } from "../../../components/apps/bundle";
import { flinkHome, kafkaLibs, nodeBin, sparkHome } from "../../../components/local/tools";
import { freePorts } from "../../support/freePort";

/**
 * The jobs' Kafka sign-in on Event Hubs, for real except Entra ID itself: a Kafka broker that takes OAUTHBEARER
 * tokens and checks them against a key set (as Event Hubs checks Entra ID's), a token endpoint that answers the
 * workload identity exchange as Entra ID documents it, the sidecar that keeps the token file, and the Kafka clients
 * of Spark (3.9.1) and Flink (4.2.0) with the very settings the jobs' scripts give them.
 */
describe("the jobs' Entra ID sign-in to Kafka", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-entra-"));
    const audience = "https://cell-1-kafka-ns.servicebus.windows.net";
    const scope = `${audience}/.default`;
    const clientId = randomUUID();
    const tenantId = randomUUID();
    const federatedToken = `service-account-token-${randomUUID()}`;
    const tokenFile = path.join(dir, "kafka", "token");
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const kid = "entra-test-key";
    const exchanges: URLSearchParams[] = [];
    let entra: http.Server;
    let broker: ChildProcess;
    let sidecar: ChildProcess;
    let bootstrap: string;

    const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const signedToken = (claims: object) => {
        const unsigned = `${base64url({ alg: "RS256", typ: "JWT", kid })}.${base64url(claims)}`;
        return `${unsigned}.${sign("sha256", Buffer.from(unsigned), privateKey).toString("base64url")}`;
    };

    /** Entra ID's token endpoint, as far as the sidecar's exchange goes: a client assertion for a token of a scope. */
    const answerExchange = (request: http.IncomingMessage, response: http.ServerResponse) => {
        let body = "";
        request.on("data", (chunk) => (body += chunk));
        request.on("end", () => {
            const form = new URLSearchParams(body);
            exchanges.push(form);
            const valid =
                request.url === `/${tenantId}/oauth2/v2.0/token` &&
                form.get("grant_type") === "client_credentials" &&
                form.get("client_id") === clientId &&
                form.get("client_assertion_type") === "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
                form.get("client_assertion") === federatedToken &&
                form.get("scope") === scope;
            if (!valid) {
                response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_request" }));
                return;
            }
            const now = Math.floor(Date.now() / 1000);
            const accessToken = signedToken({ aud: audience, sub: clientId, iat: now, nbf: now, exp: now + 3600 });
            response
                .writeHead(200, { "content-type": "application/json" })
                .end(JSON.stringify({ token_type: "Bearer", expires_in: 3599, access_token: accessToken }));
        });
    };

    const waitFor = async (what: string, check: () => boolean | Promise<boolean>, seconds = 60) => {
        for (let i = 0; i < seconds * 4; i++) {
            if (await check()) return;
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
        throw new Error(`${what} did not happen within ${seconds} s`);
    };
    const answers = (port: number) =>
        new Promise<boolean>((resolve) => {
            const socket = net.connect(port, "127.0.0.1", () => {
                socket.destroy();
                resolve(true);
            });
            socket.once("error", () => resolve(false));
        });

    const java = (classpath: string[], main: string, args: string[], extra: string[] = []) =>
        execFileSync("java", ["-Xmx256m", ...extra, "-cp", classpath.join(":"), main, ...args], {
            encoding: "utf8",
            timeout: 120_000,
            stdio: ["ignore", "pipe", "pipe"],
        });
    const allJars = (folder: string) =>
        fs
            .readdirSync(folder)
            .filter((f) => f.endsWith(".jar"))
            .map((f) => path.join(folder, f));

    beforeAll(async () => {
        fs.mkdirSync(path.dirname(tokenFile));
        const federatedFile = path.join(dir, "federated-token");
        fs.writeFileSync(federatedFile, federatedToken);
        const jwks = path.join(dir, "jwks.json");
        fs.writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] }));

        entra = http.createServer(answerExchange);
        await new Promise<void>((resolve) => entra.listen(0, "127.0.0.1", resolve));

        const port = await freePorts(3);
        const [internalPort, controllerPort] = [port + 1, port + 2];
        bootstrap = `127.0.0.1:${port}`;
        const config = path.join(dir, "server.properties");
        fs.writeFileSync(
            config,
            [
                "process.roles=broker,controller",
                "node.id=1",
                `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
                `listeners=OAUTH://${bootstrap},INTERNAL://127.0.0.1:${internalPort},CONTROLLER://127.0.0.1:${controllerPort}`,
                `advertised.listeners=OAUTH://${bootstrap},INTERNAL://127.0.0.1:${internalPort}`,
                "listener.security.protocol.map=OAUTH:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=INTERNAL",
                "controller.listener.names=CONTROLLER",
                "listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER",
                "listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
                "listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
                `sasl.oauthbearer.jwks.endpoint.url=file://${jwks}`,
                `sasl.oauthbearer.expected.audience=${audience}`,
                `log.dirs=${path.join(dir, "data")}`,
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
            ].join("\n"),
        );
        const log4j = path.join(dir, "log4j.properties");
        fs.writeFileSync(
            log4j,
            [
                "log4j.rootLogger=WARN, stdout",
                "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
                "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
            ].join("\n"),
        );
        const kafkaClasspath = [`${kafkaLibs()}/*`];
        java(kafkaClasspath, "kafka.tools.StorageTool", ["format", "-t", randomUUID(), "-c", config]);
        broker = spawn(
            "java",
            [
                "-Xmx512m",
                `-Dlog4j.configuration=file:${log4j}`,
                `-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://${jwks}`,
                "-cp",
                kafkaClasspath.join(":"),
                "kafka.Kafka",
                config,
            ],
            { stdio: ["ignore", fs.openSync(path.join(dir, "broker.log"), "w"), fs.openSync(path.join(dir, "broker.err"), "w")] },
        );

        const bundle = bundleFile(path.join(__dirname, "..", "..", "..", "apps", "lakehouse", "entraTokenMain.ts"), "entra-token");
        sidecar = spawn(nodeBin(), [bundle.file], {
            env: {
                PATH: process.env.PATH,
                AZURE_CLIENT_ID: clientId,
                AZURE_TENANT_ID: tenantId,
                AZURE_FEDERATED_TOKEN_FILE: federatedFile,
                AZURE_AUTHORITY_HOST: `http://127.0.0.1:${(entra.address() as AddressInfo).port}/`,
                KAFKA_TOKEN_SCOPE: scope,
                KAFKA_TOKEN_FILE: tokenFile,
            },
            stdio: ["ignore", fs.openSync(path.join(dir, "sidecar.log"), "w"), "inherit"],
        });
        await waitFor("the sidecar's token file", () => fs.existsSync(tokenFile));
        const brokerLog = () =>
            fs.readFileSync(path.join(dir, "broker.log"), "utf8") + fs.readFileSync(path.join(dir, "broker.err"), "utf8");
        await waitFor("the broker's start", () => answers(port), 90).catch((error: Error) => {
            throw new Error(`${error.message}:\n${brokerLog().slice(-3000)}`);
        });
    }, 180_000);

    afterAll(async () => {
        sidecar?.kill();
        broker?.kill();
        entra?.closeAllConnections();
        await new Promise((resolve) => entra?.close(resolve));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("the sidecar exchanges the pod's service-account token for a token of Event Hubs' scope, and writes it for its owner only", () => {
        expect(exchanges).toHaveLength(1);
        const token = fs.readFileSync(tokenFile, "utf8");
        const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
        expect(claims).toMatchObject({ aud: audience, sub: clientId });
        expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
        expect(fs.readdirSync(path.dirname(tokenFile))).toEqual(["token"]);
    });

    /** The client properties a job's settings give, pointed at this broker and this token file. */
    const settings = () => {
        const kafka = kafkaSettingsOf(
            { brokers: [bootstrap], tls: "off", sasl: { mechanism: "oauthbearer", tokens: { from: "azure-entra", scope } } },
            "",
        );
        if (kafka.sasl?.mechanism !== "OAUTHBEARER") throw new Error(`expected OAUTHBEARER, got ${JSON.stringify(kafka.sasl)}`);
        return { ...kafka, sasl: { ...kafka.sasl, tokenFile } };
    };
    const writeProperties = (name: string, properties: Record<string, string>) => {
        const file = path.join(dir, name);
        fs.writeFileSync(
            file,
            Object.entries(properties)
                .map(([key, value]) => `${key}=${value}`)
                .join("\n"),
        );
        return file;
    };
    const sparkOptions = (): Record<string, string> => {
        const script = path.join(__dirname, "..", "..", "..", "apps", "lakehouse", "spark");
        const code = `import json,sys; sys.path.insert(0, ${JSON.stringify(script)}); from cellplane_lakehouse import kafka_options; print(json.dumps(kafka_options({"kafka": json.loads(sys.argv[1])})))`;
        const output = execFileSync("python3", ["-c", code, JSON.stringify(settings())], {
            encoding: "utf8",
            env: { ...process.env, PYTHONPATH: sparkHome() },
        });
        return Object.fromEntries(
            Object.entries(JSON.parse(output) as Record<string, string>).map(([k, v]) => [k.replace(/^kafka\./, ""), v]),
        );
    };
    const flinkOptions = (): Record<string, string> =>
        Object.fromEntries(Object.entries(kafkaProperties(settings())).map(([k, v]) => [k.replace(/^properties\./, ""), v]));

    /** A Kafka tool on `client`'s jar with the 3.9.1 tools around it; its output, whether or not it succeeded. */
    const runTool = (client: string, main: string, args: string[], jvm: string[]) => {
        const tools = allJars(kafkaLibs()).filter((jar) => !path.basename(jar).startsWith("kafka-clients-"));
        const result = spawnSync("java", ["-Xmx256m", ...jvm, "-cp", [client, ...tools].join(":"), main, ...args], {
            encoding: "utf8",
            timeout: 120_000,
        });
        return { ok: result.status === 0, stdout: result.stdout, output: result.stdout + result.stderr };
    };
    const produce = (client: string, properties: string, topic: string, count: number, jvm: string[]) =>
        runTool(
            client,
            "org.apache.kafka.tools.VerifiableProducer",
            ["--bootstrap-server", bootstrap, "--topic", topic, "--max-messages", String(count), "--producer.config", properties],
            jvm,
        );
    const sent = (run: { stdout: string }) => (run.stdout.match(/"name":"producer_send_success"/g) ?? []).length;
    const sparkClient = () => `${kafkaLibs()}/kafka-clients-3.9.1.jar`;
    const flinkClient = () => path.join(flinkHome(), "jars", "kafka-clients-4.2.0.jar");

    test.each([
        { job: "Spark's (kafka-clients 3.9.1, the lakehouse jobs' settings)", client: sparkClient, options: sparkOptions },
        { job: "Flink's (kafka-clients 4.2.0, the streaming job's settings)", client: flinkClient, options: flinkOptions },
    ])("$job client signs in with the token file, sends and reads back", ({ job, client, options }) => {
        const properties = writeProperties(`${job.split("'")[0].toLowerCase()}.properties`, options());
        const allow = [allowTokenFile(tokenFile)];
        const topic = `events-${randomUUID().slice(0, 8)}`;
        const produced = produce(client(), properties, topic, 5, allow);
        expect(sent(produced)).toBe(5);
        const consumed = runTool(
            client(),
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            [
                ...["--bootstrap-server", bootstrap, "--topic", topic, "--from-beginning", "--max-messages", "5"],
                ...["--timeout-ms", "60000", "--consumer.config", properties],
            ],
            allow,
        );
        expect(consumed.stdout.trim().split("\n")).toEqual(["0", "1", "2", "3", "4"]);
    });

    test("Kafka 4's client reads no token file its JVM does not allow (CVE-2025-27817), which is why the jobs' JVMs allow theirs", () => {
        const properties = writeProperties("unallowed.properties", flinkOptions());
        const refused = produce(flinkClient(), properties, "events", 1, []);
        expect(sent(refused)).toBe(0);
        expect(refused.output).toContain(`file://${tokenFile}`);
        expect(refused.output).toContain("org.apache.kafka.sasl.oauthbearer.allowed.urls");
    });

    test("the broker refuses a token of another audience", () => {
        const now = Math.floor(Date.now() / 1000);
        const stranger = path.join(dir, "stranger-token");
        fs.writeFileSync(
            stranger,
            signedToken({ aud: "https://other-ns.servicebus.windows.net", sub: clientId, iat: now, exp: now + 3600 }),
        );
        const properties = writeProperties("stranger.properties", {
            ...flinkOptions(),
            "sasl.oauthbearer.token.endpoint.url": `file://${stranger}`,
        });
        const refused = produce(flinkClient(), properties, "events", 1, [allowTokenFile(stranger)]);
        expect(sent(refused)).toBe(0);
        expect(refused.output).toMatch(/SaslAuthenticationException/);
    });

    test("the jobs read their token where the sidecar writes it in their pods", () => {
        expect(
            kafkaSettingsOf(
                { brokers: [bootstrap], tls: "system", sasl: { mechanism: "oauthbearer", tokens: { from: "azure-entra", scope } } },
                "",
            ).sasl,
        ).toEqual({
            mechanism: "OAUTHBEARER",
            tokenFile: KAFKA_TOKEN_FILE,
        });
    });
});
