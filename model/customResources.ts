import { VERSIONS } from "./versions";

/** A kind of custom resource the cells create, and the CustomResourceDefinition (`<plural>.<group>`) that defines it. */
export interface CustomResourceKind {
    group: string;
    kind: string;
    plural: string;
}

export const crdNameOf = (kind: CustomResourceKind) => `${kind.plural}.${kind.group}`;

const chartName = (pinned: { kind: string }) => pinned.kind.replace(/^chart:/, "");

/**
 * The custom resources each operator of a cell's cluster defines, and the chart that installs it where the cell
 * manages its operators. With `operators: external` the cluster's own team installs them, and the cell reads each
 * CRD instead, so a missing one stops `pulumi preview`.
 */
export const OPERATOR_KINDS = {
    strimzi: {
        chart: chartName(VERSIONS.strimziChart),
        kinds: [
            { group: "kafka.strimzi.io", kind: "Kafka", plural: "kafkas" },
            { group: "kafka.strimzi.io", kind: "KafkaNodePool", plural: "kafkanodepools" },
            { group: "kafka.strimzi.io", kind: "KafkaTopic", plural: "kafkatopics" },
            { group: "kafka.strimzi.io", kind: "KafkaUser", plural: "kafkausers" },
        ],
    },
    cloudnativePg: {
        chart: chartName(VERSIONS.cloudnativePgChart),
        kinds: [{ group: "postgresql.cnpg.io", kind: "Cluster", plural: "clusters" }],
    },
    clickhouse: {
        chart: chartName(VERSIONS.clickhouseOperatorChart),
        kinds: [
            { group: "clickhouse.altinity.com", kind: "ClickHouseInstallation", plural: "clickhouseinstallations" },
            { group: "clickhouse-keeper.altinity.com", kind: "ClickHouseKeeperInstallation", plural: "clickhousekeeperinstallations" },
        ],
    },
    flink: {
        chart: chartName(VERSIONS.flinkOperatorChart),
        kinds: [{ group: "flink.apache.org", kind: "FlinkDeployment", plural: "flinkdeployments" }],
    },
    spark: {
        chart: chartName(VERSIONS.sparkOperatorChart),
        kinds: [{ group: "sparkoperator.k8s.io", kind: "ScheduledSparkApplication", plural: "scheduledsparkapplications" }],
    },
    monitoring: {
        chart: chartName(VERSIONS.kubePrometheusStackChart),
        kinds: [
            { group: "monitoring.coreos.com", kind: "ServiceMonitor", plural: "servicemonitors" },
            { group: "monitoring.coreos.com", kind: "PodMonitor", plural: "podmonitors" },
            { group: "monitoring.coreos.com", kind: "PrometheusRule", plural: "prometheusrules" },
        ],
    },
} as const satisfies Record<string, { chart: string; kinds: readonly CustomResourceKind[] }>;

/** Custom resources of what a cluster brings itself, whichever way its operators are run: the cell only reads their CRDs. */
export const CLUSTER_KINDS = {
    certManager: {
        chart: chartName(VERSIONS.certManagerChart),
        kinds: [
            { group: "cert-manager.io", kind: "Certificate", plural: "certificates" },
            { group: "cert-manager.io", kind: "Issuer", plural: "issuers" },
        ],
    },
    gatewayApi: {
        kinds: [
            { group: "gateway.networking.k8s.io", kind: "Gateway", plural: "gateways" },
            { group: "gateway.networking.k8s.io", kind: "HTTPRoute", plural: "httproutes" },
        ],
    },
    aksAppRouting: {
        kinds: [{ group: "approuting.kubernetes.azure.com", kind: "NginxIngressController", plural: "nginxingresscontrollers" }],
    },
} as const satisfies Record<string, { chart?: string; kinds: readonly CustomResourceKind[] }>;
