import { createHash, createHmac, createPrivateKey, createPublicKey, KeyObject, sign, verify } from "crypto";

/** An Ed25519 private key in PKCS #8 is this prefix and the key's 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * The key that signs a residency's attestations, derived from a secret held in that residency (the router key of
 * the cell hosting its router): whoever can sign is inside the residency, and the stack publishes only the public half.
 */
export function attestationPrivateKey(residencySecret: string): KeyObject {
    const seed = createHmac("sha256", residencySecret).update("cellplane residency attestation key").digest();
    return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

export const attestationPublicKey = (residencySecret: string): string =>
    createPublicKey(attestationPrivateKey(residencySecret)).export({ type: "spki", format: "pem" }).toString();

/** JSON with keys sorted at every level: the bytes a signature covers do not depend on how the report was built. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object")
        return `{${Object.keys(value)
            .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
            .join(",")}}`;
    return JSON.stringify(value);
}

export interface Signed<T> {
    body: T;
    signature: { algorithm: "Ed25519"; publicKey: string; sha256: string; value: string };
}

export function signReport<T>(body: T, key: KeyObject): Signed<T> {
    const bytes = Buffer.from(canonicalJson(body));
    return {
        body,
        signature: {
            algorithm: "Ed25519",
            publicKey: createPublicKey(key).export({ type: "spki", format: "pem" }).toString(),
            sha256: createHash("sha256").update(bytes).digest("hex"),
            value: sign(null, bytes, key).toString("base64"),
        },
    };
}

/** Whether `signed.body` is what `publicKey` signed (the key the report carries is not trusted on its own). */
export function signatureHolds(signed: Signed<unknown>, publicKey: string): boolean {
    try {
        return verify(
            null,
            Buffer.from(canonicalJson(signed.body)),
            createPublicKey(publicKey),
            Buffer.from(signed.signature.value, "base64"),
        );
    } catch {
        return false;
    }
}
