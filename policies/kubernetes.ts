import { CLUSTER_KINDS, crdNameOf, OPERATOR_KINDS } from "../model/customResources";
import { kubernetesLabelKey } from "../model/labels";
import { describe, PolicySubject, resourcePolicy, stackPolicy, typedPolicy } from "./lib";
import { T } from "./types";
import type { ResourceProps } from "../model/resourceProps";
import type { ResourceValidationPolicy } from "@pulumi/policy";

/**
 * A Spark application's driver and executors as the pods the operator makes of them (sparkoperator.k8s.io/v1beta2):
 * the pod's security context, its token, and one container whose requests are its cores and memory and whose
 * limits its core limit and memory, and its init containers as given (sidecars among them). The driver alone may mount
 * a token (`callsApi`): it asks the API for its executors.
 */
function sparkPodsOf(application: ResourceProps): ResourceProps[] {
    return (["driver", "executor"] as const).map((role) => {
        const pod = application?.[role] ?? {};
        const sized = pod.cores !== undefined && pod.coreLimit !== undefined && pod.memory !== undefined;
        return {
            callsApi: role === "driver",
            securityContext: pod.podSecurityContext,
            serviceAccountName: pod.serviceAccount,
            automountServiceAccountToken: pod.template?.spec?.automountServiceAccountToken,
            containers: [
                {
                    name: `spark-${role}`,
                    securityContext: pod.securityContext,
                    resources: sized && {
                        requests: { cpu: String(pod.cores), memory: pod.memory },
                        limits: { cpu: pod.coreLimit, memory: pod.memory },
                    },
                },
            ],
            initContainers: pod.initContainers,
        };
    });
}

/** The container the Flink operator runs Flink in; a pod template's container of this name is merged into it. */
const FLINK_MAIN_CONTAINER = "flink-main-container";

/**
 * A FlinkDeployment's JobManager and TaskManager as the pods the operator makes of them (flink.apache.org/v1beta1):
 * the component's pod template merged over the deployment's (containers by name), whose main container gets the
 * component's `resources`. The JobManager alone may mount a token (`callsApi`): in native mode it makes its
 * TaskManagers' pods.
 */
function flinkPodsOf(deployment: ResourceProps): ResourceProps[] {
    return (["jobManager", "taskManager"] as const).map((role) => {
        const shared: ResourceProps = deployment?.podTemplate?.spec ?? {};
        const own: ResourceProps = deployment?.[role]?.podTemplate?.spec ?? {};
        const byName = new Map<string, ResourceProps>();
        for (const container of [...(shared.containers ?? []), ...(own.containers ?? [])])
            byName.set(container.name, { ...byName.get(container.name), ...container });
        const main = byName.get(FLINK_MAIN_CONTAINER) ?? {};
        byName.set(FLINK_MAIN_CONTAINER, {
            ...main,
            name: `${FLINK_MAIN_CONTAINER} of the ${role}`,
            resources: deployment?.[role]?.resources,
        });
        return {
            ...shared,
            ...own,
            callsApi: role === "jobManager",
            serviceAccountName: deployment?.serviceAccount,
            containers: [...byName.values()],
        };
    });
}

/** Pod templates of the objects the cells deploy: workloads and the operators' custom resources. */
function podSpecsOf(r: PolicySubject): ResourceProps[] {
    const spec = r.props.spec ?? {};
    if (r.type === T.clickhouseInstallation || r.type === T.keeperInstallation)
        return (spec.templates?.podTemplates ?? []).map((t: ResourceProps) => t.spec);
    if (r.type === T.scheduledSparkApplication) return sparkPodsOf(spec.template);
    if (r.type === T.flinkDeployment) return flinkPodsOf(spec);
    if (/^kubernetes:(apps\/v1:(Deployment|StatefulSet|DaemonSet)|batch\/v1:Job)$/.test(r.type)) return [spec.template?.spec ?? {}];
    if (r.type === "kubernetes:core/v1:Pod") return [spec];
    return [];
}

/** Every container of a pod spec, init containers included. */
const containersOf = (spec: ResourceProps): ResourceProps[] => [...(spec.containers ?? []), ...(spec.initContainers ?? [])];

const WORKLOADS = (type: string) =>
    [
        T.clickhouseInstallation,
        T.keeperInstallation,
        T.kafkaNodePool,
        T.cnpgCluster,
        T.scheduledSparkApplication,
        T.flinkDeployment,
        "kubernetes:core/v1:Pod",
    ].includes(type) || /^kubernetes:(apps\/v1:(Deployment|StatefulSet|DaemonSet)|batch\/v1:Job)$/.test(type);

function hasRequestsAndLimits(resources: ResourceProps): boolean {
    return ["requests", "limits"].every((kind) => resources?.[kind]?.cpu && resources?.[kind]?.memory);
}

export const resourceLimits = resourcePolicy({
    name: "kubernetes-requests-and-limits",
    description: "Every container the cells run has CPU and memory requests and limits.",
    appliesTo: WORKLOADS,
    check: (r, report) => {
        const fix = "Set resources.requests and resources.limits for cpu and memory.";
        if (r.type === T.kafkaNodePool || r.type === T.cnpgCluster) {
            if (!hasRequestsAndLimits(r.props.spec?.resources)) report(`${describe(r)} has no CPU and memory requests and limits. ${fix}`);
            return;
        }
        for (const container of podSpecsOf(r).flatMap(containersOf)) {
            if (!hasRequestsAndLimits(container.resources))
                report(`${describe(r)}: container "${container.name}" has no CPU and memory requests and limits. ${fix}`);
        }
    },
});

/** Every image reference anywhere in an object (`image`, `imageName`), however deep. */
export function imagesIn(value: unknown, found: string[] = []): string[] {
    if (Array.isArray(value)) value.forEach((v) => imagesIn(v, found));
    else if (value && typeof value === "object") {
        for (const [key, v] of Object.entries(value)) {
            if ((key === "image" || key === "imageName") && typeof v === "string") found.push(v);
            else imagesIn(v, found);
        }
    }
    return found;
}

/** `repo:tag` or `repo@sha256:…`, with a tag other than latest. */
export function isPinnedImage(image: string): boolean {
    if (image.includes("@sha256:")) return true;
    const tag = /:([^/:]+)$/.exec(image)?.[1];
    return tag !== undefined && tag !== "latest";
}

export const pinnedImages = resourcePolicy({
    name: "kubernetes-pinned-images",
    description: "No image runs untagged or as `:latest`.",
    appliesTo: (type) => type.startsWith("kubernetes:") && type !== T.helmRelease,
    check: (r, report) => {
        for (const image of imagesIn(r.props.spec).filter((i) => !isPinnedImage(i))) {
            report(`${describe(r)} runs image "${image}" without a pinned tag. Pin a version tag or digest.`);
        }
    },
});

/**
 * A tag can be moved to other bytes; a digest cannot. Advisory: the digests come from the registries
 * (`npm run images:pin`), which only a machine that reaches them can ask.
 */
export const imagesByDigest: ResourceValidationPolicy = {
    ...resourcePolicy({
        name: "kubernetes-images-by-digest",
        description: "Every image the cells run is pinned by digest, so a moved tag cannot change what runs.",
        appliesTo: (type) => type.startsWith("kubernetes:") && type !== T.helmRelease,
        check: (r, report) => {
            for (const image of imagesIn(r.props.spec).filter((i) => !i.includes("@sha256:")))
                report(
                    `${describe(r)} runs image "${image}" by tag only. Run \`npm run images:pin\` where its registry answers, and commit model/imageDigests.json.`,
                );
        },
    }),
    enforcementLevel: "advisory",
};

export const nonRootPods = resourcePolicy({
    name: "kubernetes-non-root",
    description: "Pods the cells define run as a non-root user.",
    appliesTo: WORKLOADS,
    check: (r, report) => {
        for (const spec of podSpecsOf(r)) {
            if (spec.securityContext?.runAsNonRoot !== true) {
                report(`${describe(r)} has a pod that may run as root. Set securityContext.runAsNonRoot: true and a non-zero runAsUser.`);
            }
        }
    },
});

export const pinnedCharts = typedPolicy({
    name: "helm-chart-pinned",
    description: "Operators are installed from an exact chart version.",
    types: [T.helmRelease],
    check: (release, report) => {
        // Some repositories (cert-manager's) name their versions with a leading "v".
        if (!/^v?\d+\.\d+\.\d+([-+][\w.]+)?$/.test(release.props.version ?? "")) {
            report(
                `${describe(release)} installs chart "${release.props.chart}" at ${release.props.version ? `"${release.props.version}"` : "its newest version"}. Pin an exact version (components/kubernetes/charts.ts).`,
            );
        }
    },
});

const ZONE = "topology.kubernetes.io/zone";
const spreadsOverZones = (spec: ResourceProps) => (spec.topologySpreadConstraints ?? []).some((c: ResourceProps) => c.topologyKey === ZONE);
/** Whether every label a selector asks for is on the pods. */
const selects = (matchLabels: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
    Object.entries(matchLabels ?? {}).length > 0 && Object.entries(matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);

export const replicasSurviveDisruption = stackPolicy({
    name: "replicas-survive-disruption",
    description:
        "A Deployment of several replicas spreads them over zones and has a PodDisruptionBudget, and so do ClickHouse's replicas (a zone or a node drain never takes them all).",
    validateStack: ({ resources }, report) => {
        for (const r of resources.filter((x) => x.type === T.deployment && (x.props.spec?.replicas ?? 1) > 1)) {
            const pod = r.props.spec?.template ?? {};
            const namespace = r.props.metadata?.namespace;
            const budgeted = resources.some(
                (b) =>
                    b.type === T.podDisruptionBudget &&
                    b.props.metadata?.namespace === namespace &&
                    selects(b.props.spec?.selector?.matchLabels, pod.metadata?.labels),
            );
            if (!spreadsOverZones(pod.spec ?? {}))
                report(
                    `${describe(r)} runs ${r.props.spec.replicas} replicas without spreading them over zones. Add a topologySpreadConstraint on ${ZONE}.`,
                    r.urn,
                );
            if (!budgeted)
                report(
                    `${describe(r)} runs ${r.props.spec.replicas} replicas without a PodDisruptionBudget. Add one (maxUnavailable: 1) selecting its pods.`,
                    r.urn,
                );
        }
        for (const r of resources.filter((x) => x.type === T.clickhouseInstallation)) {
            const replicated = (r.props.spec?.configuration?.clusters ?? []).some((c: ResourceProps) => (c.layout?.replicasCount ?? 1) > 1);
            if (replicated && !podSpecsOf(r).every(spreadsOverZones))
                report(
                    `${describe(r)} has replicas whose pods do not spread over zones. Add a topologySpreadConstraint on ${ZONE} to its pod templates.`,
                    r.urn,
                );
        }
    },
});

export const restrictedContainers = resourcePolicy({
    name: "kubernetes-restricted-containers",
    description:
        "Containers the cells define cannot escalate privileges, drop every capability and run under the runtime's default seccomp profile; the apps' root filesystems are read-only.",
    appliesTo: WORKLOADS,
    check: (r, report) => {
        for (const spec of podSpecsOf(r)) {
            const podSeccomp = spec.securityContext?.seccompProfile?.type;
            for (const container of containersOf(spec)) {
                const context = container.securityContext ?? {};
                const problems = [
                    context.allowPrivilegeEscalation !== false && "allowPrivilegeEscalation: false",
                    !(context.capabilities?.drop ?? []).includes("ALL") && 'capabilities.drop: ["ALL"]',
                    (context.seccompProfile?.type ?? podSeccomp) !== "RuntimeDefault" && 'seccompProfile.type: "RuntimeDefault"',
                    r.type === T.deployment && context.readOnlyRootFilesystem !== true && "readOnlyRootFilesystem: true",
                ].filter((p): p is string => typeof p === "string");
                if (problems.length > 0)
                    report(`${describe(r)}: container "${container.name}" lacks ${problems.join(", ")}. Set them in its securityContext.`);
            }
        }
    },
});

export const serviceAccountTokens = stackPolicy({
    name: "kubernetes-service-account-tokens",
    description:
        "No pod the cells define mounts a Kubernetes API token: none of them calls the API but a Spark driver, which asks it for its executors, and a Flink JobManager, which makes its TaskManagers. A pod's cloud identity comes from its own ServiceAccount, whose token the cloud projects separately.",
    validateStack: ({ resources }, report) => {
        const tokenless = (namespace: unknown, name: unknown) =>
            resources.some(
                (a) =>
                    a.type === T.serviceAccount &&
                    a.props.metadata?.namespace === namespace &&
                    a.props.metadata?.name === name &&
                    a.props.automountServiceAccountToken === false,
            );
        for (const r of resources.filter((x) => WORKLOADS(x.type))) {
            for (const spec of podSpecsOf(r)) {
                if (spec.automountServiceAccountToken === false || spec.callsApi) continue;
                const account = spec.serviceAccountName ?? "default";
                if (account !== "default" && tokenless(r.props.metadata?.namespace, account)) continue;
                report(
                    `${describe(r)} runs pods that mount the API token of ServiceAccount "${account}". Set automountServiceAccountToken: false on the pod, or on a ServiceAccount of its own.`,
                    r.urn,
                );
            }
        }
    },
});

const CELL_LABEL = kubernetesLabelKey("cellplane:cell");
/** A NetworkPolicy that selects every pod of its namespace and allows nothing in or out. */
const deniesAll = (p: PolicySubject) =>
    Object.keys(p.props.spec?.podSelector?.matchLabels ?? {}).length === 0 &&
    (p.props.spec?.podSelector?.matchExpressions ?? []).length === 0 &&
    ["Ingress", "Egress"].every((t) => (p.props.spec?.policyTypes ?? []).includes(t)) &&
    (p.props.spec?.ingress ?? []).length === 0 &&
    (p.props.spec?.egress ?? []).length === 0;
/** AKS's network policy engines; without one, AKS accepts NetworkPolicies and enforces none. */
const AKS_POLICY_ENGINES = ["azure", "calico", "cilium"];

export const networkDefaultDeny = stackPolicy({
    name: "network-default-deny",
    description:
        "Each namespace that runs a cell's workloads denies all traffic but what its own NetworkPolicies allow, and every cluster the cells create enforces NetworkPolicies (EKS's VPC CNI policy agent, an AKS network policy engine).",
    validateStack: ({ resources }, report) => {
        const policies = resources.filter((r) => r.type === T.networkPolicy);
        const withWorkloads = new Set(resources.filter((r) => WORKLOADS(r.type)).map((r) => r.props.metadata?.namespace));
        for (const namespace of resources.filter((r) => r.type === T.namespace && withWorkloads.has(r.props.metadata?.name))) {
            const name = namespace.props.metadata.name;
            if (!policies.some((p) => p.props.metadata?.namespace === name && deniesAll(p)))
                report(
                    `${describe(namespace)} (cell ${namespace.props.metadata.labels?.[CELL_LABEL] ?? "none"}) runs the cell's workloads with no default-deny NetworkPolicy, so any pod of the cluster reaches its stores. Add one with podSelector: {} and policyTypes: [Ingress, Egress] (components/kubernetes/networkPolicies.ts).`,
                    namespace.urn,
                );
        }
        const addons = resources.filter((r) => r.type === T.eksAddon && r.props.addonName === "vpc-cni");
        const enforcing = (addon: PolicySubject) => {
            try {
                return JSON.parse(addon.props.configurationValues ?? "{}").enableNetworkPolicy === "true";
            } catch {
                return false;
            }
        };
        for (const cluster of resources.filter((r) => r.type === T.eks)) {
            if (!addons.some((a) => a.parent?.urn === cluster.parent?.urn && enforcing(a)))
                report(
                    `${describe(cluster)} runs the VPC CNI without its network policy agent, so NetworkPolicies are not enforced. Add the vpc-cni add-on with configurationValues {"enableNetworkPolicy": "true"}.`,
                    cluster.urn,
                );
        }
        for (const cluster of resources.filter((r) => r.type === T.aks)) {
            const engine = cluster.props.networkProfile?.networkPolicy;
            if (!AKS_POLICY_ENGINES.includes(engine))
                report(
                    `${describe(cluster)} has networkProfile.networkPolicy ${JSON.stringify(engine)}, so NetworkPolicies are not enforced. Set it to one of ${AKS_POLICY_ENGINES.join(", ")}.`,
                    cluster.urn,
                );
        }
    },
});

/** Every kind of custom resource the cells create, with its definition's name and the chart that would install it. */
const KNOWN_KINDS = new Map(
    [...Object.values(OPERATOR_KINDS), ...Object.values(CLUSTER_KINDS)].flatMap((source) =>
        source.kinds.map((kind): [string, { crd: string; chart?: string }] => [
            `${kind.group}/${kind.kind}`,
            { crd: crdNameOf(kind), chart: "chart" in source ? source.chart : undefined },
        ]),
    ),
);
const KNOWN_GROUPS = new Set([...KNOWN_KINDS.keys()].map((key) => key.split("/")[0]));

/** A custom resource's group and kind, from its type (`kubernetes:<group>/<version>:<Kind>`); none for Kubernetes' own. */
function customKindOf(type: string): { group: string; kind: string } | undefined {
    const match = /^kubernetes:([^/:]+)\/[^:]+:(\w+)$/.exec(type);
    if (!match) return undefined;
    const [, group, kind] = match;
    const builtIn = !group.includes(".") || group === "helm.sh" || (group.endsWith(".k8s.io") && !KNOWN_GROUPS.has(group));
    return builtIn ? undefined : { group, kind };
}

export const customResourcesHaveCrds = stackPolicy({
    name: "custom-resources-have-crds",
    description:
        "Every custom resource the cells create has its definition on its cluster: a CustomResourceDefinition the stack installs, one it requires from the cluster (operators: external), or the Helm release of the operator whose chart installs it (operators: managed).",
    validateStack: ({ resources }, report) => {
        for (const r of resources) {
            const custom = customKindOf(r.type);
            if (!custom) continue;
            const known = KNOWN_KINDS.get(`${custom.group}/${custom.kind}`);
            if (!known) {
                report(
                    `${describe(r)} is a ${custom.kind} of ${custom.group}, a kind the pack does not know the definition of. Add it to model/customResources.ts with its CRD and the chart that installs it.`,
                    r.urn,
                );
                continue;
            }
            const cluster = r.provider?.urn;
            // Reads reach no policy, so a required CRD is known by the RequiredCrds component that reads it.
            const defined = resources.some((d) =>
                d.type === T.requiredCrds
                    ? d.props.cluster === cluster && (d.props.crds ?? []).includes(known.crd)
                    : d.provider?.urn === cluster &&
                      ((d.type === T.customResourceDefinition && d.props.metadata?.name === known.crd) ||
                          (d.type === T.helmRelease && known.chart !== undefined && d.props.chart === known.chart)),
            );
            if (!defined)
                report(
                    `${describe(r)} needs CRD ${known.crd} on its cluster, which the stack neither installs${known.chart ? ` (chart ${known.chart})` : ""} nor requires. Manage the cell's operators (cellplane:cells[].operators: managed) or require the CRD (components/kubernetes/requiredCrds.ts).`,
                    r.urn,
                );
        }
    },
});

export const KUBERNETES_POLICIES = [
    resourceLimits,
    pinnedImages,
    imagesByDigest,
    nonRootPods,
    restrictedContainers,
    serviceAccountTokens,
    networkDefaultDeny,
    pinnedCharts,
    replicasSurviveDisruption,
    customResourcesHaveCrds,
];
