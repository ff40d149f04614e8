import { VERSIONS } from "../../model/versions";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../secrets";
import type { PostgresConnection } from "../../model/connections";
import type { CellContext, PostgresDatabase, StoreAccess } from "../platform";
import type { AzureAuditTrail } from "./auditTrail";
import type { AzureNetwork } from "./network";
import { AZURE_SKUS, flexibleServerStorageGb } from "./sizing";

export interface FlexiblePostgresArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    network: AzureNetwork;
    audit: AzureAuditTrail;
}

const DATABASE = "cellplane";
const ADMIN = "cellplane";

/** PostgreSQL 16 Flexible Server with private access only; zone-redundant HA and 30-day backups in production. */
export class FlexiblePostgres extends pulumi.ComponentResource implements PostgresDatabase {
    readonly host: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly database: pulumi.Output<string>;
    readonly user: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
    readonly access: StoreAccess<PostgresConnection>;

    constructor(name: string, args: FlexiblePostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:FlexiblePostgres", name, {}, opts);
        const { cell, shape, production, labels } = args.context;

        const password = generatedPassword(`${name}-password`, this);
        const server = new dbforpostgresql.Server(
            `${name}-server`,
            {
                resourceGroupName: args.resourceGroupName,
                location: cell.region,
                version: VERSIONS.flexiblePostgres.version,
                sku: AZURE_SKUS[cell.size].postgres,
                storage: { storageSizeGB: flexibleServerStorageGb(shape.postgresStorageGb), autoGrow: "Enabled" },
                administratorLogin: ADMIN,
                administratorLoginPassword: password,
                network: {
                    delegatedSubnetResourceId: args.network.postgresSubnetId,
                    privateDnsZoneArmResourceId: args.network.postgresDnsZoneId,
                    publicNetworkAccess: "Disabled",
                },
                backup: { backupRetentionDays: production ? 30 : 7, geoRedundantBackup: "Disabled" },
                highAvailability: { mode: production ? "ZoneRedundant" : "Disabled" },
                tags: labels.tags,
            },
            { parent: this, protect: production, dependsOn: [args.network.postgresDnsLink] },
        );
        new dbforpostgresql.Database(
            `${name}-database`,
            {
                resourceGroupName: args.resourceGroupName,
                serverName: server.name,
                databaseName: DATABASE,
                charset: "UTF8",
                collation: "en_US.utf8",
            },
            { parent: this },
        );

        // The lakehouse's cdc job decodes the metadata tables' changes (a logical slot, test_decoding): Flexible Server
        // takes wal_level as a server parameter, applied at its next restart. The slot may keep at most 1 GB of WAL.
        for (const [parameter, value] of [
            ["wal_level", "logical"],
            ["max_slot_wal_keep_size", "1024"],
        ])
            new dbforpostgresql.Configuration(
                `${name}-${parameter.replace(/_/g, "-")}`,
                {
                    resourceGroupName: args.resourceGroupName,
                    serverName: server.name,
                    configurationName: parameter,
                    value,
                    source: "user-override",
                },
                { parent: this },
            );

        // The server's logs (connections, errors, sessions) go to the cell's audit workspace.
        args.audit.diagnose(`${name}-diagnostics`, server.id, "allLogs", this);

        this.host = server.fullyQualifiedDomainName.apply((fqdn) => fqdn ?? "");
        this.port = pulumi.output(5432);
        this.database = pulumi.output(DATABASE);
        this.user = pulumi.output(ADMIN);
        this.password = password;
        // Flexible Server enforces TLS (require_secure_transport); its certificates chain to public roots (DigiCert).
        this.access = {
            connection: pulumi.output({ host: this.host, port: 5432, database: DATABASE, user: ADMIN, tls: "system" as const }),
            password: { value: password },
        };
        this.registerOutputs({ host: this.host });
    }
}
