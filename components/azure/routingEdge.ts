import * as authorization from "@pulumi/azure-native/authorization";
import * as dns from "@pulumi/azure-native/dns";
import * as network from "@pulumi/azure-native/network";
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import type * as core from "@pulumi/kubernetes/core/v1";
import * as networking from "@pulumi/kubernetes/networking/v1";
import type { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { acmeCertificate, certManager, type ClusterEdge, ingressRule, type PublicApp, type PublicNames, routeOf } from "../kubernetes/edge";
import { CLUSTER_KINDS } from "../../model/customResources";
import { RequiredCrds } from "../kubernetes/requiredCrds";
import type { CellContext } from "../platform";
import { NETWORK_CONTRIBUTOR } from "./aksCluster";

export interface RoutingEdgeArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    clusterPrincipalId: pulumi.Input<string>;
    namespace: pulumi.Input<string>;
    names: PublicNames;
    /** The Azure DNS zone of `cellplane:dnsZone`, and its resource group (`cellplane:azureDnsResourceGroup`). */
    dnsZone: string;
    dnsResourceGroup: string;
    kubernetes: KubernetesProvider;
}

/** The ingress class of the cell's NGINX, and where the app routing add-on runs it. */
const INGRESS_CLASS = "cellplane-nginx";
const ADD_ON_NAMESPACE = "app-routing-system";
const TLS_SECRET = "cellplane-public-tls";

/**
 * Azure: the AKS app routing add-on runs the cell's NGINX behind a public Standard load balancer on a static
 * address of the cell's, Azure DNS points the cell's public names at it, and cert-manager keeps a Let's Encrypt
 * certificate of them (HTTP-01 through the same NGINX).
 */
export class RoutingEdge extends pulumi.ComponentResource implements ClusterEdge {
    readonly peers = [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ADD_ON_NAMESPACE } } }];
    private readonly controller: apiextensions.CustomResource;

    constructor(
        name: string,
        private readonly args: RoutingEdgeArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("cellplane:azure:RoutingEdge", name, {}, opts);
        const { context, names } = args;
        const k8s = { parent: this, provider: args.kubernetes };
        const address = new network.PublicIPAddress(
            `${name}-address`,
            {
                resourceGroupName: args.resourceGroupName,
                location: context.cell.region,
                sku: { name: "Standard", tier: "Regional" },
                publicIPAllocationMethod: "Static",
                publicIPAddressVersion: "IPv4",
                zones: context.production ? ["1", "2", "3"] : undefined,
                tags: context.labels.tags,
            },
            { parent: this },
        );
        // AKS attaches the address to its load balancer as the cluster's identity.
        const attach = new authorization.RoleAssignment(
            `${name}-address-network-contributor`,
            {
                scope: address.id,
                roleDefinitionId: NETWORK_CONTRIBUTOR,
                principalId: args.clusterPrincipalId,
                principalType: "ServicePrincipal",
            },
            { parent: this },
        );
        // The application routing add-on of AKS defines the controller's kind.
        const appRouting = new RequiredCrds(`${name}-app-routing`, CLUSTER_KINDS.aksAppRouting.kinds, k8s);
        this.controller = new apiextensions.CustomResource(
            `${name}-nginx`,
            {
                apiVersion: "approuting.kubernetes.azure.com/v1alpha1",
                kind: "NginxIngressController",
                metadata: { name: `${context.cell.id}-nginx`, labels: context.labels.kubernetes },
                spec: {
                    ingressClassName: INGRESS_CLASS,
                    controllerNamePrefix: "cellplane",
                    loadBalancerAnnotations: {
                        "service.beta.kubernetes.io/azure-pip-name": address.name,
                        "service.beta.kubernetes.io/azure-load-balancer-resource-group": args.resourceGroupName,
                    },
                },
            },
            { ...k8s, dependsOn: [attach, appRouting] },
        );
        for (const [label, host] of Object.entries({ cell: names.cell, router: names.router })) {
            if (!host) continue;
            new dns.RecordSet(
                `${name}-${label}-dns`,
                {
                    resourceGroupName: args.dnsResourceGroup,
                    zoneName: args.dnsZone,
                    relativeRecordSetName: host.slice(0, -(args.dnsZone.length + 1)),
                    recordType: "A",
                    ttl: 300,
                    aRecords: [{ ipv4Address: address.ipAddress.apply((ip) => ip!) }],
                },
                { parent: this },
            );
        }
        const issuer = certManager(
            `${name}-cert-manager`,
            { gatewayApi: false, mode: context.cell.operators ?? "managed", repository: context.chartRepository },
            k8s,
        );
        acmeCertificate(
            name,
            {
                namespace: args.namespace,
                names,
                secretName: TLS_SECRET,
                labels: context.labels.kubernetes,
                solver: { ingress: { ingressClassName: INGRESS_CLASS } },
            },
            { ...k8s, dependsOn: [issuer, this.controller] },
        );
        this.registerOutputs({ address: address.ipAddress });
    }

    get names(): PublicNames {
        return this.args.names;
    }

    expose(app: PublicApp, service: core.Service): void {
        const { context, names, namespace, kubernetes } = this.args;
        const { host } = routeOf(app, names);
        new networking.Ingress(
            `${context.cell.id}-${app}-ingress`,
            {
                metadata: { name: app, namespace, labels: context.labels.kubernetes },
                spec: {
                    ingressClassName: INGRESS_CLASS,
                    tls: [{ hosts: [host], secretName: TLS_SECRET }],
                    rules: [ingressRule(app, names, service)],
                },
            },
            { parent: this, provider: kubernetes, dependsOn: [this.controller] },
        );
    }
}
