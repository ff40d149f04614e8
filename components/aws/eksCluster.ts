import * as eks from "@pulumi/aws/eks";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";
import type { AwsNetwork } from "./network";
import { AWS_INSTANCE_TYPES } from "./sizing";

export interface EksClusterArgs {
    context: CellContext;
    network: AwsNetwork;
    key: kms.Key;
}

export const EKS_VERSION = "1.31";

const CLUSTER_POLICIES = ["AmazonEKSClusterPolicy"];
const NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];

/** EKS in the cell's private subnets, secrets envelope-encrypted with the cell's key, one managed node group. */
export class EksCluster extends pulumi.ComponentResource {
    readonly cluster: eks.Cluster;
    readonly provider: KubernetesProvider;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:EksCluster", name, {}, opts);
        const { cell, shape, production, labels } = args.context;
        const tags = labels.tags;

        const clusterRole = this.role(`${name}-cluster`, "eks.amazonaws.com", CLUSTER_POLICIES, tags);
        const nodeRole = this.role(`${name}-nodes`, "ec2.amazonaws.com", NODE_POLICIES, tags);

        this.cluster = new eks.Cluster(
            `${name}-eks`,
            {
                version: EKS_VERSION,
                roleArn: clusterRole.role.arn,
                vpcConfig: {
                    subnetIds: args.network.privateSubnetIds,
                    endpointPrivateAccess: true,
                    endpointPublicAccess: !production,
                },
                encryptionConfig: { provider: { keyArn: args.key.arn }, resources: ["secrets"] },
                accessConfig: { authenticationMode: "API" },
                enabledClusterLogTypes: ["api", "audit", "authenticator"],
                tags,
            },
            { parent: this, dependsOn: clusterRole.attachments },
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
        // Lets pods assume the IAM roles bound to their ServiceAccounts (EKS Pod Identity): the apps' MSK access.
        new eks.Addon(
            `${name}-pod-identity-agent`,
            { clusterName: this.cluster.name, addonName: "eks-pod-identity-agent", tags },
            { parent: this, dependsOn: [nodes] },
        );

        this.provider = new KubernetesProvider(
            `${name}-k8s`,
            {
                kubeconfig: pulumi
                    .all([this.cluster.name, this.cluster.endpoint, this.cluster.certificateAuthority])
                    .apply(([clusterName, endpoint, ca]) => kubeconfig(clusterName, endpoint, ca.data ?? "", cell.region)),
                enableServerSideApply: true,
            },
            { parent: this, dependsOn: [nodes] },
        );

        this.registerOutputs({ clusterName: this.cluster.name, endpoint: this.cluster.endpoint });
    }

    private role(name: string, service: string, policies: string[], tags: Record<string, string>) {
        const role = new iam.Role(
            name,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
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

/** A kubeconfig that authenticates through the AWS CLI, so no token is ever stored in state. */
function kubeconfig(clusterName: string, endpoint: string, certificateAuthority: string, region: string): string {
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
                        args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region],
                    },
                },
            },
        ],
    });
}
