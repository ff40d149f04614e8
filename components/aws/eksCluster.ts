import { VERSIONS } from "../../model/versions";
import * as eks from "@pulumi/aws/eks";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import { StorageClass } from "@pulumi/kubernetes/storage/v1";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";
import { type AwsAuditTrail, eksClusterNameOf } from "./auditTrail";
import type { AwsNetwork } from "./network";
import { AWS_INSTANCE_TYPES } from "./sizing";

export interface EksClusterArgs {
    context: CellContext;
    network: AwsNetwork;
    key: kms.Key;
    audit: AwsAuditTrail;
}

export const EKS_VERSION = VERSIONS.eks.version;

const CLUSTER_POLICIES = ["AmazonEKSClusterPolicy"];
const NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];
/** The ServiceAccount of the EBS CSI controller, which the add-on creates. */
export const EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa";
/** The cluster's default StorageClass: every volume of the cell (ClickHouse, Keeper) is gp3, encrypted with its key. */
export const DEFAULT_STORAGE_CLASS = "gp3-encrypted";

/** EKS in the cell's private subnets, secrets envelope-encrypted with the cell's key, one managed node group. */
export class EksCluster extends pulumi.ComponentResource {
    readonly cluster: eks.Cluster;
    readonly provider: KubernetesProvider;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:EksCluster", name, {}, opts);
        const { cell, shape, production, labels, adminCidrs, awsAdminRoleArns } = args.context;
        const tags = labels.tags;

        const clusterRole = this.role(`${name}-cluster`, "eks.amazonaws.com", CLUSTER_POLICIES, tags);
        const nodeRole = this.role(`${name}-nodes`, "ec2.amazonaws.com", NODE_POLICIES, tags);

        this.cluster = new eks.Cluster(
            `${name}-eks`,
            {
                name: eksClusterNameOf(cell.id),
                version: EKS_VERSION,
                roleArn: clusterRole.role.arn,
                vpcConfig: {
                    subnetIds: args.network.privateSubnetIds,
                    endpointPrivateAccess: true,
                    ...publicEndpoint(production, adminCidrs),
                },
                encryptionConfig: { provider: { keyArn: args.key.arn }, resources: ["secrets"] },
                accessConfig: { authenticationMode: "API" },
                enabledClusterLogTypes: ["api", "audit", "authenticator"],
                tags,
            },
            { parent: this, dependsOn: [...clusterRole.attachments, args.audit.clusterLogs] },
        );

        const nodes = new eks.NodeGroup(
            `${name}-nodes`,
            {
                clusterName: this.cluster.name,
                nodeRoleArn: nodeRole.role.arn,
                subnetIds: args.network.privateSubnetIds,
                instanceTypes: [AWS_INSTANCE_TYPES[cell.size].node],
                scalingConfig: { minSize: shape.nodes.min, desiredSize: shape.nodes.desired, maxSize: shape.nodes.max },
                updateConfig: { maxUnavailable: 1 },
                labels: labels.kubernetes,
                tags,
            },
            { parent: this, dependsOn: nodeRole.attachments },
        );
        // EKS runs the VPC CNI as a self-managed add-on that ignores NetworkPolicies; the managed add-on takes it over
        // and turns on its network policy agent, which enforces the cells' default-deny.
        new eks.Addon(
            `${name}-vpc-cni`,
            {
                clusterName: this.cluster.name,
                addonName: "vpc-cni",
                configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
                resolveConflictsOnCreate: "OVERWRITE",
                tags,
            },
            { parent: this },
        );
        // Lets pods assume the IAM roles bound to their ServiceAccounts (EKS Pod Identity): the apps' MSK access.
        const podIdentityAgent = new eks.Addon(
            `${name}-pod-identity-agent`,
            { clusterName: this.cluster.name, addonName: "eks-pod-identity-agent", tags },
            { parent: this, dependsOn: [nodes] },
        );
        const volumes = this.ebsCsiDriver(name, args.key, tags, podIdentityAgent);
        const admins = awsAdminRoleArns.map((principalArn, i) => {
            const entry = new eks.AccessEntry(
                `${name}-admin-${i}`,
                { clusterName: this.cluster.name, principalArn, tags },
                { parent: this },
            );
            return new eks.AccessPolicyAssociation(
                `${name}-admin-${i}`,
                { clusterName: this.cluster.name, principalArn, policyArn: CLUSTER_ADMIN_POLICY, accessScope: { type: "cluster" } },
                { parent: this, dependsOn: [entry] },
            );
        });

        this.provider = new KubernetesProvider(
            `${name}-k8s`,
            {
                kubeconfig: pulumi
                    .all([this.cluster.name, this.cluster.endpoint, this.cluster.certificateAuthority])
                    .apply(([clusterName, endpoint, ca]) =>
                        kubeconfig(clusterName, endpoint, ca.data ?? "", cell.region, awsAdminRoleArns[0]),
                    ),
                enableServerSideApply: true,
            },
            { parent: this, dependsOn: [nodes, ...admins] },
        );
        // EKS has no default StorageClass, and an unclassed PersistentVolumeClaim never binds.
        new StorageClass(
            `${name}-default-storage`,
            {
                metadata: {
                    name: DEFAULT_STORAGE_CLASS,
                    labels: labels.kubernetes,
                    annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
                },
                provisioner: "ebs.csi.aws.com",
                parameters: { type: "gp3", encrypted: "true", kmsKeyId: args.key.arn },
                volumeBindingMode: "WaitForFirstConsumer",
                allowVolumeExpansion: true,
                reclaimPolicy: production ? "Retain" : "Delete",
            },
            { parent: this, provider: this.provider, dependsOn: [volumes] },
        );

        this.registerOutputs({ clusterName: this.cluster.name, endpoint: this.cluster.endpoint });
    }

    /** The EBS CSI driver, which provisions the cell's volumes, with an IAM role of its own through EKS Pod Identity. */
    private ebsCsiDriver(name: string, key: kms.Key, tags: Record<string, string>, podIdentityAgent: eks.Addon): eks.Addon {
        const driver = this.role(`${name}-ebs-csi`, "pods.eks.amazonaws.com", ["service-role/AmazonEBSCSIDriverPolicy"], tags, [
            "sts:AssumeRole",
            "sts:TagSession",
        ]);
        // Volumes are encrypted with the cell's own key, which the AWS-managed policy does not cover.
        const keyUse = new iam.RolePolicy(
            `${name}-ebs-csi-key`,
            {
                role: driver.role.name,
                policy: key.arn.apply((keyArn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: [
                                    "kms:CreateGrant",
                                    "kms:Decrypt",
                                    "kms:DescribeKey",
                                    "kms:GenerateDataKeyWithoutPlaintext",
                                    "kms:ReEncrypt*",
                                ],
                                Resource: keyArn,
                            },
                        ],
                    }),
                ),
            },
            { parent: this },
        );
        return new eks.Addon(
            `${name}-ebs-csi-driver`,
            {
                clusterName: this.cluster.name,
                addonName: "aws-ebs-csi-driver",
                podIdentityAssociations: [{ roleArn: driver.role.arn, serviceAccount: EBS_CSI_SERVICE_ACCOUNT }],
                tags,
            },
            { parent: this, dependsOn: [podIdentityAgent, keyUse, ...driver.attachments] },
        );
    }

    private role(
        name: string,
        service: string,
        policies: string[],
        tags: Record<string, string>,
        actions: string | string[] = "sts:AssumeRole",
    ) {
        const role = new iam.Role(
            name,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: actions }],
                }),
                tags,
            },
            { parent: this },
        );
        const attachments = policies.map(
            (policy) =>
                new iam.RolePolicyAttachment(
                    `${name}-${policy}`,
                    { role: role.name, policyArn: `arn:aws:iam::aws:policy/${policy}` },
                    { parent: this },
                ),
        );
        return { role, attachments };
    }
}

/**
 * Who reaches the API server from outside the VPC: the admins' networks when configured; otherwise nobody in
 * production (`pulumi up` runs inside the VPC) and anyone in dev.
 */
function publicEndpoint(production: boolean, adminCidrs: string[]): { endpointPublicAccess: boolean; publicAccessCidrs?: string[] } {
    if (adminCidrs.length > 0) return { endpointPublicAccess: true, publicAccessCidrs: adminCidrs };
    return { endpointPublicAccess: !production };
}

/** EKS's access policy of a cluster administrator. */
export const CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/**
 * A kubeconfig that authenticates through the AWS CLI, so no token is ever stored in state; as `roleArn` when given,
 * so any operator allowed to assume the admin role can run `pulumi up`, not only the cluster's creator.
 */
function kubeconfig(clusterName: string, endpoint: string, certificateAuthority: string, region: string, roleArn?: string): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": certificateAuthority } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
        users: [
            {
                name: clusterName,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: [
                            "eks",
                            "get-token",
                            "--cluster-name",
                            clusterName,
                            "--region",
                            region,
                            ...(roleArn ? ["--role-arn", roleArn] : []),
                        ],
                    },
                },
            },
        ],
    });
}
