import type { PolicyResource } from "@pulumi/policy";
import { auditRetentionDays } from "../model/audit";
import { describe, stackPolicy } from "./lib";
import { T } from "./types";

/** Resources created beside `r`, by the same component: where a cell puts what records `r`. */
const siblingsOf = (r: PolicyResource, resources: PolicyResource[]) =>
    resources.filter((s) => s !== r && s.parent !== undefined && s.parent.urn === r.parent?.urn);

const MINIMUM_RETENTION = auditRetentionDays(false);

export const networkFlowLogs = stackPolicy({
    name: "audit-network-flow-logs",
    description: "Every VPC and VNet of a cell records its flows (VPC Flow Logs of all traffic, VNet flow logs), beside the network.",
    validateStack: ({ resources }, report) => {
        for (const vpc of resources.filter((r) => r.type === T.vpc)) {
            if (!siblingsOf(vpc, resources).some((s) => s.type === T.flowLog && s.props.trafficType === "ALL"))
                report(
                    `${describe(vpc)} records no flow logs. Add an ec2.FlowLog of trafficType "ALL" into the cell's audit trail.`,
                    vpc.urn,
                );
        }
        for (const vnet of resources.filter((r) => r.type === T.virtualNetwork)) {
            if (!siblingsOf(vnet, resources).some((s) => s.type === T.azureFlowLog && s.props.enabled !== false))
                report(
                    `${describe(vnet)} records no flow logs. Add a network.FlowLog targeting it into the cell's audit storage account.`,
                    vnet.urn,
                );
        }
    },
});

export const serviceAuditLogs = stackPolicy({
    name: "audit-service-logs",
    description:
        "Every store and cluster of a cell records who used it: RDS exports its server log, MSK its broker logs, S3 buckets their access logs, EKS its audit log; Flexible Server, Event Hubs, storage accounts and AKS send theirs through a diagnostic setting.",
    validateStack: ({ resources }, report) => {
        const logged = new Set(resources.filter((r) => r.type === T.bucketLogging).map((l) => l.props.bucket));
        const logTargets = new Set(resources.filter((r) => r.type === T.bucketLogging).map((l) => l.props.targetBucket));
        const problems: [PolicyResource, string | false][] = resources.map((r) => {
            switch (r.type) {
                case T.rds:
                    return [
                        r,
                        !(r.props.enabledCloudwatchLogsExports ?? []).includes("postgresql") &&
                            'Set enabledCloudwatchLogsExports: ["postgresql", "upgrade"].',
                    ];
                case T.msk:
                    return [
                        r,
                        r.props.loggingInfo?.brokerLogs?.cloudwatchLogs?.enabled !== true &&
                            "Send loggingInfo.brokerLogs to a CloudWatch log group of the cell.",
                    ];
                case T.bucket:
                    // The bucket that receives access logs does not log its own (S3 would log its own deliveries).
                    return [
                        r,
                        !logged.has(r.props.bucket) &&
                            !logTargets.has(r.props.bucket) &&
                            "Add an s3.BucketLogging into the cell's audit bucket.",
                    ];
                case T.eks:
                    return [r, !(r.props.enabledClusterLogTypes ?? []).includes("audit") && 'Add "audit" to enabledClusterLogTypes.'];
                case T.flexibleServer:
                case T.eventHubsNamespace:
                case T.storageAccount:
                case T.aks:
                    return [
                        r,
                        !siblingsOf(r, resources).some(
                            (s) => s.type === T.diagnosticSetting && (s.props.logs ?? []).some((l: { enabled?: boolean }) => l.enabled),
                        ) && "Add a monitor.DiagnosticSetting beside it that sends its logs to the cell's audit workspace.",
                    ];
                default:
                    return [r, false];
            }
        });
        for (const [r, fix] of problems) if (fix) report(`${describe(r)} keeps no record of who used it. ${fix}`, r.urn);
    },
});

export const auditRecordsKept = stackPolicy({
    name: "audit-records-kept",
    description: `Audit records are encrypted with the cell's key where the service allows one (CloudWatch log groups) and kept at least ${MINIMUM_RETENTION} days.`,
    validateStack: ({ resources }, report) => {
        for (const group of resources.filter((r) => r.type === T.logGroup)) {
            if (!group.props.kmsKeyId)
                report(`${describe(group)} is not encrypted with the cell's key. Set kmsKeyId to the cell's KMS key.`, group.urn);
            if (!(group.props.retentionInDays >= MINIMUM_RETENTION))
                report(
                    `${describe(group)} keeps its records ${group.props.retentionInDays ?? "forever, unbounded"} days. Set retentionInDays to at least ${MINIMUM_RETENTION}.`,
                    group.urn,
                );
        }
        for (const workspace of resources.filter((r) => r.type === T.logAnalyticsWorkspace)) {
            if (!(workspace.props.retentionInDays >= MINIMUM_RETENTION))
                report(
                    `${describe(workspace)} keeps its records ${workspace.props.retentionInDays ?? "the default"} days. Set retentionInDays to at least ${MINIMUM_RETENTION}.`,
                    workspace.urn,
                );
        }
    },
});

/** The `audit-logging` group: what a cell records about what happened in it, and how long. */
export const AUDIT_LOGGING_POLICIES = [networkFlowLogs, serviceAuditLogs, auditRecordsKept];
