import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import type * as core from "@pulumi/kubernetes/core/v1";
import * as networking from "@pulumi/kubernetes/networking/v1";
import * as pulumi from "@pulumi/pulumi";
import { CLUSTER_KINDS } from "../../model/customResources";
import type { CellContext } from "../platform";
import { acmeCertificate, type ClusterEdge, EDGE_BACKEND_PORT, type PublicApp, type PublicNames, routeOf } from "./edge";
import { RequiredCrds } from "./requiredCrds";

export interface GatewayEdgeArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    names: PublicNames;
    /** The cluster's Gateway API implementation (`cellplane:gatewayClass`). */
    gatewayClass: string;
    /** The cluster's cert-manager, which issues the certificate. */
    certificates: pulumi.Resource;
}

const GATEWAY = "cellplane";
const TLS_SECRET = "cellplane-public-tls";

/**
 * Any Kubernetes cluster: a Gateway of the cluster's own GatewayClass in the cell's namespace, HTTPS on 443 for each
 * public name with a certificate cert-manager gets from Let's Encrypt (HTTP-01 on the Gateway's port 80), and an
 * HTTPRoute per app. The names' DNS records point at the Gateway's address, which the cluster's implementation
 * assigns; no DNS provider is assumed.
 */
export class GatewayEdge extends pulumi.ComponentResource implements ClusterEdge {
    // The Gateway implementation's proxies run in a namespace of its own choosing.
    readonly peers = [{ namespaceSelector: {} }];
    private readonly gateway: apiextensions.CustomResource;

    constructor(
        name: string,
        private readonly args: GatewayEdgeArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("cellplane:kubernetes:GatewayEdge", name, {}, opts);
        const labels = args.context.labels.kubernetes;
        const listener = (section: string, hostname: string) => ({
            name: section,
            hostname,
            port: 443,
            protocol: "HTTPS",
            tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: TLS_SECRET }] },
            allowedRoutes: { namespaces: { from: "Same" } },
        });
        // The Gateway API is the cluster's own, as its implementation is.
        const gatewayApi = new RequiredCrds(`${name}-gateway-api`, CLUSTER_KINDS.gatewayApi.kinds, { parent: this });
        this.gateway = new apiextensions.CustomResource(
            `${name}-gateway`,
            {
                apiVersion: "gateway.networking.k8s.io/v1",
                kind: "Gateway",
                metadata: { name: GATEWAY, namespace: args.namespace, labels },
                spec: {
                    gatewayClassName: args.gatewayClass,
                    listeners: [
                        listener("cell", args.names.cell),
                        ...(args.names.router ? [listener("router", args.names.router)] : []),
                        // Only for the CA's HTTP-01 challenges; the apps answer HTTPS only.
                        { name: "acme", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" } } },
                    ],
                },
            },
            { parent: this, dependsOn: [gatewayApi] },
        );
        acmeCertificate(
            name,
            {
                namespace: args.namespace,
                names: args.names,
                secretName: TLS_SECRET,
                labels,
                solver: { gatewayHTTPRoute: { parentRefs: [{ kind: "Gateway", name: GATEWAY, sectionName: "acme" }] } },
            },
            { parent: this, dependsOn: [args.certificates, this.gateway] },
        );
        this.registerOutputs({});
    }

    get names(): PublicNames {
        return this.args.names;
    }

    expose(app: PublicApp, service: core.Service): void {
        const { host, paths } = routeOf(app, this.args.names);
        new apiextensions.CustomResource(
            `${this.args.context.cell.id}-${app}-route`,
            {
                apiVersion: "gateway.networking.k8s.io/v1",
                kind: "HTTPRoute",
                metadata: { name: app, namespace: this.args.namespace, labels: this.args.context.labels.kubernetes },
                spec: {
                    parentRefs: [{ kind: "Gateway", name: GATEWAY, sectionName: app === "router" ? "router" : "cell" }],
                    hostnames: [host],
                    rules: paths.map((path) => ({
                        matches: [{ path: { type: "PathPrefix", value: path } }],
                        backendRefs: [{ name: service.metadata.name, port: EDGE_BACKEND_PORT }],
                    })),
                },
            },
            { parent: this, dependsOn: [this.gateway] },
        );
    }

    /**
     * Publishes the files of the cell's exports bucket at the cell's name, GET only, for tenants' download URLs:
     * the store checks each URL's signature, which it made for this host (the Gateway keeps the Host header).
     */
    exposeFiles(store: { bucket: string; service: string; port: number; podLabels: Record<string, string> }): void {
        const { cell, labels } = this.args.context;
        new apiextensions.CustomResource(
            `${cell.id}-files-route`,
            {
                apiVersion: "gateway.networking.k8s.io/v1",
                kind: "HTTPRoute",
                metadata: { name: "files", namespace: this.args.namespace, labels: labels.kubernetes },
                spec: {
                    parentRefs: [{ kind: "Gateway", name: GATEWAY, sectionName: "cell" }],
                    hostnames: [this.args.names.cell],
                    rules: [
                        {
                            matches: [{ path: { type: "PathPrefix", value: `/${store.bucket}/` }, method: "GET" }],
                            backendRefs: [{ name: store.service, port: store.port }],
                        },
                    ],
                },
            },
            { parent: this, dependsOn: [this.gateway] },
        );
        new networking.NetworkPolicy(
            `${cell.id}-files-from-edge`,
            {
                metadata: { name: "files-from-edge", namespace: this.args.namespace, labels: labels.kubernetes },
                spec: {
                    podSelector: { matchLabels: store.podLabels },
                    policyTypes: ["Ingress"],
                    ingress: [{ from: this.peers, ports: [{ protocol: "TCP", port: store.port }] }],
                },
            },
            { parent: this },
        );
    }
}
