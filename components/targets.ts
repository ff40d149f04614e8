import type { Cloud } from "../model/residency";
import { awsTarget } from "./aws";
import { azureTarget } from "./azure";
import { kubernetesTarget } from "./kubernetes";
import { localTarget } from "./local";
import type { CellTarget } from "./platform";

/** The target of each cloud a cell may name in `cellplane:cells[].cloud`. */
export const TARGETS: Record<Cloud, CellTarget> = {
    aws: awsTarget,
    azure: azureTarget,
    kubernetes: kubernetesTarget,
    local: localTarget,
};
