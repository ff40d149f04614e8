import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import type * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import type { AppName } from "../apps/bundle";
import { cellHost, type EdgeNames, PUBLIC_PATHS, routerHost } from "../../model/edge";
import { CLUSTER_KINDS } from "../../model/customResources";
import type { CellContext } from "../platform";
import { APP_PORT, inClusterAppUrl } from "./appDeployment";
import { dataNamespaceOf, type OperatorsMode } from "./clusterOperators";
import { helmRelease, OPERATOR_RESOURCES } from "./charts";
import { RequiredCrds } from "./requiredCrds";

/** The apps a cell publishes: ingest and export at the cell's name, the router (where the cell hosts one) at its residency's. */
export type PublicApp = "ingest" | "export" | "router";
export const isPublic = (app: AppName): app is PublicApp => app === "ingest" || app === "export" || app === "router";

/** A cell's public names: its own, and its residency router's where it hosts that router. */
export interface PublicNames {
    cell: string;
    router?: string;
}

export const publicNamesOf = (context: CellContext, names: EdgeNames): PublicNames => ({
    cell: cellHost(context.cell.id, names),
    ...(context.hostsRouter ? { router: routerHost(context.cell.residency, names) } : {}),
});

/** The public URL of a cluster cell's app, known before anything exists; the consumer has none and answers in-cluster. */
export function publicUrlOf(app: PublicApp, cell: { id: string; residency: CellContext["cell"]["residency"] }, names: EdgeNames): string {
    return `https://${app === "router" ? routerHost(cell.residency, names) : cellHost(cell.id, names)}`;
}

/** Where a cluster target's apps answer: public ones at the cell's names, the consumer at its Service only. */
export const clusterAppUrl =
    (names: EdgeNames) =>
    (cell: { id: string; residency: CellContext["cell"]["residency"] }, app: AppName): string =>
        isPublic(app) ? publicUrlOf(app, cell, names) : inClusterAppUrl(dataNamespaceOf(cell.id), app);

/** The host and paths an app answers at: the router takes every path of its name, the cell's APIs theirs. */
export function routeOf(app: PublicApp, names: PublicNames): { host: string; paths: readonly string[] } {
    return app === "router" ? { host: names.router!, paths: ["/"] } : { host: names.cell, paths: PUBLIC_PATHS[app] };
}

/**
 * How a cluster target puts a cell's apps on the internet, behind TLS for the cell's public names. Each target's
 * edge is its own (an ALB on AWS, the app routing add-on's NGINX on Azure, a Gateway elsewhere); the cell's apps and
 * network policies only see this.
 */
export interface ClusterEdge {
    readonly names: PublicNames;
    /** Who reaches the apps' pods from outside the namespace: the source of the `from-edge` NetworkPolicy. */
    readonly peers: pulumi.Input<object>[];
    /** Publishes the app's Service at its route's host and paths. */
    expose(app: PublicApp, service: core.Service): void;
}

/** The pod label cert-manager gives its HTTP-01 solvers, which answer the CA on port 8089. */
export const ACME_SOLVER_LABEL = "acme.cert-manager.io/http01-solver";

/**
 * cert-manager, once per cluster, for targets whose certificates come from an ACME CA (Azure, Kubernetes); AWS uses
 * ACM. `gatewayApi` turns on its Gateway API support, for HTTP-01 challenges through a Gateway. Where the cluster's
 * team runs its operators (`operators: external`) cert-manager is theirs too, and the cell reads its CRDs instead.
 */
export function certManager(
    name: string,
    args: { gatewayApi: boolean; mode: OperatorsMode; repository?: string },
    opts: pulumi.CustomResourceOptions,
): pulumi.Resource {
    if (args.mode === "external") return new RequiredCrds(`${name}-crds`, CLUSTER_KINDS.certManager.kinds, opts);
    return helmRelease(
        name,
        {
            chart: "certManager",
            namespace: "cert-manager",
            createNamespace: true,
            repository: args.repository,
            values: {
                crds: { enabled: true },
                resources: OPERATOR_RESOURCES,
                webhook: { resources: OPERATOR_RESOURCES },
                cainjector: { resources: OPERATOR_RESOURCES },
                startupapicheck: { resources: OPERATOR_RESOURCES },
                ...(args.gatewayApi
                    ? {
                          config: {
                              apiVersion: "controller.config.cert-manager.io/v1alpha1",
                              kind: "ControllerConfiguration",
                              enableGatewayAPI: true,
                          },
                      }
                    : {}),
            },
        },
        opts,
    );
}

/** Let's Encrypt's production directory: certificates every client trusts. */
const ACME_SERVER = "https://acme-v02.api.letsencrypt.org/directory";

/**
 * A cell's ACME issuer and the certificate of its public names, in its namespace. The issuer answers HTTP-01
 * challenges through `solver` (an ingress class or the cell's Gateway); the certificate lands in `secretName`.
 */
export function acmeCertificate(
    name: string,
    args: { namespace: pulumi.Input<string>; names: PublicNames; secretName: string; solver: object; labels: Record<string, string> },
    opts: pulumi.CustomResourceOptions,
): apiextensions.CustomResource {
    const issuer = new apiextensions.CustomResource(
        `${name}-issuer`,
        {
            apiVersion: "cert-manager.io/v1",
            kind: "Issuer",
            metadata: { name: "cellplane-acme", namespace: args.namespace, labels: args.labels },
            spec: {
                acme: { server: ACME_SERVER, privateKeySecretRef: { name: "cellplane-acme-account" }, solvers: [{ http01: args.solver }] },
            },
        },
        opts,
    );
    return new apiextensions.CustomResource(
        `${name}-certificate`,
        {
            apiVersion: "cert-manager.io/v1",
            kind: "Certificate",
            metadata: { name: args.secretName, namespace: args.namespace, labels: args.labels },
            spec: {
                secretName: args.secretName,
                dnsNames: [args.names.cell, ...(args.names.router ? [args.names.router] : [])],
                issuerRef: { kind: "Issuer", name: "cellplane-acme" },
                privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            },
        },
        { ...opts, dependsOn: [issuer] },
    );
}

/** The port every app's Service answers on, where the edge sends it. */
export const EDGE_BACKEND_PORT = APP_PORT;

/** An Ingress rule sending `host`'s `paths` (prefixes) to the app's Service. */
export function ingressRule(app: PublicApp, names: PublicNames, service: core.Service) {
    const { host, paths } = routeOf(app, names);
    return {
        host,
        http: {
            paths: paths.map((path) => ({
                path,
                pathType: "Prefix",
                backend: { service: { name: service.metadata.name, port: { number: EDGE_BACKEND_PORT } } },
            })),
        },
    };
}
