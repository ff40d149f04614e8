import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import type * as pulumi from "@pulumi/pulumi";
import type { CellConfig } from "../../model/config";
import { kubernetesLabelKey, sharedByCells } from "../../model/labels";
import type {
    AppOptions,
    AppService,
    AppSpec,
    CellContext,
    CellPlatform,
    CellTarget,
    ClickHouseCluster,
    LakehouseStores,
    LakeReaders,
    StoreAccess,
    StreamOperators,
} from "../platform";
import { LakehouseJobs } from "./lakehouseJobs";
import type { JobIdentity } from "./entraTokenSidecar";
import { StreamingJob } from "./streamingJob";
import type { KafkaConnection } from "../../model/connections";
import { AppDeployment, type AppIdentity } from "./appDeployment";
import { generatedPassword } from "../secrets";
import type { TenantDirectory } from "../../model/tenantDirectory";
import { ClickHouseOnKubernetes, type PodIdentityBinding } from "./clickhouse";
import type { ColdDisk } from "../coldStorage";
import { CloudNativePostgres } from "./cloudNativePostgres";
import { ALL_OPERATORS, ANALYTICS_OPERATORS, ClusterOperators } from "./clusterOperators";
import { CellNetworkPolicies, type EgressRule } from "./networkPolicies";
import { certManager, type ClusterEdge, clusterAppUrl, isPublic, publicNamesOf, routeOf } from "./edge";
import { GatewayEdge } from "./gatewayEdge";
import type { EdgeNames } from "../../model/edge";
import { SeaweedfsObjectStore } from "./seaweedfsObjectStore";
import { StrimziKafka } from "./strimziKafka";
import { tenantDirectoryConfigMap } from "./tenantDirectory";

/** The in-cluster layer every target with a Kubernetes cluster shares: ClickHouse, the stream operators' jobs and the apps. */
export class InClusterParts {
    /** The cell's data namespace, which the cluster's operators watch. */
    readonly dataNamespace: pulumi.Output<string>;

    private readonly edge: ClusterEdge;

    constructor(
        private readonly context: CellContext,
        private readonly provider: KubernetesProvider,
        readonly operators: ClusterOperators,
        egress: readonly EgressRule[],
        edgeOf: (namespace: pulumi.Output<string>) => ClusterEdge,
    ) {
        this.dataNamespace = operators.namespaces[context.cell.id];
        this.edge = edgeOf(this.dataNamespace);
        new CellNetworkPolicies(
            `${context.cell.id}-network-policies`,
            { context, namespace: this.dataNamespace, egress, edgePeers: this.edge.peers },
            this.opts(),
        );
    }

    /**
     * The parts of a cell whose cluster is its own (EKS, AKS): the cloud serves Postgres and Kafka, which its pods
     * reach through `egress`.
     */
    static onOwnCluster(
        context: CellContext,
        provider: KubernetesProvider,
        egress: readonly EgressRule[],
        edgeOf: (namespace: pulumi.Output<string>) => ClusterEdge,
    ): InClusterParts {
        const { cell, labels, parent } = context;
        const operators = new ClusterOperators(
            `${cell.id}-operators`,
            {
                operators: ANALYTICS_OPERATORS,
                mode: cell.operators ?? "managed",
                repository: context.chartRepository,
                cells: [{ id: cell.id, labels: labels.kubernetes }],
                labels: labels.kubernetes,
                storageClass: cell.storageClass,
            },
            { parent, providers: [provider] },
        );
        return new InClusterParts(context, provider, operators, egress, edgeOf);
    }

    clickhouse(coldDisk: pulumi.Output<ColdDisk>, identity?: PodIdentityBinding, lakeReaders?: LakeReaders): ClickHouseCluster {
        return new ClickHouseOnKubernetes(
            `${this.context.cell.id}-clickhouse`,
            {
                context: this.context,
                namespace: this.dataNamespace,
                coldDisk,
                lakeReaders,
                operator: this.operators.release("clickhouse"),
                monitoring: this.operators.release("monitoring"),
                identity,
            },
            this.opts(),
        );
    }

    streamOperators(): StreamOperators {
        return { jobsNamespace: this.dataNamespace };
    }

    lakehouseJobs(stores: LakehouseStores, opts: AppOptions, identity?: JobIdentity): LakehouseJobs {
        return new LakehouseJobs(
            `${this.context.cell.id}-lakehouse`,
            { context: this.context, namespace: this.dataNamespace, stores, operator: this.operators.release("spark"), identity },
            { ...opts, providers: [this.provider] },
        );
    }

    streamingJob(kafka: StoreAccess<KafkaConnection>, opts: AppOptions, identity?: JobIdentity): StreamingJob {
        return new StreamingJob(
            `${this.context.cell.id}-streaming`,
            { context: this.context, namespace: this.dataNamespace, kafka, operator: this.operators.release("flink"), identity },
            { ...opts, providers: [this.provider] },
        );
    }

    /** Runs the app; a public one is published at its public name, which is then its URL. */
    app(spec: AppSpec, opts: AppOptions, identity?: AppIdentity): AppService {
        const app = spec.bundle.app;
        const publicUrl = isPublic(app) ? `https://${routeOf(app, this.edge.names).host}` : undefined;
        const deployment = new AppDeployment(
            `${this.context.cell.id}-${app}`,
            {
                context: this.context,
                namespace: this.dataNamespace,
                spec,
                publicUrl,
                monitoring: this.operators.release("monitoring"),
                identity,
            },
            { ...opts, providers: [this.provider] },
        );
        if (isPublic(app)) this.edge.expose(app, deployment.service);
        return deployment;
    }

    secret(name: string, bytes: number): pulumi.Output<string> {
        // Letters and digits: 2 characters per byte carry more than its 8 bits.
        return generatedPassword(`${this.context.cell.id}-${name}`, this.context.parent, bytes * 2);
    }

    tenantDirectory(directory: TenantDirectory): void {
        tenantDirectoryConfigMap(this.context, this.dataNamespace, directory, { parent: this.context.parent, provider: this.provider });
    }

    opts() {
        return { parent: this.context.parent, providers: [this.provider] };
    }
}

/** A kube context as a resource name: lower case, with anything but letters and digits as '-'. */
export const clusterNameOf = (kubeContext: string) => `kube-${kubeContext.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;

/** The provider and operators of one cluster, shared by every kubernetes cell on it. */
function sharedCluster(kubeContext: string, cells: readonly CellConfig[], context: CellContext) {
    const name = clusterNameOf(kubeContext);
    const provider = new KubernetesProvider(name, { context: kubeContext, enableServerSideApply: true });
    const cellLabel = kubernetesLabelKey("cellplane:cell");
    // The cells of one cluster agree on it (model/config.ts).
    const mode = cells.find((c) => c.kubeContext === kubeContext)?.operators ?? "managed";
    const operators = new ClusterOperators(
        `${name}-operators`,
        {
            operators: ALL_OPERATORS,
            mode,
            repository: context.chartRepository,
            cells: cells
                .filter((c) => c.kubeContext === kubeContext)
                .map((c) => ({ id: c.id, labels: { ...context.labels.kubernetes, [cellLabel]: c.id } })),
            labels: sharedByCells(context.labels.kubernetes, name),
            // A cluster's cells may name different classes; its one Prometheus takes the first cell's.
            storageClass: cells.find((c) => c.kubeContext === kubeContext && c.storageClass)?.storageClass,
        },
        { providers: [provider] },
    );
    // Certificates of the cluster's Gateways come from Let's Encrypt through cert-manager, one install per cluster.
    const certificates = certManager(
        `${name}-cert-manager`,
        { gatewayApi: true, mode, repository: context.chartRepository },
        { parent: operators, provider },
    );
    return { provider, operators, certificates };
}

/**
 * Any Kubernetes cluster: every part, databases included, runs in-cluster under its operator. Cells that name the
 * same kube context share one provider and one install of the operators, outside any one cell's tree, so removing
 * a cell leaves the others' operators in place.
 */
export function kubernetesTarget(cells: readonly CellConfig[], names: EdgeNames, gatewayClass: string): CellTarget {
    const clusters = new Map<string, ReturnType<typeof sharedCluster>>();
    return {
        platform(context: CellContext): CellPlatform {
            const { cell } = context;
            const kubeContext = cell.kubeContext!;
            if (!clusters.has(kubeContext)) clusters.set(kubeContext, sharedCluster(kubeContext, cells, context));
            const { provider, operators, certificates } = clusters.get(kubeContext)!;
            // Every part runs in the cell's namespace, so its pods need nothing out of the cluster but HTTPS.
            const edge = new GatewayEdge(
                `${cell.id}-edge`,
                {
                    context,
                    namespace: operators.namespaces[cell.id],
                    names: publicNamesOf(context, names),
                    gatewayClass,
                    certificates,
                },
                { parent: context.parent, providers: [provider] },
            );
            const inCluster = new InClusterParts(context, provider, operators, [], () => edge);
            const namespace = inCluster.dataNamespace;
            return {
                postgres: () =>
                    new CloudNativePostgres(
                        `${cell.id}-postgres`,
                        { context, namespace, operator: operators.release("cloudnativePg"), monitoring: operators.release("monitoring") },
                        inCluster.opts(),
                    ),
                kafka: () =>
                    new StrimziKafka(
                        `${cell.id}-kafka`,
                        { context, namespace, operator: operators.release("strimzi"), monitoring: operators.release("monitoring") },
                        inCluster.opts(),
                    ),
                clickhouse: (objectStore, lake) => inCluster.clickhouse(objectStore.coldDisk, undefined, lake),
                objectStore: () => {
                    const store = new SeaweedfsObjectStore(
                        `${cell.id}-object-store`,
                        {
                            context,
                            namespace,
                            monitoring: operators.release("monitoring"),
                            publicEndpoint: `https://${edge.names.cell}`,
                        },
                        inCluster.opts(),
                    );
                    edge.exposeFiles(store.files);
                    return store;
                },
                streamOperators: () => inCluster.streamOperators(),
                lakehouseJobs: (stores, jobOpts) => inCluster.lakehouseJobs(stores, jobOpts),
                streamingJob: (kafka, jobOpts) => inCluster.streamingJob(kafka, jobOpts),
                tenantDirectory: (directory) => inCluster.tenantDirectory(directory),
                app: (spec, appOpts) => inCluster.app(spec, appOpts),
                secret: (name, bytes) => inCluster.secret(name, bytes),
            };
        },
        appUrl: clusterAppUrl(names),
    };
}
