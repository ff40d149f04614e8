import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import type { CellConfig } from "../../model/config";
import type { AppName } from "../apps/bundle";
import type {
    AppOptions,
    AppService,
    AppSpec,
    CellContext,
    CellPlatform,
    CellTarget,
    ClickHouseCluster,
    StreamOperators,
} from "../platform";
import { AppDeployment, inClusterAppUrl } from "./appDeployment";
import type { TenantDirectory } from "../../model/tenantDirectory";
import { ClickHouseOnKubernetes, type PodIdentityBinding } from "./clickhouse";
import { CloudNativePostgres } from "./cloudNativePostgres";
import { SeaweedfsObjectStore } from "./seaweedfsObjectStore";
import { CellNamespaces, dataNamespaceOf } from "./namespaces";
import { StrimziKafka } from "./strimziKafka";
import { FlinkAndSparkOperators } from "./streamOperators";
import { tenantDirectoryConfigMap } from "./tenantDirectory";

/** The in-cluster layer every target with a Kubernetes cluster shares: ClickHouse and the stream operators. */
export class InClusterParts {
    readonly namespaces: CellNamespaces;

    constructor(
        private readonly context: CellContext,
        private readonly provider: KubernetesProvider,
    ) {
        this.namespaces = new CellNamespaces(`${context.cell.id}-namespaces`, { context }, this.opts());
    }

    clickhouse(identity?: PodIdentityBinding): ClickHouseCluster {
        const { data, operators } = this.namespaces;
        return new ClickHouseOnKubernetes(
            `${this.context.cell.id}-clickhouse`,
            { context: this.context, namespace: data, operatorNamespace: operators, identity },
            this.opts(),
        );
    }

    streamOperators(): StreamOperators {
        const { data, operators } = this.namespaces;
        return new FlinkAndSparkOperators(
            `${this.context.cell.id}-stream-operators`,
            { context: this.context, jobsNamespace: data, operatorNamespace: operators },
            this.opts(),
        );
    }

    app(spec: AppSpec, opts: AppOptions): AppService {
        return new AppDeployment(
            `${this.context.cell.id}-${spec.bundle.app}`,
            { context: this.context, namespace: this.namespaces.data, spec },
            { ...opts, providers: [this.provider] },
        );
    }

    tenantDirectory(directory: TenantDirectory): void {
        tenantDirectoryConfigMap(this.context, this.namespaces.data, directory, { parent: this.context.parent, provider: this.provider });
    }

    opts() {
        return { parent: this.context.parent, providers: [this.provider] };
    }
}

/** Any Kubernetes cluster: every part, databases included, runs in-cluster under its operator. */
export const kubernetesTarget: CellTarget = {
    platform(context: CellContext): CellPlatform {
        const { cell, parent } = context;
        const provider = new KubernetesProvider(`${cell.id}-k8s`, { context: cell.kubeContext, enableServerSideApply: true }, { parent });
        const inCluster = new InClusterParts(context, provider);
        const { data, operators } = inCluster.namespaces;
        return {
            postgres: () =>
                new CloudNativePostgres(
                    `${cell.id}-postgres`,
                    { context, namespace: data, operatorNamespace: operators },
                    inCluster.opts(),
                ),
            kafka: () => new StrimziKafka(`${cell.id}-kafka`, { context, namespace: data, operatorNamespace: operators }, inCluster.opts()),
            clickhouse: () => inCluster.clickhouse(),
            objectStore: () => new SeaweedfsObjectStore(`${cell.id}-object-store`, { context, namespace: data }, inCluster.opts()),
            streamOperators: () => inCluster.streamOperators(),
            tenantDirectory: (directory) => inCluster.tenantDirectory(directory),
            app: (spec, appOpts) => inCluster.app(spec, appOpts),
        };
    },
    appUrl: inClusterAppUrlOf,
};

/** Apps of targets with a cluster answer at their Service in the cell's data namespace. */
export function inClusterAppUrlOf(cell: CellConfig, app: AppName): string {
    return inClusterAppUrl(dataNamespaceOf(cell.id), app);
}
