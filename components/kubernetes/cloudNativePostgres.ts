import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../secrets";
import type { PostgresConnection } from "../../model/connections";
import type { CellContext, PostgresDatabase, StoreAccess } from "../platform";
import { guaranteed, IMAGES } from "./charts";
import { podMonitor } from "./monitoring";

export interface CloudNativePostgresArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    /** The cluster's CloudNativePG operator, which the cell's database waits for. */
    operator: pulumi.Resource;
    /** The cluster's monitoring stack: its Prometheus scrapes each instance's exporter. */
    monitoring: pulumi.Resource;
}

const CLUSTER = "postgres";
const DATABASE = "cellplane";
const OWNER = "cellplane";

/** PostgreSQL 16 by CloudNativePG: one primary and, from medium size, streaming replicas. */
export class CloudNativePostgres extends pulumi.ComponentResource implements PostgresDatabase {
    readonly host: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly database: pulumi.Output<string>;
    readonly user: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
    readonly access: StoreAccess<PostgresConnection>;

    constructor(name: string, args: CloudNativePostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:CloudNativePostgres", name, {}, opts);
        const { cell, shape, production, labels } = args.context;

        const { operator } = args;
        const password = generatedPassword(`${name}-password`, this);
        const appSecret = new core.Secret(
            `${name}-app`,
            {
                metadata: { name: `${CLUSTER}-app-credentials`, namespace: args.namespace, labels: labels.kubernetes },
                type: "kubernetes.io/basic-auth",
                stringData: { username: OWNER, password: password },
            },
            { parent: this },
        );

        new CustomResource(
            `${name}-cluster`,
            {
                apiVersion: "postgresql.cnpg.io/v1",
                kind: "Cluster",
                metadata: { name: CLUSTER, namespace: args.namespace, labels: labels.kubernetes },
                spec: {
                    instances: production ? Math.max(3, shape.postgresInstances) : shape.postgresInstances,
                    imageName: IMAGES.postgres,
                    storage: { size: `${shape.postgresStorageGb}Gi`, ...(cell.storageClass ? { storageClass: cell.storageClass } : {}) },
                    resources: guaranteed(shape.pod),
                    bootstrap: { initdb: { database: DATABASE, owner: OWNER, secret: { name: appSecret.metadata.name } } },
                    // Logical decoding for the lakehouse's CDC job, which reads through a slot as the tables' owner; a
                    // slot no run reads is given up after 1 GiB of WAL rather than filling the volume.
                    postgresql: { parameters: { wal_level: "logical", max_slot_wal_keep_size: "1GB" } },
                    managed: {
                        roles: [
                            {
                                name: OWNER,
                                ensure: "present",
                                login: true,
                                replication: true,
                                passwordSecret: { name: appSecret.metadata.name },
                            },
                        ],
                    },
                    enableSuperuserAccess: false,
                },
            },
            { parent: this, dependsOn: [operator] },
        );
        // Every CloudNativePG instance exports its metrics on its port named `metrics` (9187).
        podMonitor(
            `${name}-monitor`,
            {
                context: args.context,
                namespace: args.namespace,
                job: "postgres",
                selector: { "cnpg.io/cluster": CLUSTER },
                port: "metrics",
                monitoring: args.monitoring,
            },
            { parent: this },
        );

        // `<cluster>-rw.<namespace>.svc` is among the server certificate's names, which CloudNativePG signs with the
        // CA it keeps in the `<cluster>-ca` Secret.
        this.host = pulumi.interpolate`${CLUSTER}-rw.${args.namespace}.svc`;
        this.port = pulumi.output(5432);
        this.database = pulumi.output(DATABASE);
        this.user = pulumi.output(OWNER);
        this.password = password;
        this.access = {
            connection: pulumi.output({ host: this.host, port: 5432, database: DATABASE, user: OWNER, tls: "ca" as const }),
            ca: { secretKeyRef: { name: `${CLUSTER}-ca`, key: "ca.crt" } },
            password: { value: password },
        };
        this.registerOutputs({ host: this.host });
    }
}
