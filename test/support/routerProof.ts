import { randomBytes } from "crypto";
import { ROUTER_PROOF_HEADER, routerProof } from "../../apps/shared/routerProof";

/** A router key made for the test run. */
export const TEST_ROUTER_KEY = randomBytes(32).toString("base64url");

/** The header a residency's router would add to `method url` for `cell`. */
export const fromRouter = (cell: string, method: string, url: string, key = TEST_ROUTER_KEY) => ({
    [ROUTER_PROOF_HEADER]: routerProof(key, { cell, method, url }),
});
