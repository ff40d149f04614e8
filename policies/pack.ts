import type { Policies } from "@pulumi/policy";
import { AUDIT_LOGGING_POLICIES } from "./audit";
import { ENCRYPTION_POLICIES } from "./encryption";
import { EXPOSURE_POLICIES } from "./exposure";
import { KUBERNETES_POLICIES } from "./kubernetes";
import { LIFECYCLE_POLICIES } from "./lifecycle";
import { LOCAL_POLICIES } from "./local";
import { RESIDENCY_POLICIES } from "./residency";
import { SAFEGUARD_POLICIES } from "./safeguards";
import { TAGGING_POLICIES } from "./tagging";
import { VERSION_POLICIES } from "./versions";

export const PACK_NAME = "cellplane";

/** Every policy of the pack, by concern. Levels default to mandatory; `config/<env>.json` relaxes some outside prod. */
export const POLICIES: Policies = [
    ...RESIDENCY_POLICIES,
    ...ENCRYPTION_POLICIES,
    ...EXPOSURE_POLICIES,
    ...TAGGING_POLICIES,
    ...SAFEGUARD_POLICIES,
    ...KUBERNETES_POLICIES,
    ...AUDIT_LOGGING_POLICIES,
    ...LOCAL_POLICIES,
    ...VERSION_POLICIES,
    ...LIFECYCLE_POLICIES,
];
