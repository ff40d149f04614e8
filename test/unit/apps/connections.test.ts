import { randomBytes } from "crypto";
import fc from "fast-check";
import { loadConsumerConfig } from "../../../apps/ingest/config";
import { kafkaSaslOf } from "../../../apps/shared/connections";
import type { KafkaConnection } from "../../../model/connections";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const clickhouse = { url: "https://clickhouse.cell.test:8443", user: "cellplane_consumer", tls: "system" };

const host = fc.stringMatching(/^[a-z][a-z0-9.-]{0,30}$/);
const broker = fc.tuple(host, fc.integer({ min: 1, max: 65_535 })).map(([h, p]) => `${h}:${p}`);
const sasl = fc.oneof(
    fc.constant({ mechanism: "none" as const }),
    fc.record({ mechanism: fc.constantFrom("scram-sha-512" as const, "plain" as const), username: fc.string({ minLength: 1 }) }),
    fc.record({
        mechanism: fc.constant("oauthbearer" as const),
        tokens: fc.oneof(
            fc.record({ from: fc.constant("aws-msk-iam" as const), region: fc.constantFrom("eu-west-1", "us-east-1") }),
            fc.record({ from: fc.constant("azure-entra" as const), scope: fc.constant("https://ns.servicebus.windows.net/.default") }),
        ),
    }),
);
const kafka: fc.Arbitrary<KafkaConnection> = fc.record({
    brokers: fc.array(broker, { minLength: 1, maxLength: 4 }),
    tls: fc.constantFrom("off" as const, "system" as const, "ca" as const),
    sasl,
});

const needsPassword = (c: KafkaConnection) => c.sasl.mechanism === "scram-sha-512" || c.sasl.mechanism === "plain";

/** The consumer's environment for `connection`, with the CA and password it needs. */
const environmentOf = (connection: KafkaConnection): NodeJS.ProcessEnv => ({
    CELL_ID: "cell-1",
    CLICKHOUSE: JSON.stringify(clickhouse),
    CLICKHOUSE_PASSWORD: "p",
    KAFKA: JSON.stringify(connection),
    ...(connection.tls === "ca" ? { KAFKA_CA: PEM } : {}),
    ...(needsPassword(connection) ? { KAFKA_PASSWORD: "p" } : {}),
});

describe("an app's connection settings", () => {
    test("any complete Kafka connection is taken as it was given", () => {
        fc.assert(
            fc.property(kafka, (connection) => {
                expect(loadConsumerConfig(environmentOf(connection)).KAFKA).toEqual(connection);
            }),
        );
    });

    test("a missing CA or password is refused, naming the variable and why it is needed", () => {
        fc.assert(
            fc.property(
                kafka.filter((c) => c.tls === "ca" || needsPassword(c)),
                fc.constantFrom("KAFKA_CA", "KAFKA_PASSWORD"),
                (connection, dropped) => {
                    const env = environmentOf(connection);
                    fc.pre(env[dropped] !== undefined);
                    delete env[dropped];
                    expect(() => loadConsumerConfig(env)).toThrow(new RegExp(`${dropped}: is required`));
                },
            ),
        );
    });

    test("a broken connection is refused, naming the variable and the field", () => {
        const broken = fc.oneof(
            fc.string().map((text) => ({ text, field: "KAFKA" })),
            kafka.map((c) => ({ text: JSON.stringify({ ...c, brokers: [] }), field: "KAFKA.brokers" })),
            fc
                .tuple(kafka, host)
                .map(([c, h]) => ({ text: JSON.stringify({ ...c, brokers: [h] }), field: "KAFKA.brokers.0: must be host:port" })),
            kafka.map((c) => ({ text: JSON.stringify({ ...c, tls: "maybe" }), field: "KAFKA.tls" })),
            kafka.map((c) => ({ text: JSON.stringify({ ...c, sasl: { mechanism: "gssapi" } }), field: "KAFKA.sasl.mechanism" })),
        );
        fc.assert(
            fc.property(broken, ({ text, field }) => {
                fc.pre(!/^\s*\{/.test(text) || field !== "KAFKA");
                const env = { ...environmentOf({ brokers: ["k:9092"], tls: "off", sasl: { mechanism: "none" } }), KAFKA: text };
                expect(() => loadConsumerConfig(env)).toThrow(field);
            }),
        );
    });
});

describe("MSK IAM over OAUTHBEARER", () => {
    const saved = { ...process.env };
    afterEach(() => {
        process.env = { ...saved };
    });

    test("presents a token signed for MSK in the cell's region with the pod's AWS credentials, never the secret itself", async () => {
        // Credentials as the pod's identity would give them; made up here, so the signing is all that is tested.
        const accessKeyId = randomBytes(10).toString("hex").toUpperCase();
        const secretAccessKey = randomBytes(20).toString("base64");
        Object.assign(process.env, { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey });
        delete process.env.AWS_SESSION_TOKEN;
        delete process.env.AWS_PROFILE;
        const msk = kafkaSaslOf({
            KAFKA: {
                brokers: ["b-1.cell.kafka.eu-west-1.amazonaws.com:9098"],
                tls: "system",
                sasl: { mechanism: "oauthbearer", tokens: { from: "aws-msk-iam", region: "eu-west-1" } },
            },
        }) as { mechanism: string; token: () => Promise<string> };
        expect(msk.mechanism).toBe("OAUTHBEARER");
        const value = await msk.token();
        const signed = new URL(Buffer.from(value, "base64url").toString("utf8"));
        expect(signed.host).toBe("kafka.eu-west-1.amazonaws.com");
        expect(signed.searchParams.get("Action")).toBe("kafka-cluster:Connect");
        expect(signed.searchParams.get("X-Amz-Credential")).toMatch(
            new RegExp(`^${accessKeyId}/\\d{8}/eu-west-1/kafka-cluster/aws4_request$`),
        );
        expect(signed.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
        expect(value).not.toContain(secretAccessKey);
        expect(Buffer.from(value, "base64url").toString("utf8")).not.toContain(secretAccessKey);
    });
});
