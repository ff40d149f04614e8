import * as fc from "fast-check";
import { attestationPrivateKey, attestationPublicKey, canonicalJson, signatureHolds, signReport } from "../../model/attestation";

const EU_SECRET = "a-router-key-of-the-eu-residency-0123456789";
const US_SECRET = "a-router-key-of-the-us-residency-9876543210";
const report = { tenant: "acme", residency: "eu", stores: [{ store: "postgres", region: { value: "eu-west-1" } }], verdict: "green" };

/** The same value with every object's keys in reverse order. */
const reversedKeys = (value: unknown): unknown =>
    Array.isArray(value)
        ? value.map(reversedKeys)
        : value !== null && typeof value === "object"
          ? Object.fromEntries(
                Object.entries(value)
                    .reverse()
                    .map(([k, v]) => [k, reversedKeys(v)]),
            )
          : value;

describe("a signed attestation", () => {
    test("holds under its residency's published key, and under no other residency's", () => {
        const signed = signReport(report, attestationPrivateKey(EU_SECRET));
        expect(signed.signature.publicKey).toBe(attestationPublicKey(EU_SECRET));
        expect(signatureHolds(signed, attestationPublicKey(EU_SECRET))).toBe(true);
        expect(signatureHolds(signed, attestationPublicKey(US_SECRET))).toBe(false);
    });

    test("the key is derived from the residency's secret: the same secret, the same key", () => {
        expect(attestationPublicKey(EU_SECRET)).toBe(attestationPublicKey(EU_SECRET));
        expect(attestationPublicKey(EU_SECRET)).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    });

    test("any change of the body breaks it; the order of its keys does not", () => {
        const key = attestationPrivateKey(EU_SECRET);
        const published = attestationPublicKey(EU_SECRET);
        fc.assert(
            fc.property(fc.jsonValue(), fc.jsonValue(), (before, after) => {
                const signed = signReport({ evidence: before }, key);
                expect(signatureHolds({ ...signed, body: { evidence: reversedKeys(before) } }, published)).toBe(true);
                const changed = canonicalJson(after) !== canonicalJson(before);
                expect(signatureHolds({ ...signed, body: { evidence: after } }, published)).toBe(!changed);
            }),
            { numRuns: 200 },
        );
    });

    test("canonical JSON sorts keys at every level and drops undefined, as JSON does", () => {
        expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
    });
});
