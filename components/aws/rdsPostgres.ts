import { VERSIONS } from "../../model/versions";
import * as kms from "@pulumi/aws/kms";
import * as rds from "@pulumi/aws/rds";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../secrets";
import type { PostgresConnection } from "../../model/connections";
import type { CellContext, PostgresDatabase, StoreAccess } from "../platform";
import { rdsCaBundle } from "./rdsCa";
import { type AwsAuditTrail, RDS_LOG_EXPORTS, rdsIdentifierOf } from "./auditTrail";
import type { AwsNetwork } from "./network";
import { AWS_INSTANCE_TYPES } from "./sizing";

export interface RdsPostgresArgs {
    context: CellContext;
    network: AwsNetwork;
    key: kms.Key;
    audit: AwsAuditTrail;
}

export const POSTGRES_ENGINE_VERSION = VERSIONS.rdsPostgres.version;
export const DATABASE_NAME = "cellplane";
export const DATABASE_USER = "cellplane";

/**
 * Logical decoding, which the lakehouse's CDC job reads the metadata tables' changes with. `rds.logical_replication`
 * is static (RDS applies it at the next reboot) and sets `wal_level` to logical; a slot no run reads is given up
 * after 1 GiB of WAL rather than filling the instance's storage. The master user may use slots (rds_superuser).
 */
export const LOGICAL_DECODING = [
    { name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" },
    { name: "max_slot_wal_keep_size", value: "1024", applyMethod: "immediate" },
] as const;

/** A parameter group serves one engine's major version: `postgres16` for 16 or 16.x. */
export const rdsParameterFamily = (engineVersion: string) => `postgres${engineVersion.split(".")[0]}`;

/** The cell's metadata database: RDS PostgreSQL 16, encrypted with the cell's key, private to the VPC. */
export class RdsPostgres extends pulumi.ComponentResource implements PostgresDatabase {
    readonly instance: rds.Instance;
    readonly host: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly database: pulumi.Output<string>;
    readonly user: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
    readonly access: StoreAccess<PostgresConnection>;

    constructor(name: string, args: RdsPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:RdsPostgres", name, {}, opts);
        const { cell, shape, production, labels } = args.context;
        const tags = labels.tags;

        const password = generatedPassword(`${name}-password`, this);
        const subnets = new rds.SubnetGroup(`${name}-subnets`, { subnetIds: args.network.privateSubnetIds, tags }, { parent: this });
        const parameters = new rds.ParameterGroup(
            `${name}-parameters`,
            {
                family: rdsParameterFamily(POSTGRES_ENGINE_VERSION),
                parameters: LOGICAL_DECODING.map((p) => ({ ...p })),
                tags,
            },
            { parent: this },
        );

        this.instance = new rds.Instance(
            `${name}-db`,
            {
                identifier: rdsIdentifierOf(cell.id),
                engine: "postgres",
                engineVersion: POSTGRES_ENGINE_VERSION,
                instanceClass: AWS_INSTANCE_TYPES[cell.size].database,
                allocatedStorage: shape.postgresStorageGb,
                storageType: "gp3",
                storageEncrypted: true,
                kmsKeyId: args.key.arn,
                dbName: DATABASE_NAME,
                username: DATABASE_USER,
                password: password,
                dbSubnetGroupName: subnets.name,
                parameterGroupName: parameters.name,
                vpcSecurityGroupIds: [args.network.dataSecurityGroup.id],
                publiclyAccessible: false,
                multiAz: production,
                backupRetentionPeriod: production ? 30 : 7,
                deletionProtection: production,
                skipFinalSnapshot: !production,
                finalSnapshotIdentifier: production ? `${cell.id}-postgres-final` : undefined,
                copyTagsToSnapshot: true,
                autoMinorVersionUpgrade: true,
                performanceInsightsEnabled: production,
                performanceInsightsKmsKeyId: production ? args.key.arn : undefined,
                // Into the audit trail's groups, which exist first so RDS never creates them unencrypted.
                enabledCloudwatchLogsExports: RDS_LOG_EXPORTS,
                tags,
            },
            { parent: this, protect: production, dependsOn: args.audit.databaseLogs },
        );

        this.host = this.instance.address;
        this.port = this.instance.port;
        this.database = pulumi.output(DATABASE_NAME);
        this.user = pulumi.output(DATABASE_USER);
        this.password = password;
        // RDS PostgreSQL 15+ has rds.force_ssl on: plain text is refused.
        this.access = {
            connection: pulumi.output({
                host: this.host,
                port: this.port,
                database: DATABASE_NAME,
                user: DATABASE_USER,
                tls: "ca" as const,
            }),
            ca: { value: rdsCaBundle(cell.region) },
            password: { value: password },
        };
        this.registerOutputs({ host: this.host, port: this.port });
    }
}
