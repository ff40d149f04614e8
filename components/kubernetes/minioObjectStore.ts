import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../secrets";
import type { CellContext, ObjectStore } from "../platform";
import { guaranteed, helmRelease } from "./charts";

export interface MinioObjectStoreArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
}

/** An S3-compatible store for clusters without a cloud one: MinIO with the cell's exports bucket, versioned. */
export class MinioObjectStore extends pulumi.ComponentResource implements ObjectStore {
    readonly bucket: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;

    constructor(name: string, args: MinioObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:MinioObjectStore", name, {}, opts);
        const { cell, shape, production, labels } = args.context;
        const bucket = `${cell.id}-exports`;

        const rootPassword = generatedPassword(`${name}-root`, this, 40);
        const root = new core.Secret(
            `${name}-root`,
            {
                metadata: { name: "minio-root", namespace: args.namespace, labels: labels.kubernetes },
                stringData: { rootUser: "cellplane", rootPassword: rootPassword },
            },
            { parent: this },
        );

        helmRelease(
            `${name}-minio`,
            {
                chart: "minio",
                namespace: args.namespace,
                values: {
                    mode: production ? "distributed" : "standalone",
                    replicas: production ? 4 : 1,
                    existingSecret: root.metadata.name,
                    persistence: { size: `${shape.clickhouseStorageGb}Gi` },
                    resources: guaranteed({ cpu: "1", memory: "2Gi" }),
                    securityContext: { enabled: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
                    buckets: [{ name: bucket, policy: "none", versioning: true, purge: false }],
                    podLabels: labels.kubernetes,
                },
            },
            { parent: this },
        );

        this.bucket = pulumi.output(bucket);
        this.endpoint = pulumi.interpolate`http://minio.${args.namespace}.svc.cluster.local:9000`;
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
    }
}
