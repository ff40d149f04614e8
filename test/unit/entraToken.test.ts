import fc from "fast-check";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import {
    type EntraTokenConfig,
    entraTokenEnvironment,
    refreshDelayMs,
    requestEntraToken,
    retryDelayMs,
    writeTokenFile,
} from "../../apps/lakehouse/entraToken";

/** The sidecar's side of the workload identity exchange, against an endpoint that answers whatever the test says. */
describe("the Entra ID token sidecar", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-entra-unit-"));
    let answer: { status: number; body: string } = { status: 200, body: "{}" };
    let server: http.Server;
    let config: EntraTokenConfig;

    beforeAll(async () => {
        server = http.createServer((request, response) => {
            request.resume();
            request.on("end", () => response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const federated = path.join(dir, "federated");
        fs.writeFileSync(federated, "assertion\n");
        config = entraTokenEnvironment.parse({
            AZURE_CLIENT_ID: "client-1",
            AZURE_TENANT_ID: "tenant-1",
            AZURE_FEDERATED_TOKEN_FILE: federated,
            AZURE_AUTHORITY_HOST: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            KAFKA_TOKEN_SCOPE: "https://ns.servicebus.windows.net/.default",
        });
    });
    afterAll(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("takes any token Entra ID gives, until its expiry", async () => {
        await fc.assert(
            fc.asyncProperty(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 86_400 }), async (token, lifetime) => {
                answer = { status: 200, body: JSON.stringify({ token_type: "Bearer", access_token: token, expires_in: lifetime }) };
                const now = Date.now();
                const given = await requestEntraToken(config, now);
                expect(given).toEqual({ accessToken: token, expiresAt: new Date(now + lifetime * 1000) });
            }),
            { numRuns: 50 },
        );
    });

    test("refuses any other answer, naming the client, the scope and Entra ID's error", async () => {
        const refusal = fc.oneof(
            fc.record({
                status: fc.integer({ min: 400, max: 599 }),
                body: fc.constant(JSON.stringify({ error: "invalid_client", error_description: "AADSTS70021" })),
            }),
            fc.record({ status: fc.constant(200), body: fc.string() }),
            fc.record({
                status: fc.constant(200),
                body: fc
                    .record({ access_token: fc.oneof(fc.integer(), fc.constant(null)), expires_in: fc.integer() })
                    .map((b) => JSON.stringify(b)),
            }),
            fc.record({
                status: fc.constant(200),
                body: fc
                    .record({ access_token: fc.string(), expires_in: fc.oneof(fc.integer({ max: 0 }), fc.constant("soon")) })
                    .map((b) => JSON.stringify(b)),
            }),
        );
        await fc.assert(
            fc.asyncProperty(refusal, async (refused) => {
                answer = refused;
                // Whatever went wrong, the message names the client and the scope (a proxy's 407 is no answer at all).
                await expect(requestEntraToken(config)).rejects.toThrow(
                    /^Entra ID gave client client-1 no token of https:\/\/ns\.servicebus\.windows\.net\/\.default: (HTTP \d{3}|http:\/\/127\.0\.0\.1:\d+\/tenant-1\/oauth2\/v2\.0\/token did not answer)/,
                );
            }),
            { numRuns: 60 },
        );
        // Found by the property: undici takes a 407 for its own proxy's, so the exchange fails without an answer.
        answer = { status: 407, body: "{}" };
        await expect(requestEntraToken(config)).rejects.toThrow(/\/tenant-1\/oauth2\/v2\.0\/token did not answer \(/);
        answer = {
            status: 401,
            body: JSON.stringify({ error: "invalid_client", error_description: "AADSTS70021: No matching federated identity record" }),
        };
        await expect(requestEntraToken(config)).rejects.toThrow(
            /HTTP 401 invalid_client AADSTS70021: No matching federated identity record$/,
        );
    });

    test("refuses a scope that is not a resource's own, naming the setting", () => {
        const result = entraTokenEnvironment.safeParse({ ...config, KAFKA_TOKEN_SCOPE: "https://ns.servicebus.windows.net/" });
        expect(result.success).toBe(false);
        expect(result.error!.issues[0]).toMatchObject({ path: ["KAFKA_TOKEN_SCOPE"], message: expect.stringMatching(/\/\.default/) });
    });

    test("writes the token whole and for its owner only, replacing the one before", async () => {
        const file = path.join(dir, "token");
        await writeTokenFile(file, "first");
        await writeTokenFile(file, "second");
        expect(fs.readFileSync(file, "utf8")).toBe("second");
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.readdirSync(dir).filter((f) => f.startsWith("token"))).toEqual(["token"]);
    });

    test("asks again at half a token's remaining life, never sooner than 30 s; a refusal sooner, doubling up to a minute", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 86_400_000 }), (left) => {
                const now = 1_000_000;
                const delay = refreshDelayMs({ accessToken: "t", expiresAt: new Date(now + left) }, now);
                expect(delay).toBe(Math.max(30_000, left / 2));
                // Kafka's login refreshes at about 80% of the token's life: the file holds a new one before that.
                if (left > 60_000) expect(delay).toBeLessThan(0.8 * left);
            }),
        );
        expect([1, 2, 3, 4, 5, 6, 7].map(retryDelayMs)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    });
});
