import { Provider as AwsProvider } from "@pulumi/aws/provider";
import { InClusterParts } from "../kubernetes";
import { clusterAppUrl, publicNamesOf } from "../kubernetes/edge";
import type { EdgeNames } from "../../model/edge";
import { LoadBalancerEdge } from "./loadBalancerEdge";
import type { AppName } from "../apps/bundle";
import { serviceAccountOf } from "../kubernetes/appDeployment";
import type { CellContext, CellPlatform, CellTarget, KafkaApp } from "../platform";
import { AppPodIdentity, clickhousePolicy, downloadsPolicy, lakehousePolicy, mskPolicy } from "./podIdentity";
import { LAKEHOUSE_SERVICE_ACCOUNT } from "../kubernetes/lakehouseJobs";
import { STREAMING_SERVICE_ACCOUNT } from "../kubernetes/streamingJob";
import { CLICKHOUSE_SERVICE_ACCOUNT } from "../kubernetes/clickhouse";
import * as pulumi from "@pulumi/pulumi";
import { AwsAuditTrail } from "./auditTrail";
import { cellKey } from "./cellKey";
import { cellProviderArgs } from "./stackSettings";
import { EksCluster } from "./eksCluster";
import { MskKafka } from "./mskKafka";
import { AwsNetwork } from "./network";
import { RdsPostgres } from "./rdsPostgres";
import { ResidencyBoundary } from "./residencyBoundary";
import { S3ObjectStore } from "./s3ObjectStore";

/** The apps that reach Kafka, as the cell's Kafka grants name them. */
const KAFKA_APPS: Partial<Record<AppName, KafkaApp>> = { ingest: "ingest", "ingest-consumer": "consumer" };

/** AWS: managed Postgres (RDS), Kafka (MSK) and storage (S3); ClickHouse and the operators on EKS. */
export const awsTarget = (names: EdgeNames): CellTarget => ({
    platform(context: CellContext): CellPlatform {
        const { cell, parent } = context;
        const provider = new AwsProvider(`${cell.id}-aws`, cellProviderArgs(cell.region), { parent });
        const boundary = new ResidencyBoundary(`${cell.id}-residency-boundary`, { context }, { parent, providers: [provider] });
        const opts = { parent, providers: [provider], transformations: [boundary.transformation()] };

        const { key, accountId } = cellKey(context, { parent, provider });
        const audit = new AwsAuditTrail(`${cell.id}-audit`, { context, key, accountId }, opts);
        const network = new AwsNetwork(`${cell.id}-network`, { context, audit }, opts);
        const cluster = new EksCluster(`${cell.id}-cluster`, { context, network, key, audit }, opts);
        const inCluster = InClusterParts.onOwnCluster(
            context,
            cluster.provider,
            [
                { name: "to-rds-and-msk", cidr: network.cidr, ports: [{ port: 5432 }, { port: 9094, endPort: 9098 }] },
                // EKS Pod Identity's agent answers pods on a link-local address of each node.
                { name: "to-pod-identity-agent", cidr: "169.254.170.23/32", ports: [{ port: 80 }] },
            ],
            (namespace) =>
                new LoadBalancerEdge(
                    `${cell.id}-edge`,
                    {
                        context,
                        clusterName: cluster.cluster.name,
                        vpcId: network.vpc.id,
                        vpcCidr: network.cidr,
                        namespace,
                        names: publicNamesOf(context, names),
                        dnsZone: names.dnsZone,
                        kubernetes: cluster.provider,
                    },
                    opts,
                ),
        );

        let kafka: MskKafka | undefined;
        /** An IAM role the pods of `serviceAccount` take through EKS Pod Identity. */
        const podIdentity = (name: string, serviceAccount: string, policy: pulumi.Input<object>) =>
            new AppPodIdentity(
                `${cell.id}-${name}-identity`,
                { context, clusterName: cluster.cluster.name, namespace: inCluster.dataNamespace, serviceAccount, policy },
                opts,
            );
        let exportsBucketArn: pulumi.Output<string> | undefined;
        let lakeBucketArn: pulumi.Output<string> | undefined;
        /** MSK IAM for the apps that use Kafka; reading the exports for the export app, which signs their download URLs. */
        const identityOf = (app: AppName) => {
            const kafkaApp = KAFKA_APPS[app];
            if (kafka && kafkaApp)
                podIdentity(
                    app,
                    serviceAccountOf(app),
                    kafka.cluster.arn.apply((arn) => mskPolicy(arn, kafkaApp)),
                );
            if (app === "export" && exportsBucketArn)
                podIdentity(
                    app,
                    serviceAccountOf(app),
                    pulumi.all([exportsBucketArn, key.arn]).apply(([bucket, keyArn]) => downloadsPolicy(bucket, keyArn)),
                );
        };
        /** ClickHouse writes the exports and keeps its cold volume: both buckets and their key, as the servers' own role. */
        const exportsStore = () => {
            const store = new S3ObjectStore(
                `${cell.id}-object-store`,
                { context, key, accessLogs: { bucket: audit.accessLogsBucket.id } },
                opts,
            );
            exportsBucketArn = store.bucketResource.arn;
            lakeBucketArn = store.lakeBucket.arn;
            podIdentity(
                "clickhouse",
                CLICKHOUSE_SERVICE_ACCOUNT,
                pulumi
                    .all([store.bucketResource.arn, store.coldBucket.arn, store.lakeBucket.arn, key.arn])
                    .apply(([exports, cold, lake, keyArn]) => clickhousePolicy({ exports, cold, lake }, keyArn)),
            );
            return store;
        };
        return {
            postgres: () => new RdsPostgres(`${cell.id}-postgres`, { context, network, key, audit }, opts),
            kafka: () => (kafka = new MskKafka(`${cell.id}-kafka`, { context, network, key, audit }, opts)),
            clickhouse: (objectStore, lake) => inCluster.clickhouse(objectStore.coldDisk, undefined, lake),
            objectStore: exportsStore,
            streamOperators: () => inCluster.streamOperators(),
            lakehouseJobs: (stores, jobOpts) => {
                // The jobs read the events with MSK IAM and write the lake with their pods' role.
                if (kafka && lakeBucketArn)
                    podIdentity(
                        "lakehouse",
                        LAKEHOUSE_SERVICE_ACCOUNT,
                        pulumi
                            .all([kafka.cluster.arn, lakeBucketArn, key.arn])
                            .apply(([clusterArn, lake, keyArn]) => lakehousePolicy(clusterArn, lake, keyArn)),
                    );
                inCluster.lakehouseJobs(stores, jobOpts);
            },
            streamingJob: (kafkaAccess, jobOpts) => {
                // The job reads and writes the cell's topics with MSK IAM, as its own principal.
                if (kafka)
                    podIdentity(
                        "streaming",
                        STREAMING_SERVICE_ACCOUNT,
                        kafka.cluster.arn.apply((arn) => mskPolicy(arn, "streaming")),
                    );
                inCluster.streamingJob(kafkaAccess, jobOpts);
            },
            tenantDirectory: (directory) => inCluster.tenantDirectory(directory),
            app: (spec, appOpts) => {
                identityOf(spec.bundle.app);
                return inCluster.app(spec, appOpts);
            },
            secret: (name, bytes) => inCluster.secret(name, bytes),
        };
    },
    appUrl: clusterAppUrl(names),
});
