import type { CellConfig } from "../model/config";
import type { Cloud } from "../model/residency";
import { awsTarget } from "./aws";
import { azureTarget } from "./azure";
import { kubernetesTarget } from "./kubernetes";
import { localTarget } from "./local";
import { LocalCertificates } from "./local/tls";
import type { CellTarget } from "./platform";
import type { EdgeNames } from "../model/edge";

/** What a stack tells its targets beyond each cell's own config. */
export interface TargetSettings {
    /** The stack's folder for the data of servers on this machine (local cells only). */
    stateDir: string;
    /** Whether local cells speak TLS and SASL. */
    localTls: boolean;
    /** Whether local cells run their metrics server and exporters. */
    localMetrics: boolean;
    /** Whether local cells run the streaming job. */
    localStreaming: boolean;
    /** Whether local cells run their lakehouse jobs on their schedules. */
    localJobSchedules: boolean;
    /** Every cell of the stack, so cells that share a cluster share its operators. */
    cells: readonly CellConfig[];
    /** Where cluster cells' public names live (the schema requires a DNS zone when the stack has cluster cells). */
    names?: EdgeNames;
    azureDnsResourceGroup?: string;
    gatewayClass: string;
}

/**
 * The target of each cloud a cell may name in `cellplane:cells[].cloud`, made when a cell first asks for it: a
 * stack of local cells never needs the public names cluster targets are built with.
 */
export function cellTargets(settings: TargetSettings): (cloud: Cloud) => CellTarget {
    const names = (): EdgeNames => {
        if (!settings.names) throw new Error("cluster cells need cellplane:dnsZone (the schema requires it)");
        return settings.names;
    };
    const makers: Record<Cloud, () => CellTarget> = {
        aws: () => awsTarget(names()),
        azure: () => azureTarget(names(), settings.azureDnsResourceGroup!),
        kubernetes: () => kubernetesTarget(settings.cells, names(), settings.gatewayClass),
        local: () =>
            localTarget(settings.stateDir, {
                certificates: settings.localTls ? new LocalCertificates() : undefined,
                metrics: settings.localMetrics,
                streaming: settings.localStreaming,
                jobSchedules: settings.localJobSchedules,
            }),
    };
    const made = new Map<Cloud, CellTarget>();
    return (cloud) => {
        if (!made.has(cloud)) made.set(cloud, makers[cloud]());
        return made.get(cloud)!;
    };
}
