import type {
    PolicyProviderResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import type * as ec2 from "@pulumi/aws/ec2";
import type * as eks from "@pulumi/aws/eks";
import type * as msk from "@pulumi/aws/msk";
import type * as rds from "@pulumi/aws/rds";
import type * as s3 from "@pulumi/aws/s3";
import type * as vpc from "@pulumi/aws/vpc";
import type * as containerservice from "@pulumi/azure-native/containerservice";
import type * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import type * as eventhub from "@pulumi/azure-native/eventhub";
import type * as network from "@pulumi/azure-native/network";
import type * as storage from "@pulumi/azure-native/storage";
import type * as helm from "@pulumi/kubernetes/helm/v3";
import { kubernetesLabelKey } from "../model/labels";
import { Residency, RESIDENCIES, residencyOfRegion } from "../model/residency";
import { T } from "./types";
import type { ResourceProps } from "../model/resourceProps";

/** What a resource looks like to a policy, whether it is checked alone or as part of the stack. */
export interface PolicySubject {
    type: string;
    name: string;
    urn: string;
    props: ResourceProps;
    provider?: PolicyProviderResource;
    opts?: { protect?: boolean };
}

/** The Cellplane tags (AWS, Azure) or labels (Kubernetes) of a resource. */
export function tagsOf(resource: PolicySubject): Record<string, string> {
    if (resource.type.startsWith("kubernetes:")) return resource.props.metadata?.labels ?? {};
    return resource.props.tags ?? {};
}

/** The residency a resource declares through its tags or labels. */
export function residencyOf(resource: PolicySubject): Residency | undefined {
    const tags = tagsOf(resource);
    const value = tags["cellplane:residency"] ?? tags[kubernetesLabelKey("cellplane:residency")];
    return RESIDENCIES.find((r) => r === value);
}

export function cellOf(resource: PolicySubject): string | undefined {
    const tags = tagsOf(resource);
    return tags["cellplane:cell"] ?? tags[kubernetesLabelKey("cellplane:cell")];
}

/**
 * Where a resource lives: an AWS resource in its own `region` or else its provider's, an Azure resource at its
 * `location`. Kubernetes objects live wherever their cluster is and have no region of their own.
 */
export function regionOf(resource: PolicySubject): string | undefined {
    if (resource.type.startsWith("aws:")) return resource.props.region ?? resource.provider?.props?.region;
    if (resource.type.startsWith("azure-native:")) return resource.props.location;
    return undefined;
}

/** The region inside an ARN (`arn:aws:rds:eu-west-1:…`), if it names one. */
export function regionOfArn(arn: unknown): string | undefined {
    return typeof arn === "string" ? arn.split(":")[3] || undefined : undefined;
}

/** The Azure region pair used by geo-redundant backups, where one exists. */
export const AZURE_PAIRED_REGIONS: Record<string, string> = {
    westeurope: "northeurope",
    northeurope: "westeurope",
    germanywestcentral: "germanynorth",
    francecentral: "francesouth",
    swedencentral: "swedensouth",
    eastus: "westus",
    westus: "eastus",
    eastus2: "centralus",
    centralus: "eastus2",
    southcentralus: "northcentralus",
    westus2: "westcentralus",
    westus3: "eastus",
};

/** Regions of a zone beyond the ones cells may use (pair targets count as inside the zone). */
const PAIR_ZONES: Record<string, Residency> = {
    germanynorth: "eu",
    francesouth: "eu",
    swedensouth: "eu",
    northcentralus: "us",
    westcentralus: "us",
};

export function zoneOfRegion(region: string | undefined): Residency | undefined {
    if (region === undefined) return undefined;
    return residencyOfRegion(region) ?? PAIR_ZONES[region];
}

/** Whether `host` is a Service of `namespace`, by its cluster DNS name (short or full). */
export const isServiceOf = (host: string, namespace: string) =>
    host.endsWith(`.${namespace}.svc.cluster.local`) || host.endsWith(`.${namespace}.svc`);

/** `<kind> "<name>"` for messages. */
export function describe(resource: PolicySubject): string {
    const kind = resource.type.split(":").pop();
    return `${kind} "${resource.name}"`;
}

export type Check = (resource: PolicySubject, report: ReportViolation, config: ResourceProps) => void;

/** A resource policy that runs `check` on the resources `appliesTo` accepts. Mandatory unless configured otherwise. */
export function resourcePolicy(spec: {
    name: string;
    description: string;
    appliesTo: (type: string) => boolean;
    check: Check;
    configSchema?: ResourceValidationPolicy["configSchema"];
}): ResourceValidationPolicy {
    return {
        name: spec.name,
        description: spec.description,
        enforcementLevel: "mandatory",
        configSchema: spec.configSchema,
        validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
            if (spec.appliesTo(args.type)) spec.check(args, report, args.getConfig());
        },
    };
}

/**
 * The SDK's input type of each resource type the typed policies read, as AwsGuard types its policies by resource
 * class. Type-only imports: no provider SDK is loaded when the pack runs.
 */
export interface PropsByType {
    [T.rds]: Unwrap<rds.InstanceArgs>;
    [T.msk]: Unwrap<msk.ClusterArgs>;
    [T.mskConfiguration]: Unwrap<msk.ConfigurationArgs>;
    [T.eks]: Unwrap<eks.ClusterArgs>;
    [T.eksNodeGroup]: Unwrap<eks.NodeGroupArgs>;
    [T.bucket]: Unwrap<s3.BucketArgs>;
    [T.securityGroup]: Unwrap<ec2.SecurityGroupArgs>;
    [T.securityGroupRule]: Unwrap<ec2.SecurityGroupRuleArgs>;
    [T.securityGroupIngressRule]: Unwrap<vpc.SecurityGroupIngressRuleArgs>;
    [T.flexibleServer]: Unwrap<dbforpostgresql.ServerArgs>;
    [T.storageAccount]: Unwrap<storage.StorageAccountArgs>;
    [T.blobContainer]: Unwrap<storage.BlobContainerArgs>;
    [T.eventHubsNamespace]: Unwrap<eventhub.NamespaceArgs>;
    [T.networkSecurityGroup]: Unwrap<network.NetworkSecurityGroupArgs>;
    [T.securityRule]: Unwrap<network.SecurityRuleArgs>;
    [T.aks]: Unwrap<containerservice.ManagedClusterArgs>;
    [T.helmRelease]: Unwrap<helm.ReleaseArgs>;
    /** A custom resource: its CRD, not an SDK, says its shape. */
    [T.strimziKafka]: ResourceProps;
}
export type TypedResourceType = keyof PropsByType;

/** A resource of one of the types `K`: checking `type` narrows `props` to that type's SDK inputs. */
export type TypedSubject<K extends TypedResourceType> = {
    [P in K]: Omit<PolicySubject, "type" | "props"> & { type: P; props: PropsByType[P] };
}[K];

/** A resource policy over the resources of `types`, whose check reads their properties as the SDK types them. */
export function typedPolicy<K extends TypedResourceType>(spec: {
    name: string;
    description: string;
    types: readonly K[];
    check: (resource: TypedSubject<K>, report: ReportViolation, config: ResourceProps) => void;
    configSchema?: ResourceValidationPolicy["configSchema"];
}): ResourceValidationPolicy {
    const types: readonly string[] = spec.types;
    return resourcePolicy({
        ...spec,
        appliesTo: (type) => types.includes(type),
        check: (resource, report, config) => spec.check(resource as TypedSubject<K>, report, config),
    });
}

/** A stack policy: sees every resource with its outputs, for rules that relate resources to each other. */
export function stackPolicy(spec: {
    name: string;
    description: string;
    validateStack: StackValidationPolicy["validateStack"];
}): StackValidationPolicy {
    return { enforcementLevel: "mandatory", ...spec };
}
