import { Provider as AwsProvider } from "@pulumi/aws/provider";
import * as kms from "@pulumi/aws/kms";
import { InClusterParts, inClusterAppUrlOf } from "../kubernetes";
import type { CellContext, CellPlatform, CellTarget } from "../platform";
import { EksCluster } from "./eksCluster";
import { MskKafka } from "./mskKafka";
import { AwsNetwork } from "./network";
import { RdsPostgres } from "./rdsPostgres";
import { S3ObjectStore } from "./s3ObjectStore";

/** AWS: managed Postgres (RDS), Kafka (MSK) and storage (S3); ClickHouse and the operators on EKS. */
export const awsTarget: CellTarget = {
    platform(context: CellContext): CellPlatform {
        const { cell, parent, labels } = context;
        const provider = new AwsProvider(`${cell.id}-aws`, { region: cell.region }, { parent });
        const opts = { parent, providers: [provider] };

        const key = new kms.Key(
            `${cell.id}-key`,
            {
                description: `Cellplane ${cell.id}: encryption of Postgres, Kafka, exports and Kubernetes secrets`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags: labels.tags,
            },
            { parent, provider },
        );
        new kms.Alias(`${cell.id}-key`, { name: `alias/cellplane-${cell.id}`, targetKeyId: key.keyId }, { parent, provider });

        const network = new AwsNetwork(`${cell.id}-network`, { context }, opts);
        const cluster = new EksCluster(`${cell.id}-cluster`, { context, network, key }, opts);
        const inCluster = new InClusterParts(context, cluster.provider);

        return {
            postgres: () => new RdsPostgres(`${cell.id}-postgres`, { context, network, key }, opts),
            kafka: () => new MskKafka(`${cell.id}-kafka`, { context, network, key }, opts),
            clickhouse: () => inCluster.clickhouse(),
            objectStore: () => new S3ObjectStore(`${cell.id}-object-store`, { context, key }, opts),
            streamOperators: () => inCluster.streamOperators(),
            tenantDirectory: (directory) => inCluster.tenantDirectory(directory),
            app: (spec, appOpts) => inCluster.app(spec, appOpts),
        };
    },
    appUrl: inClusterAppUrlOf,
};
