import { createHmac, timingSafeEqual } from "crypto";

/**
 * Cellplane's webhooks are signed like Stripe's and GitHub's: `X-Cellplane-Signature: t=<unix seconds>,v1=<hex>`,
 * where v1 is HMAC-SHA256 with the shared secret over `<t>.<body>`. The time in the signed bytes lets a receiver
 * refuse a replayed delivery.
 */
export const SIGNATURE_HEADER = "x-cellplane-signature";

const macOf = (secret: string, seconds: number, body: string) => createHmac("sha256", secret).update(`${seconds}.${body}`).digest("hex");

export function signWebhook(secret: string, body: string, now = Date.now()): string {
    const seconds = Math.floor(now / 1000);
    return `t=${seconds},v1=${macOf(secret, seconds, body)}`;
}

/** Whether `header` signs exactly `body` with `secret`, at most `toleranceSeconds` from now. */
export function webhookSignatureHolds(secret: string, header: string, body: string, now = Date.now(), toleranceSeconds = 300): boolean {
    const parts = Object.fromEntries(header.split(",").map((part) => part.trim().split("=", 2) as [string, string]));
    const seconds = Number(parts.t);
    if (!Number.isInteger(seconds) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? "")) return false;
    if (Math.abs(now / 1000 - seconds) > toleranceSeconds) return false;
    return timingSafeEqual(Buffer.from(parts.v1, "hex"), Buffer.from(macOf(secret, seconds, body), "hex"));
}
