import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, POLICIES } from "./pack";

// The engine loads this file to serve the pack; tests and `npm run policy:check` import ./pack instead.
new PolicyPack(PACK_NAME, { policies: POLICIES, enforcementLevel: "mandatory" });
