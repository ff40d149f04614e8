import * as networking from "@pulumi/kubernetes/networking/v1";
import type * as k8s from "@pulumi/kubernetes/types/input";
import { ACME_SOLVER_LABEL } from "./edge";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";
import { APP_PORT } from "./appDeployment";
import { CLICKHOUSE_POD_LABELS, CLICKHOUSE_TLS_PORTS } from "./clickhouse";
import { OPERATORS_NAMESPACE } from "./clusterOperators";

/** Traffic a cell's pods may send out of the cluster: to a network, on some TCP ports. */
export interface EgressRule {
    /** Why it is allowed, as the policy's name: lower case and dashes. */
    name: string;
    cidr: string;
    ports: { port: number; endPort?: number }[];
}

export interface CellNetworkPoliciesArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    /** What the cell's managed services outside the cluster need (RDS, MSK, Flexible Server, Event Hubs). */
    egress: readonly EgressRule[];
    /** Where the cell's edge sends public traffic from (an ALB's VPC addresses, NGINX's namespace, a Gateway's). */
    edgePeers: pulumi.Input<object>[];
}

const NAMESPACE_NAME = "kubernetes.io/metadata.name";
const ALL_PODS = {};
/** Where cert-manager's HTTP-01 solver pods answer the CA's challenges. */
const ACME_SOLVER_PORT = 8089;
const tcp = (port: number, endPort?: number) => ({ protocol: "TCP", port, ...(endPort ? { endPort } : {}) });

/**
 * Default-deny for the cell's data namespace, then only the paths a cell needs:
 * - its pods with each other (apps → stores, ClickHouse → Keeper, brokers and Postgres replicas with their peers),
 *   except that ClickHouse answers the cell's pods on its TLS ports only;
 * - DNS, and HTTPS out: the cloud's APIs (S3, KMS, STS, Entra ID, Blob) and the cluster's API server, which
 *   CloudNativePG's instances, Strimzi's entity operator and the Flink and Spark jobs call. A NetworkPolicy cannot
 *   name a cloud service, only addresses, so this one is by port;
 * - the cluster's operators to the workloads they manage;
 * - the cell's edge to its public apps (ingest, export, router), and to cert-manager's HTTP-01 solvers;
 * - the target's own egress (its managed stores).
 */
export class CellNetworkPolicies extends pulumi.ComponentResource {
    constructor(name: string, args: CellNetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:CellNetworkPolicies", name, {}, opts);
        const { labels } = args.context;
        const policy = (policyName: string, spec: k8s.networking.v1.NetworkPolicySpec) =>
            new networking.NetworkPolicy(
                `${name}-${policyName}`,
                { metadata: { name: policyName, namespace: args.namespace, labels: labels.kubernetes }, spec },
                { parent: this },
            );

        policy("default-deny", { podSelector: ALL_PODS, policyTypes: ["Ingress", "Egress"] });
        policy("within-cell", {
            podSelector: { matchExpressions: Object.keys(CLICKHOUSE_POD_LABELS).map((key) => ({ key, operator: "DoesNotExist" })) },
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: [{ podSelector: ALL_PODS }] }],
            egress: [{ to: [{ podSelector: ALL_PODS }] }],
        });
        policy("clickhouse", {
            podSelector: { matchLabels: CLICKHOUSE_POD_LABELS },
            policyTypes: ["Ingress", "Egress"],
            ingress: [
                // The cell's clients over TLS only; the plain ports answer the operator and the servers themselves.
                { from: [{ podSelector: ALL_PODS }], ports: [tcp(CLICKHOUSE_TLS_PORTS.https), tcp(CLICKHOUSE_TLS_PORTS.nativeTls)] },
                { from: [{ podSelector: { matchLabels: CLICKHOUSE_POD_LABELS } }] },
            ],
            egress: [{ to: [{ podSelector: ALL_PODS }] }],
        });
        policy("dns", {
            podSelector: ALL_PODS,
            policyTypes: ["Egress"],
            egress: [
                {
                    to: [
                        {
                            namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: "kube-system" } },
                            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
                        },
                    ],
                    ports: [{ protocol: "UDP", port: 53 }, tcp(53)],
                },
            ],
        });
        policy("https-out", {
            podSelector: ALL_PODS,
            policyTypes: ["Egress"],
            egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(443), tcp(6443)] }],
        });
        policy("from-operators", {
            podSelector: ALL_PODS,
            policyTypes: ["Ingress"],
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: OPERATORS_NAMESPACE } } }] }],
        });
        policy("from-edge", {
            podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["ingest", "export", "router"] }] },
            policyTypes: ["Ingress"],
            ingress: [{ from: args.edgePeers, ports: [tcp(APP_PORT)] }],
        });
        policy("acme-solver", {
            podSelector: { matchExpressions: [{ key: ACME_SOLVER_LABEL, operator: "Exists" }] },
            policyTypes: ["Ingress"],
            ingress: [{ from: args.edgePeers, ports: [tcp(ACME_SOLVER_PORT)] }],
        });
        for (const rule of args.egress) {
            policy(rule.name, {
                podSelector: ALL_PODS,
                policyTypes: ["Egress"],
                egress: [{ to: [{ ipBlock: { cidr: rule.cidr } }], ports: rule.ports.map((p) => tcp(p.port, p.endPort)) }],
            });
        }
        this.registerOutputs({});
    }
}
