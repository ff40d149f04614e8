import * as pulumi from "@pulumi/pulumi";
import { MockedResource, ProgramRun, runStack } from "../../offline/runStack";
import { ConfigError, parseStackConfig } from "../../model/config";

export * from "../../offline/runStack";

export function ofType(run: ProgramRun, type: string): MockedResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** What a cluster's Prometheus is told to scrape (monitors by name) and how many rule sets it evaluates. */
export function monitoringOf(run: ProgramRun) {
    const names = (kind: string) =>
        ofType(run, `kubernetes:monitoring.coreos.com/v1:${kind}`)
            .map((m) => m.inputs.metadata.name as string)
            .sort();
    return { serviceMonitors: names("ServiceMonitor"), podMonitors: names("PodMonitor"), rules: names("PrometheusRule").length };
}

export function ofCell(run: ProgramRun, cellId: string): MockedResource[] {
    return run.resources.filter((r) => r.cell === cellId);
}

/** A stack of a single cell, for the per-target tests. */
export function singleCellStack(
    cell: { cloud: string; region: string; residency: string; size: string; kubeContext?: string; operators?: string },
    environment: "dev" | "prod",
    retentionDays = 2555,
    /** More `cellplane:*` settings of the stack, as `adminCidrs`. */
    more: Record<string, unknown> = {},
) {
    return runStack(
        {
            environment,
            owner: "data-platform",
            costCenter: "cc-1",
            retentionDays,
            dnsZone: "cellplane.example.com",
            azureDnsResourceGroup: "cellplane-dns",
            ...more,
            cells: [{ id: "cell-1", ...cell }],
            tenants: [{ id: "acme", residency: cell.residency }],
        },
        environment,
    );
}

/** The only resource of a type; fails if there are none or several. */
export function single(run: ProgramRun, type: string): MockedResource {
    const found = ofType(run, type);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0];
}

/** The resource of a name; fails if there is none. */
export function named(run: ProgramRun, name: string): MockedResource {
    const found = run.resources.find((r) => r.name === name && !r.type.startsWith("cellplane:"));
    if (!found) throw new Error(`no resource named ${name}`);
    return found;
}

/** The plain value of an input Pulumi sent as a secret; fails if it was sent in the clear. */
export function secretValue(input: unknown): unknown {
    const envelope = input as Record<string, unknown> | undefined;
    if (envelope?.[pulumi.runtime.specialSigKey] !== pulumi.runtime.specialSecretSig)
        throw new Error(`not a secret: ${JSON.stringify(input)}`);
    return envelope.value;
}

export const CLICKHOUSE_INSTALLATION = "kubernetes:clickhouse.altinity.com/v1:ClickHouseInstallation";
export const KEEPER_INSTALLATION = "kubernetes:clickhouse-keeper.altinity.com/v1:ClickHouseKeeperInstallation";

/** The problems a config is rejected with (fails the test if it is accepted). */
export function problemsOf(raw: unknown): string[] {
    try {
        parseStackConfig(raw);
    } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
    }
    throw new Error("configuration was accepted");
}
