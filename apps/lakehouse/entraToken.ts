import * as fs from "fs";
import { z } from "zod";

/**
 * Where the jobs' Kafka clients find their Entra ID token on Event Hubs. Kafka's own OAUTHBEARER login reads a token
 * from a `file://` endpoint at each refresh (KIP-768), so a JVM job needs no login code of ours: a sidecar of its pod
 * (`entraTokenMain.ts`) keeps the file fresh.
 */
export const KAFKA_TOKEN_DIR = "/var/run/cellplane/kafka";
export const KAFKA_TOKEN_FILE = `${KAFKA_TOKEN_DIR}/token`;

/**
 * Kafka 3.9.1 and 4.x read a token or key endpoint only at a URL this system property of the JVM allows
 * (CVE-2025-27817): the jobs' JVMs allow the token file and nothing else.
 */
export const allowTokenFile = (file = KAFKA_TOKEN_FILE) => `-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://${file}`;

/** What the AKS workload identity webhook puts in a pod's environment, and the scope and file of the token. */
export const entraTokenEnvironment = z.object({
    AZURE_CLIENT_ID: z.string().min(1),
    AZURE_TENANT_ID: z.string().min(1),
    AZURE_FEDERATED_TOKEN_FILE: z.string().min(1),
    AZURE_AUTHORITY_HOST: z.url().default("https://login.microsoftonline.com/"),
    KAFKA_TOKEN_SCOPE: z.url().endsWith("/.default", { message: "must end in /.default (the resource's own scope)" }),
    KAFKA_TOKEN_FILE: z.string().startsWith("/").default(KAFKA_TOKEN_FILE),
});
export type EntraTokenConfig = z.output<typeof entraTokenEnvironment>;

export interface EntraToken {
    accessToken: string;
    expiresAt: Date;
}

/**
 * Workload identity federation: the pod's service-account token, which kubelet rotates (so it is read each time),
 * exchanged for an access token of the scope, as a client credentials grant with a client assertion
 * (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
 */
export async function requestEntraToken(config: EntraTokenConfig, now = Date.now()): Promise<EntraToken> {
    const assertion = (await fs.promises.readFile(config.AZURE_FEDERATED_TOKEN_FILE, "utf8")).trim();
    const authority = config.AZURE_AUTHORITY_HOST.endsWith("/") ? config.AZURE_AUTHORITY_HOST : `${config.AZURE_AUTHORITY_HOST}/`;
    const endpoint = new URL(`${encodeURIComponent(config.AZURE_TENANT_ID)}/oauth2/v2.0/token`, authority);
    const refused = (why: string) =>
        new Error(`Entra ID gave client ${config.AZURE_CLIENT_ID} no token of ${config.KAFKA_TOKEN_SCOPE}: ${why}`);
    const response = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
            grant_type: "client_credentials",
            client_id: config.AZURE_CLIENT_ID,
            scope: config.KAFKA_TOKEN_SCOPE,
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: assertion,
        }),
        signal: AbortSignal.timeout(10_000),
    }).catch((error: { message: string; cause?: { message?: string } }) => {
        // fetch says only "fetch failed"; its cause says why (refused, reset, timed out).
        throw refused(`${endpoint} did not answer (${error.cause?.message ?? error.message})`);
    });
    const body = (await response.json().catch(() => ({}))) as {
        access_token?: unknown;
        expires_in?: unknown;
        error?: string;
        error_description?: string;
    };
    const lifetime = Number(body.expires_in);
    if (!response.ok || typeof body.access_token !== "string" || !(lifetime > 0))
        throw refused(`HTTP ${response.status} ${body.error ?? ""} ${body.error_description ?? ""}`.trim());
    return { accessToken: body.access_token, expiresAt: new Date(now + lifetime * 1000) };
}

/** Written whole, readable by its owner only: a client never reads half a token. */
export async function writeTokenFile(file: string, token: string): Promise<void> {
    const partial = `${file}.${process.pid}.partial`;
    await fs.promises.writeFile(partial, token, { mode: 0o600 });
    await fs.promises.rename(partial, file);
}

const MIN_REFRESH_MS = 30_000;

/**
 * When to ask again: at half the token's remaining life, so the file holds a new token well before Kafka's login
 * refreshes (at about 80% of the life of the token it read).
 */
export const refreshDelayMs = (token: EntraToken, now = Date.now()) => Math.max(MIN_REFRESH_MS, (token.expiresAt.getTime() - now) / 2);

/** After a refused request: doubling from 2 s, at most a minute. */
export const retryDelayMs = (failures: number) => Math.min(60_000, 2_000 * 2 ** Math.max(0, failures - 1));
