import { spannedZones } from "../../components/aws/network";
import type { CellContext } from "../../components/platform";
import { CLUSTER_ADMIN_POLICY, DEFAULT_STORAGE_CLASS, EBS_CSI_SERVICE_ACCOUNT } from "../../components/aws/eksCluster";
import { AWS_INSTANCE_TYPES } from "../../components/aws/sizing";
import { CELL_SHAPES } from "../../model/sizing";
import { regionsOf } from "../../model/residency";
import {
    CLICKHOUSE_INSTALLATION,
    KEEPER_INSTALLATION,
    named,
    OFFLINE_AWS_ACCOUNT,
    monitoringOf,
    ofType,
    ProgramRun,
    SECRET_MARKER,
    secretValue,
    single,
    singleCellStack,
} from "../support/harness";
import type { ResourceProps } from "../../model/resourceProps";

const cell = { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" };

describe.each([
    { environment: "dev" as const, zones: 2, natGateways: 1, backupDays: 7, production: false },
    { environment: "prod" as const, zones: 3, natGateways: 3, backupDays: 30, production: true },
])("an AWS cell in $environment", ({ environment, zones, natGateways, backupDays, production }) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack(cell, environment);
    });
    const key = () => `arn:aws:mock:::cell-1-key`;

    test("bounds every IAM role of the cell by its residency: other regions and copies elsewhere denied, global services reachable", () => {
        const boundary = named(run, "cell-1-residency-boundary-policy");
        const document = JSON.parse(boundary.inputs.policy);
        const statement = (sid: string) => document.Statement.find((s: ResourceProps) => s.Sid === sid);
        expect(statement("WithinTheBoundary")).toMatchObject({ Effect: "Allow", Action: "*", Resource: "*" });
        expect(statement("DenyRegionsOutsideResidency")).toMatchObject({
            Effect: "Deny",
            NotAction: expect.arrayContaining(["iam:*", "sts:*", "route53:*"]),
            Condition: { StringNotEquals: { "aws:RequestedRegion": [...regionsOf("eu", "aws")] } },
        });
        expect(statement("DenyCopiesToOtherRegions").Action).toEqual(
            expect.arrayContaining([
                "s3:PutReplicationConfiguration",
                "rds:StartDBInstanceAutomatedBackupsReplication",
                "kafka:CreateReplicator",
            ]),
        );
        expect(boundary.state.arn).toMatch(/^arn:aws:/);
        const roles = ofType(run, "aws:iam/role:Role");
        expect(roles.length).toBeGreaterThanOrEqual(5);
        for (const role of roles) expect([role.name, role.inputs.permissionsBoundary]).toEqual([role.name, boundary.state.arn]);
    });

    test("uses a provider pinned to the cell's region", () => {
        expect(single(run, "pulumi:providers:aws").inputs.region).toBe("eu-central-1");
    });

    test(`spreads private subnets over ${zones} AZs, with ${natGateways} NAT gateway(s) and no public IPs`, () => {
        const privateSubnets = ofType(run, "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-private-"));
        expect(privateSubnets.map((s) => s.inputs.availabilityZone)).toEqual(
            ["eu-central-1a", "eu-central-1b", "eu-central-1c"].slice(0, zones),
        );
        expect(ofType(run, "aws:ec2/subnet:Subnet").every((s) => s.inputs.mapPublicIpOnLaunch === false)).toBe(true);
        expect(ofType(run, "aws:ec2/natGateway:NatGateway")).toHaveLength(natGateways);
    });

    test("reaches S3 in its own region through a gateway endpoint on every private route table, not through the NAT gateways", () => {
        const endpoint = single(run, "aws:ec2/vpcEndpoint:VpcEndpoint").inputs;
        expect(endpoint).toMatchObject({
            vpcId: single(run, "aws:ec2/vpc:Vpc").id,
            serviceName: "com.amazonaws.eu-central-1.s3",
            vpcEndpointType: "Gateway",
        });
        // A gateway endpoint takes no subnets nor security groups: it is a route, in the tables it names.
        expect(endpoint.subnetIds).toBeUndefined();
        const privateTables = ofType(run, "aws:ec2/routeTable:RouteTable").filter((t) => t.name.includes("-private-"));
        expect(privateTables).toHaveLength(zones);
        expect([...endpoint.routeTableIds].sort()).toEqual(privateTables.map((t) => t.id).sort());
    });

    test("tags subnets for the AWS Load Balancer Controller: public ones for internet-facing, private ones for internal", () => {
        const subnets = ofType(run, "aws:ec2/subnet:Subnet");
        const role = (kind: string) => subnets.filter((s) => s.name.includes(`-${kind}-`)).map((s) => s.inputs.tags);
        expect(role("public").length).toBeGreaterThan(0);
        for (const tags of role("public")) expect(tags).toMatchObject({ "kubernetes.io/role/elb": "1" });
        for (const tags of role("private")) expect(tags).toMatchObject({ "kubernetes.io/role/internal-elb": "1" });
    });

    test("admits only the cell's own traffic to databases and brokers", () => {
        const group = single(run, "aws:ec2/securityGroup:SecurityGroup");
        const vpcCidr = single(run, "aws:ec2/vpc:Vpc").inputs.cidrBlock;
        for (const rule of [...group.inputs.ingress, ...group.inputs.egress]) expect(rule.cidrBlocks).toEqual([vpcCidr]);
        expect(group.inputs.ingress.map((r: ResourceProps) => [r.fromPort, r.toPort])).toEqual([
            [5432, 5432],
            [9094, 9098],
        ]);
    });

    test("runs RDS PostgreSQL 16, encrypted with the cell's key, private, with a generated secret password", () => {
        const db = single(run, "aws:rds/instance:Instance").inputs;
        expect(db).toMatchObject({
            engine: "postgres",
            engineVersion: "16",
            instanceClass: AWS_INSTANCE_TYPES.medium.database,
            allocatedStorage: CELL_SHAPES.medium.postgresStorageGb,
            storageEncrypted: true,
            kmsKeyId: key(),
            publiclyAccessible: false,
            backupRetentionPeriod: backupDays,
            multiAz: production,
            deletionProtection: production,
            skipFinalSnapshot: !production,
        });
        expect(secretValue(db.password)).toBe(`${SECRET_MARKER}cell-1-postgres-password`);
        expect(single(run, "aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds).toHaveLength(zones);
    });

    test("runs MSK encrypted at rest and in transit, brokers spread evenly over the AZs", () => {
        const msk = single(run, "aws:msk/cluster:Cluster").inputs;
        expect(msk.encryptionInfo).toEqual({
            encryptionAtRestKmsKeyArn: key(),
            encryptionInTransit: { clientBroker: "TLS", inCluster: true },
        });
        expect(msk.brokerNodeGroupInfo.clientSubnets).toHaveLength(zones);
        expect(msk.numberOfBrokerNodes % zones).toBe(0);
        expect(msk.numberOfBrokerNodes).toBeGreaterThanOrEqual(CELL_SHAPES.medium.kafkaBrokers);
        expect(msk.brokerNodeGroupInfo.instanceType).toBe(AWS_INSTANCE_TYPES.medium.kafkaBroker);
        expect(msk.brokerNodeGroupInfo.connectivityInfo.publicAccess.type).toBe("DISABLED");
        expect(single(run, "aws:msk/configuration:Configuration").inputs.serverProperties).toContain("default.replication.factor=3");
    });

    test("keeps exports in an S3 bucket with SSE-KMS, no public access, versioning and the retention lifecycle", () => {
        expect(named(run, "cell-1-object-store-sse").inputs.rules).toEqual([
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key() }, bucketKeyEnabled: true },
        ]);
        expect(named(run, "cell-1-object-store-no-public").inputs).toMatchObject({
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(single(run, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
        const [exports, temp] = named(run, "cell-1-object-store-lifecycle").inputs.rules;
        expect(exports.transitions).toEqual([
            { days: 90, storageClass: "STANDARD_IA" },
            { days: 365, storageClass: "GLACIER" },
            { days: 1095, storageClass: "DEEP_ARCHIVE" },
        ]);
        expect(exports.expiration).toEqual({ days: 2555 });
        expectS3LifecycleRules(exports.transitions, exports.expiration.days);
        expect(temp).toEqual({ id: "delete-temp-files", status: "Enabled", filter: { prefix: "temp/" }, expiration: { days: 7 } });
        const policy = JSON.parse(named(run, "cell-1-object-store-tls-only").inputs.policy);
        expect(policy.Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    });

    test("keeps an audit trail in the cell's region under its key: VPC flows, broker and database logs, and the exports' access logs", () => {
        const region = cell.region;
        const keyPolicy = JSON.parse(single(run, "aws:kms/key:Key").inputs.policy);
        expect(keyPolicy.Statement).toEqual(
            expect.arrayContaining([
                expect.objectContaining({
                    Principal: { Service: `logs.${region}.amazonaws.com` },
                    Condition: {
                        ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${OFFLINE_AWS_ACCOUNT}:log-group:*` },
                    },
                }),
                expect.objectContaining({
                    Principal: { Service: "logging.s3.amazonaws.com" },
                    Condition: { StringEquals: { "aws:SourceAccount": OFFLINE_AWS_ACCOUNT } },
                }),
            ]),
        );
        const groups = ofType(run, "aws:cloudwatch/logGroup:LogGroup");
        expect(groups.map((g) => g.inputs.name).sort()).toEqual(
            [
                "/aws/rds/instance/cellplane-cell-1/postgresql",
                "/aws/rds/instance/cellplane-cell-1/upgrade",
                "/aws/eks/cellplane-cell-1/cluster",
                "/cellplane/cell-1/msk-brokers",
                "/cellplane/cell-1/vpc-flow-logs",
            ].sort(),
        );
        for (const group of groups) expect(group.inputs).toMatchObject({ kmsKeyId: key(), retentionInDays: production ? 365 : 30 });
        const groupArn = (name: string) => `arn:aws:mock:::${groups.find((g) => g.inputs.name === name)!.name}`;

        const flowLog = single(run, "aws:ec2/flowLog:FlowLog").inputs;
        expect(flowLog).toMatchObject({
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: groupArn("/cellplane/cell-1/vpc-flow-logs"),
        });
        expect(flowLog.vpcId).toBe(single(run, "aws:ec2/vpc:Vpc").id);
        const writer = ofType(run, "aws:iam/role:Role").find((r) => flowLog.iamRoleArn.includes(r.name))!;
        expect(JSON.parse(writer.inputs.assumeRolePolicy).Statement).toEqual([
            expect.objectContaining({
                Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                Condition: { StringEquals: { "aws:SourceAccount": OFFLINE_AWS_ACCOUNT } },
            }),
        ]);

        const database = single(run, "aws:rds/instance:Instance");
        expect(database.inputs).toMatchObject({ identifier: "cellplane-cell-1", enabledCloudwatchLogsExports: ["postgresql", "upgrade"] });
        // RDS would create its groups itself, unencrypted, if they did not exist before the instance.
        expect(database.dependsOn).toEqual(
            expect.arrayContaining(groups.filter((g) => g.inputs.name.startsWith("/aws/rds/")).map((g) => g.name)),
        );
        // EKS too creates its control plane's group, unencrypted and kept forever, unless it exists before the cluster.
        const eks = single(run, "aws:eks/cluster:Cluster");
        expect(eks.inputs).toMatchObject({ name: "cellplane-cell-1", enabledClusterLogTypes: ["api", "audit", "authenticator"] });
        expect(eks.dependsOn).toContain(groups.find((g) => g.inputs.name === `/aws/eks/${eks.inputs.name}/cluster`)!.name);
        expect(single(run, "aws:msk/cluster:Cluster").inputs.loggingInfo).toEqual({
            brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: "/cellplane/cell-1/msk-brokers" } },
        });

        const logging = named(run, "cell-1-object-store-access-logs").inputs;
        const accessLogs = named(run, "cell-1-audit-access-logs");
        expect(logging).toMatchObject({
            bucket: named(run, "cell-1-object-store-exports").id,
            targetBucket: accessLogs.id,
            targetPrefix: "s3-access/cell-1-exports/",
        });
        expect(named(run, "cell-1-audit-access-logs-sse").inputs.rules[0].applyServerSideEncryptionByDefault).toEqual({
            sseAlgorithm: "aws:kms",
            kmsMasterKeyId: key(),
        });
        const delivery = JSON.parse(named(run, "cell-1-audit-access-logs-tls-only").inputs.policy).Statement[1];
        expect(delivery).toMatchObject({
            Principal: { Service: "logging.s3.amazonaws.com" },
            Action: "s3:PutObject",
            Condition: { StringEquals: { "aws:SourceAccount": OFFLINE_AWS_ACCOUNT } },
        });
    });

    test("provisions volumes through the EBS CSI add-on with a role of its own, into a default gp3 class encrypted with the cell's key", () => {
        const addon = ofType(run, "aws:eks/addon:Addon").find((a) => a.inputs.addonName === "aws-ebs-csi-driver")!;
        const [association] = addon.inputs.podIdentityAssociations;
        expect(association.serviceAccount).toBe(EBS_CSI_SERVICE_ACCOUNT);
        const role = ofType(run, "aws:iam/role:Role").find((r) => association.roleArn.includes(r.name))!;
        expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).toEqual([
            { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
        ]);
        const attached = ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.name.startsWith(role.name));
        expect(attached.map((a) => a.inputs.policyArn)).toEqual(["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]);
        const keyUse = ofType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === `${role.name}-key`)!;
        expect(JSON.parse(keyUse.inputs.policy).Statement[0]).toMatchObject({ Effect: "Allow", Resource: key() });

        const classes = ofType(run, "kubernetes:storage.k8s.io/v1:StorageClass");
        expect(classes.map((c) => c.inputs.metadata)).toEqual([
            expect.objectContaining({
                name: DEFAULT_STORAGE_CLASS,
                annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
            }),
        ]);
        expect(classes[0].inputs).toMatchObject({
            provisioner: "ebs.csi.aws.com",
            parameters: { type: "gp3", encrypted: "true", kmsKeyId: key() },
            volumeBindingMode: "WaitForFirstConsumer",
        });
    });

    test("runs EKS with secrets encrypted by the cell's key and a node group sized by the cell", () => {
        const eks = single(run, "aws:eks/cluster:Cluster").inputs;
        expect(eks.encryptionConfig).toEqual({ provider: { keyArn: key() }, resources: ["secrets"] });
        expect(eks.vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: !production });
        const nodes = single(run, "aws:eks/nodeGroup:NodeGroup").inputs;
        expect(nodes.instanceTypes).toEqual([AWS_INSTANCE_TYPES.medium.node]);
        expect(nodes.scalingConfig).toEqual({ minSize: 3, desiredSize: 4, maxSize: 8 });
        expect(single(run, "aws:kms/key:Key").inputs.enableKeyRotation).toBe(true);
    });

    test("enforces NetworkPolicies through the VPC CNI's policy agent, and lets the cell's pods reach RDS, MSK and Pod Identity only", () => {
        const cni = ofType(run, "aws:eks/addon:Addon").find((a) => a.inputs.addonName === "vpc-cni")!;
        // EKS runs a self-managed VPC CNI already; the managed add-on must take it over on create.
        expect(cni.inputs).toMatchObject({ resolveConflictsOnCreate: "OVERWRITE" });
        expect(JSON.parse(cni.inputs.configurationValues)).toEqual({ enableNetworkPolicy: "true" });
        const vpc = single(run, "aws:ec2/vpc:Vpc").inputs.cidrBlock;
        const egress = Object.fromEntries(
            ofType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
                .filter((p) => p.inputs.metadata.name.startsWith("to-"))
                .map((p) => [p.inputs.metadata.name, p.inputs.spec.egress]),
        );
        expect(egress).toEqual({
            "to-rds-and-msk": [
                {
                    to: [{ ipBlock: { cidr: vpc } }],
                    ports: [
                        { protocol: "TCP", port: 5432 },
                        { protocol: "TCP", port: 9094, endPort: 9098 },
                    ],
                },
            ],
            "to-pod-identity-agent": [{ to: [{ ipBlock: { cidr: "169.254.170.23/32" } }], ports: [{ protocol: "TCP", port: 80 }] }],
        });
    });

    test("runs ClickHouse and the stream operators on EKS, not the managed services", () => {
        expect(ofType(run, CLICKHOUSE_INSTALLATION)).toHaveLength(1);
        expect(ofType(run, KEEPER_INSTALLATION)).toHaveLength(1);
        expect(run.resources.filter((r) => /postgresql\.cnpg\.io|kafka\.strimzi\.io/.test(r.type))).toEqual([]);
        const charts = ofType(run, "kubernetes:helm.sh/v3:Release")
            .map((r) => r.inputs.chart)
            .sort();
        expect(charts).toEqual([
            "altinity-clickhouse-operator",
            "aws-load-balancer-controller",
            "flink-kubernetes-operator",
            "kube-prometheus-stack",
            "spark-operator",
        ]);
        expect(ofType(run, "kubernetes:helm.sh/v3:Release").every((r) => r.provider?.includes("cell-1-cluster-k8s"))).toBe(true);
    });

    test("has the cluster's Prometheus scrape its apps and ClickHouse (its Postgres, Kafka and object store are the cloud's) and evaluate the rule set", () => {
        expect(monitoringOf(run)).toEqual({
            serviceMonitors: ["export", "ingest", "ingest-consumer", "router"],
            podMonitors: ["clickhouse"],
            rules: 1,
        });
    });

    test("gives the Kafka apps an IAM role each through EKS Pod Identity, allowed what their grants allow on MSK and nothing more", () => {
        expect(ofType(run, "aws:eks/addon:Addon").map((a) => a.inputs.addonName)).toContain("eks-pod-identity-agent");
        const associations = ofType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation").map((a) => a.inputs);
        expect(associations.map((a) => [a.serviceAccount, a.namespace]).sort()).toEqual([
            ["aws-load-balancer-controller", "kube-system"],
            ["cellplane-clickhouse", "cell-1-data"],
            ["cellplane-export", "cell-1-data"],
            ["cellplane-ingest", "cell-1-data"],
            ["cellplane-ingest-consumer", "cell-1-data"],
            ["cellplane-lakehouse", "cell-1-data"],
            ["cellplane-streaming", "cell-1-data"],
        ]);
        const deployments = ofType(run, "kubernetes:apps/v1:Deployment");
        for (const { serviceAccount } of associations.filter(
            (a) =>
                a.namespace === "cell-1-data" &&
                !["cellplane-clickhouse", "cellplane-lakehouse", "cellplane-streaming"].includes(a.serviceAccount),
        )) {
            const app = serviceAccount.replace("cellplane-", "");
            const deployment = deployments.find((d) => d.inputs.metadata.name === app)!;
            expect(deployment.inputs.spec.template.spec.serviceAccountName).toBe(serviceAccount);
        }
        const roles = ofType(run, "aws:iam/role:Role").filter((r) => r.name.endsWith("-identity-role"));
        for (const role of roles) {
            expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).toEqual([
                { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
            ]);
        }
        const policyOf = (app: string) =>
            JSON.parse(ofType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === `cell-1-${app}-identity-policy`)!.inputs.policy);
        const allowed = (app: string) =>
            policyOf(app).Statement.flatMap((s: { Action: string[]; Resource: string }) =>
                s.Action.map((a) => `${a} ${s.Resource.split(":").pop()}`),
            );
        const cluster = "cluster/cell-1-kafka-cluster/00000000-0000-0000-0000-000000000000-1";
        const topic = (name: string) => `topic/cell-1-kafka-cluster/00000000-0000-0000-0000-000000000000-1/${name}`;
        expect(allowed("ingest").sort()).toEqual(
            [
                `kafka-cluster:Connect ${cluster}`,
                `kafka-cluster:DescribeCluster ${cluster}`,
                `kafka-cluster:WriteDataIdempotently ${cluster}`,
                `kafka-cluster:WriteData ${topic("events")}`,
                `kafka-cluster:DescribeTopic ${topic("events")}`,
            ].sort(),
        );
        expect(allowed("ingest").some((a: string) => a.includes("ReadData"))).toBe(false);
        expect(allowed("ingest-consumer")).toEqual(
            expect.arrayContaining([
                `kafka-cluster:ReadData ${topic("events")}`,
                `kafka-cluster:AlterGroup group/cell-1-kafka-cluster/00000000-0000-0000-0000-000000000000-1/ingest-clickhouse`,
                `kafka-cluster:WriteData ${topic("events-dead-letter")}`,
                `kafka-cluster:CreateTopic ${topic("*")}`,
            ]),
        );
        expect(allowed("export").some((a: string) => a.startsWith("kafka-cluster:"))).toBe(false);
    });

    test("lets the export app, which signs its tenants' download URLs, read the tenants' files and decrypt them, and nothing else", () => {
        const policy = JSON.parse(
            ofType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "cell-1-export-identity-policy")!.inputs.policy,
        );
        const bucket = named(run, "cell-1-object-store-exports");
        expect(policy.Statement).toEqual([
            { Effect: "Allow", Action: ["s3:GetObject"], Resource: `arn:aws:mock:::${bucket.name}/tenant=*` },
            { Effect: "Allow", Action: ["kms:Decrypt"], Resource: key() },
        ]);
    });

    test("lets the ClickHouse servers write the exports, keep their cold volume and read the lake, with the cell's key, and nothing else", () => {
        const installation = single(run, CLICKHOUSE_INSTALLATION).inputs;
        const [template] = installation.spec.templates.podTemplates;
        expect(template.spec.serviceAccountName).toBe("cellplane-clickhouse");
        const policy = JSON.parse(
            ofType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "cell-1-clickhouse-identity-policy")!.inputs.policy,
        );
        const arn = (name: string) => `arn:aws:mock:::${named(run, name).name}`;
        const [exports, cold, lake] = ["exports", "analytics-cold", "lake"].map((bucket) => arn(`cell-1-object-store-${bucket}`));
        expect(policy.Statement).toEqual([
            { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], Resource: `${exports}/*` },
            {
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                Resource: `${cold}/*`,
            },
            { Effect: "Allow", Action: ["s3:GetObject"], Resource: `${lake}/*` },
            { Effect: "Allow", Action: ["s3:ListBucket"], Resource: [exports, cold, lake] },
            { Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: key() },
        ]);
    });

    test("keeps ClickHouse's cold volume in a bucket of its own in the cell's region: SSE-KMS, private, logged, never versioned, tiered or expired", () => {
        const bucket = named(run, "cell-1-object-store-analytics-cold");
        expect(named(run, "cell-1-object-store-cold-sse").inputs.rules).toEqual([
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key() }, bucketKeyEnabled: true },
        ]);
        expect(named(run, "cell-1-object-store-cold-no-public").inputs).toMatchObject({
            blockPublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(named(run, "cell-1-object-store-cold-access-logs").inputs).toMatchObject({
            bucket: bucket.id,
            targetPrefix: "s3-access/cell-1-analytics-cold/",
        });
        // A version kept, or an object tiered to Glacier or expired, would be a part ClickHouse can no longer read or remove.
        expect(ofType(run, "aws:s3/bucketVersioning:BucketVersioning").map((v) => v.inputs.bucket)).not.toContain(bucket.id);
        expect(named(run, "cell-1-object-store-cold-lifecycle").inputs.rules).toEqual([
            { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ]);
        const xml: string = single(run, CLICKHOUSE_INSTALLATION).inputs.spec.configuration.files["config.d/storage.xml"];
        expect(xml).toContain(`<endpoint>https://${bucket.state.bucket}.s3.${cell.region}.amazonaws.com/clickhouse/</endpoint>`);
        expect(xml).toContain(`<region>${cell.region}</region>`);
        // No keys: the servers sign as their pod's role (EKS Pod Identity).
        expect(xml).toContain("<use_environment_credentials>true</use_environment_credentials>");
        expect(xml).not.toMatch(/access_key_id|secret_access_key/);
    });
});

test.each(["small", "medium", "large"] as const)("a %s AWS cell takes the instance types and node counts of its size", async (size) => {
    const run = await singleCellStack({ ...cell, size }, "dev");
    expect(single(run, "aws:rds/instance:Instance").inputs.instanceClass).toBe(AWS_INSTANCE_TYPES[size].database);
    const nodes = CELL_SHAPES[size].nodes;
    expect(single(run, "aws:eks/nodeGroup:NodeGroup").inputs.scalingConfig).toEqual({
        minSize: nodes.min,
        desiredSize: nodes.desired,
        maxSize: nodes.max,
    });
    const installation = single(run, CLICKHOUSE_INSTALLATION);
    expect(installation.inputs.spec.configuration.clusters[0].layout).toEqual({
        shardsCount: CELL_SHAPES[size].clickhouseShards,
        replicasCount: CELL_SHAPES[size].clickhouseReplicas,
    });
});

test("a retention shorter than a year drops the tiers that would start after expiry", async () => {
    const run = await singleCellStack(cell, "dev", 180);
    const [exports] = named(run, "cell-1-object-store-lifecycle").inputs.rules;
    expect(exports.transitions).toEqual([{ days: 90, storageClass: "STANDARD_IA" }]);
    expect(exports.expiration).toEqual({ days: 180 });
    expectS3LifecycleRules(exports.transitions, 180);
});

/**
 * What S3 accepts of a lifecycle rule's transitions (S3 User Guide, "Transitioning objects"): the waterfall only goes
 * colder (Standard-IA, then Glacier Flexible Retrieval, then Deep Archive), Standard-IA no sooner than 30 days after
 * creation, objects stay 90 days in Glacier before Deep Archive, and expiry comes after the last transition.
 */
function expectS3LifecycleRules(transitions: { days: number; storageClass: string }[], expireAfterDays: number) {
    const waterfall = ["STANDARD_IA", "GLACIER", "DEEP_ARCHIVE"];
    const order = transitions.map((t) => waterfall.indexOf(t.storageClass));
    expect(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]))).toBe(true);
    expect(transitions.every((t, n) => n === 0 || t.days > transitions[n - 1].days)).toBe(true);
    const ia = transitions.find((t) => t.storageClass === "STANDARD_IA");
    if (ia) expect(ia.days).toBeGreaterThanOrEqual(30);
    const glacier = transitions.find((t) => t.storageClass === "GLACIER");
    const deep = transitions.find((t) => t.storageClass === "DEEP_ARCHIVE");
    if (glacier && deep) expect(deep.days - glacier.days).toBeGreaterThanOrEqual(90);
    expect(transitions.every((t) => t.days < expireAfterDays)).toBe(true);
}

describe("the zones of an AWS cell, discovered for its region", () => {
    const zonesOf = (run: ProgramRun) =>
        ofType(run, "aws:ec2/subnet:Subnet")
            .filter((s) => s.name.includes("-private-"))
            .map((s) => s.inputs.availabilityZone);

    test("skip the zones where EKS cannot run (use1-az3, listed first here)", async () => {
        const run = await singleCellStack({ cloud: "aws", region: "us-east-1", residency: "us", size: "medium" }, "prod");
        expect(zonesOf(run)).toEqual(["us-east-1b", "us-east-1c", "us-east-1d"]);
    });

    test("span two zones in dev, and refuse a production cell where the region offers fewer than three", async () => {
        const dev = await singleCellStack({ cloud: "aws", region: "us-west-1", residency: "us", size: "small" }, "dev");
        expect(zonesOf(dev)).toEqual(["us-west-1a", "us-west-1b"]);
        const usWest = { id: "us-1", cloud: "aws", region: "us-west-1", residency: "us", size: "medium" } as CellContext["cell"];
        expect(() => spannedZones(["us-west-1a", "us-west-1b"], 3, { cell: usWest, production: true })).toThrow(
            "cellplane:cells[us-1].region us-west-1 offers 2 availability zones where EKS can run, and a production cell spans 3. Choose a region with 3 or more.",
        );
    });
});

test("each cell's provider takes the stack's aws: settings, in its own region, credentials as secrets", async () => {
    const assumeRoles = [{ roleArn: "arn:aws:iam::123456789012:role/deployer", sessionName: "cellplane" }];
    const run = await singleCellStack(cell, "dev", 2555, {
        "aws:profile": "platform",
        "aws:region": "us-east-1",
        "aws:assumeRoles": assumeRoles,
        "aws:allowedAccountIds": ["123456789012"],
        "aws:skipMetadataApiCheck": false,
        "aws:accessKey": "offline-access-key",
    });
    // The engine hands a provider its non-string settings as JSON.
    const inputs = single(run, "pulumi:providers:aws").inputs;
    const provider = Object.fromEntries(
        Object.entries(inputs).map(([key, value]) => [
            key,
            typeof value === "string" && /^([[{]|true$|false$)/.test(value) ? JSON.parse(value) : value,
        ]),
    );
    expect(provider).toMatchObject({
        region: cell.region,
        profile: "platform",
        allowedAccountIds: ["123456789012"],
        skipMetadataApiCheck: false,
        assumeRoles,
    });
    expect(secretValue(provider.accessKey)).toBe("offline-access-key");
});

test("a production EKS API server answers the admins' networks publicly when configured, and is private otherwise", async () => {
    const eu = { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" };
    const admins = await singleCellStack(eu, "prod", 2555, { adminCidrs: ["203.0.113.0/24"] });
    expect(single(admins, "aws:eks/cluster:Cluster").inputs.vpcConfig).toMatchObject({
        endpointPrivateAccess: true,
        endpointPublicAccess: true,
        publicAccessCidrs: ["203.0.113.0/24"],
    });
    const inside = await singleCellStack(eu, "prod");
    expect(single(inside, "aws:eks/cluster:Cluster").inputs.vpcConfig).toMatchObject({ endpointPublicAccess: false });
    expect(single(inside, "aws:eks/cluster:Cluster").inputs.vpcConfig.publicAccessCidrs).toBeUndefined();
});

test("EKS admin roles named in configuration get an access entry with cluster-admin rights, and the program acts as the first", async () => {
    const roles = ["arn:aws:iam::123456789012:role/platform-admin", "arn:aws:iam::123456789012:role/oncall"];
    const run = await singleCellStack({ cloud: "aws", region: "eu-central-1", residency: "eu", size: "small" }, "dev", 2555, {
        awsAdminRoleArns: roles,
    });
    expect(ofType(run, "aws:eks/accessEntry:AccessEntry").map((e) => e.inputs.principalArn)).toEqual(roles);
    expect(ofType(run, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").map((a) => a.inputs)).toEqual(
        roles.map((principalArn) =>
            expect.objectContaining({ principalArn, policyArn: CLUSTER_ADMIN_POLICY, accessScope: { type: "cluster" } }),
        ),
    );
    const provider = ofType(run, "pulumi:providers:kubernetes")[0];
    const kubeconfig = JSON.parse(provider.inputs.kubeconfig);
    expect(kubeconfig.users[0].user.exec.args).toEqual(expect.arrayContaining(["--role-arn", roles[0]]));
});
