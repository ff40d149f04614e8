import * as acm from "@pulumi/aws/acm";
import * as route53 from "@pulumi/aws/route53";
import type * as core from "@pulumi/kubernetes/core/v1";
import type * as helm from "@pulumi/kubernetes/helm/v3";
import * as networking from "@pulumi/kubernetes/networking/v1";
import type { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { helmRelease } from "../kubernetes/charts";
import { type ClusterEdge, ingressRule, type PublicApp, type PublicNames, routeOf } from "../kubernetes/edge";
import type { CellContext } from "../platform";
import { AppPodIdentity } from "./podIdentity";

export interface LoadBalancerEdgeArgs {
    context: CellContext;
    clusterName: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    /** The VPC's range: the ALB reaches pods by their VPC addresses (target type `ip`). */
    vpcCidr: string;
    namespace: pulumi.Input<string>;
    names: PublicNames;
    /** The Route 53 public hosted zone of `cellplane:dnsZone`. */
    dnsZone: string;
    kubernetes: KubernetesProvider;
}

const CONTROLLER = { namespace: "kube-system", serviceAccount: "aws-load-balancer-controller" };
/** TLS 1.3 and 1.2 with forward secrecy only (Elastic Load Balancing's security policies). */
const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/**
 * AWS: the AWS Load Balancer Controller (its own role through EKS Pod Identity) turns each app's Ingress into rules
 * of one internet-facing ALB per cell, which ends TLS with an ACM certificate of the cell's public names (validated
 * through DNS), and Route 53 points the names at the ALB.
 */
export class LoadBalancerEdge extends pulumi.ComponentResource implements ClusterEdge {
    readonly peers: object[];
    private readonly controller: helm.Release;
    private readonly certificate: acm.CertificateValidation;
    private readonly zoneId: pulumi.Output<string>;

    constructor(
        name: string,
        private readonly args: LoadBalancerEdgeArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("cellplane:aws:LoadBalancerEdge", name, {}, opts);
        const { context, names } = args;
        const tags = context.labels.tags;
        this.peers = [{ ipBlock: { cidr: args.vpcCidr } }];
        const identity = new AppPodIdentity(
            `${name}-controller-identity`,
            {
                context,
                clusterName: args.clusterName,
                namespace: CONTROLLER.namespace,
                serviceAccount: CONTROLLER.serviceAccount,
                policy: pulumi.output(args.clusterName).apply(loadBalancerControllerPolicy),
            },
            { parent: this },
        );
        this.controller = helmRelease(
            `${name}-controller`,
            {
                chart: "awsLoadBalancerController",
                namespace: CONTROLLER.namespace,
                repository: context.chartRepository,
                values: {
                    clusterName: args.clusterName,
                    region: context.cell.region,
                    vpcId: args.vpcId,
                    replicaCount: context.production ? 2 : 1,
                    serviceAccount: { create: true, name: CONTROLLER.serviceAccount },
                    // No WAF or Shield on these ALBs, so the controller needs no rights on them.
                    enableWaf: false,
                    enableWafv2: false,
                    enableShield: false,
                },
            },
            { parent: this, provider: args.kubernetes, dependsOn: [identity] },
        );

        this.zoneId = route53.getZoneOutput({ name: args.dnsZone, privateZone: false }, { parent: this }).zoneId;
        const hosts = [names.cell, ...(names.router ? [names.router] : [])];
        const certificate = new acm.Certificate(
            `${name}-certificate`,
            {
                domainName: names.cell,
                subjectAlternativeNames: hosts.slice(1),
                validationMethod: "DNS",
                keyAlgorithm: "EC_prime256v1",
                tags,
            },
            { parent: this },
        );
        // One validation record per name: ACM asks for a CNAME of its own under each.
        const validation = hosts.map(
            (host, index) =>
                new route53.Record(
                    `${name}-validation-${index}`,
                    {
                        zoneId: this.zoneId,
                        name: certificate.domainValidationOptions.apply(
                            (options) => options.find((o) => o.domainName === host)!.resourceRecordName,
                        ),
                        type: certificate.domainValidationOptions.apply(
                            (options) => options.find((o) => o.domainName === host)!.resourceRecordType,
                        ),
                        records: [
                            certificate.domainValidationOptions.apply(
                                (options) => options.find((o) => o.domainName === host)!.resourceRecordValue,
                            ),
                        ],
                        ttl: 300,
                        allowOverwrite: true,
                    },
                    { parent: this },
                ),
        );
        this.certificate = new acm.CertificateValidation(
            `${name}-certificate-validation`,
            { certificateArn: certificate.arn, validationRecordFqdns: validation.map((record) => record.fqdn) },
            { parent: this },
        );
        this.registerOutputs({});
    }

    get names(): PublicNames {
        return this.args.names;
    }

    expose(app: PublicApp, service: core.Service): void {
        const { context, names, namespace, kubernetes } = this.args;
        const { host } = routeOf(app, names);
        const ingress = new networking.Ingress(
            `${context.cell.id}-${app}-ingress`,
            {
                metadata: {
                    name: app,
                    namespace,
                    labels: context.labels.kubernetes,
                    annotations: {
                        "alb.ingress.kubernetes.io/scheme": "internet-facing",
                        "alb.ingress.kubernetes.io/target-type": "ip",
                        "alb.ingress.kubernetes.io/listen-ports": JSON.stringify([{ HTTPS: 443 }]),
                        "alb.ingress.kubernetes.io/certificate-arn": this.certificate.certificateArn,
                        "alb.ingress.kubernetes.io/ssl-policy": SSL_POLICY,
                        // The cell's apps share one ALB.
                        "alb.ingress.kubernetes.io/group.name": context.cell.id,
                        "alb.ingress.kubernetes.io/healthcheck-path": "/readyz",
                        "alb.ingress.kubernetes.io/tags": Object.entries(context.labels.tags)
                            .map(([key, value]) => `${key}=${value}`)
                            .join(","),
                    },
                },
                spec: {
                    ingressClassName: "alb",
                    rules: [ingressRule(app, names, service)],
                },
            },
            { parent: this, provider: kubernetes, dependsOn: [this.controller] },
        );
        // Export's Ingress joins the cell name's ALB rules; the name needs one record.
        if (app === "export") return;
        new route53.Record(
            `${context.cell.id}-${app}-dns`,
            {
                zoneId: this.zoneId,
                name: host,
                type: "CNAME",
                ttl: 60,
                records: [ingress.status.loadBalancer.ingress[0].hostname],
            },
            { parent: this },
        );
    }
}

/**
 * What the controller does to run one cluster's ALBs, and no more: it reads the network, manages security groups and
 * load balancers it created (tagged `elbv2.k8s.aws/cluster: <cluster>`), and reads ACM certificates. From the
 * controller's reference policy, without WAF, Shield and Cognito, which these ALBs do not use.
 */
export function loadBalancerControllerPolicy(clusterName: string): object {
    const ownTag = { StringEquals: { "aws:ResourceTag/elbv2.k8s.aws/cluster": clusterName } };
    const taggedOnCreate = { StringEquals: { "aws:RequestTag/elbv2.k8s.aws/cluster": clusterName } };
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: "iam:CreateServiceLinkedRole",
                Resource: "*",
                Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
            },
            {
                Effect: "Allow",
                Action: [
                    "ec2:DescribeAccountAttributes",
                    "ec2:DescribeAddresses",
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeInstances",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeTags",
                    "ec2:DescribeRouteTables",
                    "ec2:GetSecurityGroupsForVpc",
                    "elasticloadbalancing:Describe*",
                    "acm:ListCertificates",
                    "acm:DescribeCertificate",
                ],
                Resource: "*",
            },
            { Effect: "Allow", Action: "ec2:CreateSecurityGroup", Resource: "*" },
            {
                Effect: "Allow",
                Action: "ec2:CreateTags",
                Resource: "arn:aws:ec2:*:*:security-group/*",
                Condition: { ...taggedOnCreate, StringEqualsIfExists: { "ec2:CreateAction": "CreateSecurityGroup" } },
            },
            {
                Effect: "Allow",
                Action: [
                    "ec2:CreateTags",
                    "ec2:DeleteTags",
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup",
                ],
                Resource: "*",
                Condition: ownTag,
            },
            // The controller adds rules to the cluster's node security group, which it did not create.
            { Effect: "Allow", Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], Resource: "*" },
            {
                Effect: "Allow",
                Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                Resource: "*",
                Condition: taggedOnCreate,
            },
            {
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                ],
                Resource: "*",
            },
            {
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                Resource: [
                    "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
                    "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
                ],
            },
            {
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes",
                ],
                Resource: "*",
                Condition: ownTag,
            },
            {
                Effect: "Allow",
                Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                Resource: "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
            },
        ],
    };
}
