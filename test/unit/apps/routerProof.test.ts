import fc from "fast-check";
import { PROOF_LIFETIME_SECONDS, proofProblem, routerProof } from "../../../apps/shared/routerProof";
import { TEST_ROUTER_KEY } from "../../support/routerProof";

const request = fc.record({
    cell: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
    url: fc.webPath().chain((path) => fc.webQueryParameters().map((query) => `/${path.replace(/^\//, "")}${query ? `?${query}` : ""}`)),
});

describe("a router's proof", () => {
    test("proves exactly the cell, method and request line it was made for, within its lifetime", () => {
        fc.assert(
            fc.property(
                request,
                request,
                fc.integer({ min: -PROOF_LIFETIME_SECONDS + 1, max: PROOF_LIFETIME_SECONDS - 1 }),
                (made, other, skew) => {
                    const now = Date.now();
                    const proof = routerProof(TEST_ROUTER_KEY, made, now);
                    expect(proofProblem(TEST_ROUTER_KEY, proof, made, now + skew * 1000)).toBeUndefined();
                    const same = other.cell === made.cell && other.method === made.method && other.url === made.url;
                    expect(proofProblem(TEST_ROUTER_KEY, proof, other, now) === undefined).toBe(same);
                },
            ),
            { numRuns: 500 },
        );
    });

    test("is refused once expired, under another key, or when any character of it changes", () => {
        fc.assert(
            fc.property(request, fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (made, position, character) => {
                const now = Date.now();
                const proof = routerProof(TEST_ROUTER_KEY, made, now);
                expect(proofProblem(TEST_ROUTER_KEY, proof, made, now + (PROOF_LIFETIME_SECONDS + 2) * 1000)).toMatch(/expired/);
                expect(proofProblem(`${TEST_ROUTER_KEY}x`, proof, made, now)).toMatch(/does not verify/);
                const at = position % proof.length;
                const tampered = proof.slice(0, at) + character + proof.slice(at + 1);
                if (tampered !== proof) expect(proofProblem(TEST_ROUTER_KEY, tampered, made, now)).toBeDefined();
            }),
            { numRuns: 500 },
        );
    });

    test("any header value at all is refused with a reason, never thrown", () => {
        fc.assert(
            fc.property(fc.option(fc.string({ maxLength: 200 }), { nil: undefined }), (header) => {
                expect(proofProblem(TEST_ROUTER_KEY, header, { cell: "eu-1", method: "POST", url: "/v1/events" })).toEqual(
                    expect.any(String),
                );
            }),
        );
    });
});
