import { addressPlanOf } from "../../model/addressPlan";
import { cellOctetOf } from "../../model/config";
import { NETWORK_CONTRIBUTOR, requireEncryptionAtHost } from "../../components/azure/aksCluster";
import { AZURE_SKUS, FLEXIBLE_SERVER_STORAGE_GB, flexibleServerStorageGb } from "../../components/azure/sizing";
import { CELL_SHAPES } from "../../model/sizing";
import {
    CLICKHOUSE_INSTALLATION,
    named,
    monitoringOf,
    ofType,
    ProgramRun,
    SECRET_MARKER,
    secretValue,
    single,
    singleCellStack,
} from "../support/harness";
import { NETWORK_WATCHER_GROUP } from "../../components/azure/auditTrail";
import {
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
} from "../../components/azure/workloadIdentity";
import type { ResourceProps } from "../../model/resourceProps";
import { GEO_REDUNDANT_SKUS } from "../../components/azure/residencyGuardrails";
import { ALLOWED_LOCATIONS_POLICY } from "../../model/guardrails";
import { regionsOf } from "../../model/residency";

const cell = { cloud: "azure", region: "westeurope", residency: "eu", size: "medium" };
/** The cell's ranges: derived from its id, "cell-1", as no cidr is configured. */
const plan = addressPlanOf(cellOctetOf({ id: "cell-1" }));

describe.each([
    { environment: "dev" as const, production: false, backupDays: 7 },
    { environment: "prod" as const, production: true, backupDays: 30 },
])("an Azure cell in $environment", ({ environment, production, backupDays }) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack(cell, environment);
    });

    test("has a resource group of its own, and every located resource is in the cell's region", () => {
        expect(single(run, "azure-native:resources:ResourceGroup").inputs.location).toBe("westeurope");
        const located = run.resources.filter((r) => r.type.startsWith("azure-native:") && r.inputs.location !== undefined);
        const regions = new Set(located.filter((r) => !r.type.startsWith("azure-native:privatedns:")).map((r) => r.inputs.location));
        expect([...regions]).toEqual(["westeurope"]);
    });

    test("has Azure refuse, on its resource group, any resource outside the residency and any storage replicated to another region", () => {
        const group = single(run, "azure-native:resources:ResourceGroup");
        const assignments = ofType(run, "azure-native:authorization:PolicyAssignment");
        expect(assignments.map((a) => a.inputs.scope)).toEqual([group.id, group.id]);
        const locations = assignments.find((a) => a.inputs.policyDefinitionId === ALLOWED_LOCATIONS_POLICY)!;
        expect(locations.inputs).toMatchObject({
            enforcementMode: "Default",
            parameters: { listOfAllowedLocations: { value: [...regionsOf("eu", "azure")] } },
        });
        const definition = single(run, "azure-native:authorization:PolicyDefinition");
        expect(definition.inputs).toMatchObject({ policyType: "Custom", mode: "Indexed" });
        expect(definition.inputs.policyRule).toEqual({
            if: {
                allOf: [
                    { field: "type", equals: "Microsoft.Storage/storageAccounts" },
                    { field: "Microsoft.Storage/storageAccounts/sku.name", in: GEO_REDUNDANT_SKUS },
                ],
            },
            then: { effect: "deny" },
        });
        expect(assignments.some((a) => a.inputs.policyDefinitionId === definition.id)).toBe(true);
        // The cell's own accounts pass it.
        for (const account of ofType(run, "azure-native:storage:StorageAccount"))
            expect(GEO_REDUNDANT_SKUS).not.toContain(account.inputs.sku.name);
    });

    test("keeps an audit trail in its region: the services' diagnostic logs in a workspace, the VNet's flows in a closed account", () => {
        const retention = production ? 365 : 30;
        const workspace = single(run, "azure-native:operationalinsights:Workspace");
        expect(workspace.inputs).toMatchObject({
            location: "westeurope",
            retentionInDays: retention,
            features: { disableLocalAuth: true },
        });
        const settings = ofType(run, "azure-native:monitor:DiagnosticSetting");
        const idOf = (name: string) => `${name}-id`;
        const sent = Object.fromEntries(settings.map((d) => [d.inputs.resourceUri, d.inputs.logs]));
        expect(settings.every((d) => d.inputs.workspaceId === idOf(workspace.name))).toBe(true);
        expect(sent).toEqual({
            [idOf(single(run, "azure-native:dbforpostgresql:Server").name)]: [{ categoryGroup: "allLogs", enabled: true }],
            [idOf(single(run, "azure-native:eventhub:Namespace").name)]: [{ categoryGroup: "allLogs", enabled: true }],
            [idOf(single(run, "azure-native:containerservice:ManagedCluster").name)]: [{ categoryGroup: "audit", enabled: true }],
            [`${idOf("cell-1-object-store-account")}/blobServices/default`]: [{ categoryGroup: "allLogs", enabled: true }],
            [`${idOf("cell-1-object-store-lake-account")}/blobServices/default`]: [{ categoryGroup: "allLogs", enabled: true }],
            [`${idOf("cell-1-audit-flow-logs-account")}/blobServices/default`]: [{ categoryGroup: "allLogs", enabled: true }],
        });
        const flowLog = single(run, "azure-native:network:FlowLog").inputs;
        expect(flowLog).toMatchObject({
            resourceGroupName: NETWORK_WATCHER_GROUP,
            networkWatcherName: "NetworkWatcher_westeurope",
            location: "westeurope",
            targetResourceId: idOf(single(run, "azure-native:network:VirtualNetwork").name),
            storageId: idOf("cell-1-audit-flow-logs-account"),
            enabled: true,
            retentionPolicy: { enabled: true, days: retention },
        });
        // The account takes no shared key and admits only trusted Azure services: Network Watcher writes as its own identity.
        expect(named(run, "cell-1-audit-flow-logs-account").inputs).toMatchObject({
            allowSharedKeyAccess: false,
            networkRuleSet: { defaultAction: "Deny", bypass: "AzureServices" },
        });
        const [writer] = flowLog.identity.userAssignedIdentities;
        const grant = ofType(run, "azure-native:authorization:RoleAssignment").find(
            (g) => g.inputs.scope === idOf("cell-1-audit-flow-logs-account"),
        )!;
        expect(grant.inputs.roleDefinitionId).toBe(STORAGE_BLOB_DATA_CONTRIBUTOR);
        expect(writer).toBe(idOf("cell-1-audit-flow-logs-writer"));
    });

    test("runs PostgreSQL 16 Flexible Server with private access only", () => {
        const server = single(run, "azure-native:dbforpostgresql:Server").inputs;
        expect(server).toMatchObject({
            version: "16",
            sku: AZURE_SKUS.medium.postgres,
            storage: { storageSizeGB: 256 },
            network: { publicNetworkAccess: "Disabled" },
            backup: { backupRetentionDays: backupDays, geoRedundantBackup: "Disabled" },
            highAvailability: { mode: production ? "ZoneRedundant" : "Disabled" },
        });
        expect(server.network.delegatedSubnetResourceId).toEqual(expect.any(String));
        expect(server.network.privateDnsZoneArmResourceId).toEqual(expect.any(String));
        expect(secretValue(server.administratorLoginPassword)).toBe(`${SECRET_MARKER}cell-1-postgres-password`);
        const subnet = ofType(run, "azure-native:network:Subnet").find((s) => s.inputs.delegations)!;
        expect(subnet.inputs.delegations).toEqual([{ name: "postgres", serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }]);
    });

    test("opens the Postgres subnet to the VNet only", () => {
        const rules = single(run, "azure-native:network:NetworkSecurityGroup").inputs.securityRules;
        const allows = rules.filter((r: ResourceProps) => r.access === "Allow");
        expect(allows).toEqual([expect.objectContaining({ sourceAddressPrefix: plan.cidr, destinationPortRange: "5432" })]);
        expect(rules.at(-1)).toMatchObject({ access: "Deny", sourceAddressPrefix: "*", destinationPortRange: "*" });
    });

    test("speaks Kafka through an Event Hubs namespace with TLS 1.2, closed to everything but the cell", () => {
        const namespace = single(run, "azure-native:eventhub:Namespace").inputs;
        expect(namespace).toMatchObject({
            minimumTlsVersion: "1.2",
            disableLocalAuth: true,
            zoneRedundant: production,
            sku: { name: "Standard", capacity: 8 },
        });
        const rules = single(run, "azure-native:eventhub:NamespaceNetworkRuleSet").inputs;
        expect(rules.defaultAction).toBe("Deny");
        expect(rules.virtualNetworkRules).toHaveLength(1);
        expect(run.outputs.cells["cell-1"].endpoints.kafkaBootstrap).toBe("cell-1-kafka-ns.servicebus.windows.net:9093");
    });

    test("keeps exports in a StorageV2 account: HTTPS only, TLS 1.2, infrastructure encryption, no public blobs", () => {
        const account = named(run, "cell-1-object-store-account").inputs;
        expect(account).toMatchObject({
            kind: "StorageV2",
            sku: { name: production ? "Standard_ZRS" : "Standard_LRS" },
            enableHttpsTrafficOnly: true,
            minimumTlsVersion: "TLS1_2",
            allowBlobPublicAccess: false,
            encryption: { requireInfrastructureEncryption: true },
            networkRuleSet: { defaultAction: "Deny" },
        });
        expect(account.accountName).toMatch(/^[a-z0-9]{3,24}$/);
        expect(account.isHnsEnabled).toBe(false);
        expect(ofType(run, "azure-native:storage:BlobContainer").map((c) => [c.inputs.containerName, c.inputs.publicAccess])).toEqual([
            ["exports", "None"],
            ["analytics-cold", "None"],
            ["lake", "None"],
        ]);
    });

    test("keeps the lake in a Data Lake Storage account of its own (Iceberg's ADLS client speaks the DFS API), as closed as the exports'", () => {
        const exports = named(run, "cell-1-object-store-account").inputs;
        const lake = named(run, "cell-1-object-store-lake-account").inputs;
        // The hierarchical namespace is set at creation: turning it on later migrates the account.
        expect(lake.isHnsEnabled).toBe(true);
        const { isHnsEnabled: _namespace, accountName: _name, ...closedAsExports } = exports;
        expect(lake).toMatchObject(closedAsExports);
        expect(lake.accountName).toMatch(/^[a-z0-9]{3,24}$/);
        const container = ofType(run, "azure-native:storage:BlobContainer").find((c) => c.inputs.containerName === "lake")!;
        expect(container.inputs.accountName).toBe(lake.accountName);
        // No lifecycle rule of the cell's reaches the lake: Iceberg expires its own files.
        expect(ofType(run, "azure-native:storage:ManagementPolicy").map((p) => p.inputs.accountName)).not.toContain(lake.accountName);
    });

    test("keeps ClickHouse's cold volume in a container of the cell's account that no lifecycle rule touches, reached as the servers' identity", () => {
        const rules = single(run, "azure-native:storage:ManagementPolicy").inputs.policy.rules;
        // Blob's prefixMatch starts with the container's name: the rules reach the exports, never the cold parts.
        expect(rules.flatMap((r: ResourceProps) => r.definition.filters.prefixMatch).every((p: string) => p.startsWith("exports/"))).toBe(
            true,
        );
        const account = named(run, "cell-1-object-store-account");
        const xml: string = single(run, CLICKHOUSE_INSTALLATION).inputs.spec.configuration.files["config.d/storage.xml"];
        expect(xml).toContain("<type>azure_blob_storage</type>");
        expect(xml).toContain(`<storage_account_url>${account.state.primaryEndpoints.blob}</storage_account_url>`);
        expect(xml).toContain("<container_name>analytics-cold</container_name>");
        // No shared key (the account takes none): the servers' workload identity, which may write the account.
        expect(xml).toContain("<use_workload_identity>true</use_workload_identity>");
        expect(xml).not.toMatch(/account_key/);
    });

    test("tiers exports to cool after 90 days, to the coldest tier the account's redundancy has after 365, and deletes them at the retention", () => {
        const [rule, temp] = single(run, "azure-native:storage:ManagementPolicy").inputs.policy.rules;
        const sku = named(run, "cell-1-object-store-account").inputs.sku.name;
        // Azure offers no archive tier on zone-redundant accounts (ZRS, GZRS, RA-GZRS).
        expect(sku).toBe(production ? "Standard_ZRS" : "Standard_LRS");
        expect(rule.definition.actions.baseBlob).toEqual({
            tierToCool: { daysAfterModificationGreaterThan: 90 },
            [production ? "tierToCold" : "tierToArchive"]: { daysAfterModificationGreaterThan: 365 },
            delete: { daysAfterModificationGreaterThan: 2555 },
        });
        // Blob's lifecycle takes a tier's days only after the warmer tier's, and deletion after every tier.
        const { tierToCool, delete: deleted, ...coldest } = rule.definition.actions.baseBlob;
        const [coldestDays] = Object.values(coldest as Record<string, { daysAfterModificationGreaterThan: number }>);
        expect(tierToCool.daysAfterModificationGreaterThan).toBeLessThan(coldestDays.daysAfterModificationGreaterThan);
        expect(coldestDays.daysAfterModificationGreaterThan).toBeLessThan(deleted.daysAfterModificationGreaterThan);
        expect(temp).toMatchObject({
            name: "delete-temp-files",
            definition: {
                filters: { blobTypes: ["blockBlob"], prefixMatch: ["exports/temp/"] },
                actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 7 } } },
            },
        });
    });

    test("encrypts Kubernetes secrets with a Key Vault key the cluster identity may use", () => {
        const aks = single(run, "azure-native:containerservice:ManagedCluster").inputs;
        const key = single(run, "azure-native:keyvault:Key").inputs;
        expect(aks.securityProfile.azureKeyVaultKms).toMatchObject({
            enabled: true,
            keyId: `https://${key.vaultName}.vault.azure.net/keys/kubernetes-secrets/0123456789abcdef`,
        });
        expect(aks.identity).toEqual({ type: "UserAssigned", userAssignedIdentities: ["cell-1-cluster-key-identity-id"] });
        expect(single(run, "azure-native:keyvault:Vault").inputs.properties).toMatchObject({
            enableRbacAuthorization: true,
            enablePurgeProtection: true,
            tenantId: "00000000-0000-0000-0000-00000000cafe",
        });
        expect(
            ofType(run, "azure-native:authorization:RoleAssignment").find((r) => r.name === "cell-1-cluster-key-crypto-user")!.inputs,
        ).toMatchObject({
            principalId: "cell-1-cluster-key-identity-principal",
            scope: "cell-1-cluster-key-vault-id",
        });
    });

    test("takes its VNet, subnets and AKS Service range from the environment's address plan", () => {
        expect(single(run, "azure-native:network:VirtualNetwork").inputs.addressSpace).toEqual({ addressPrefixes: [plan.cidr] });
        expect(
            ofType(run, "azure-native:network:Subnet")
                .map((s) => s.inputs.addressPrefix)
                .sort(),
        ).toEqual([plan.azureClusterSubnet, plan.azurePostgresSubnet].sort());
        expect(single(run, "azure-native:containerservice:ManagedCluster").inputs.networkProfile).toMatchObject({
            serviceCidr: plan.aksServiceCidr,
            dnsServiceIP: plan.aksDnsServiceIp,
        });
    });

    test("creates Flexible Server only once its private DNS zone is linked to the VNet, so its record registers", () => {
        const link = single(run, "azure-native:privatedns:VirtualNetworkLink");
        expect(single(run, "azure-native:dbforpostgresql:Server").dependsOn).toContain(link.name);
    });

    test("lets the cluster's identity use its subnet (Network Contributor), as AKS requires of a user-assigned identity in a custom subnet", () => {
        const [pool] = single(run, "azure-native:containerservice:ManagedCluster").inputs.agentPoolProfiles;
        const assignment = ofType(run, "azure-native:authorization:RoleAssignment").find(
            (r) => r.inputs.roleDefinitionId === NETWORK_CONTRIBUTOR && r.inputs.scope === pool.vnetSubnetID,
        );
        expect(assignment?.inputs).toMatchObject({
            scope: pool.vnetSubnetID,
            principalId: "cell-1-cluster-key-identity-principal",
            principalType: "ServicePrincipal",
        });
        expect(single(run, "azure-native:containerservice:ManagedCluster").dependsOn).toContain(assignment!.name);
    });

    test(`runs its API server on AKS's ${production ? "Standard tier, with an uptime SLA" : "Free tier"}`, () => {
        expect(single(run, "azure-native:containerservice:ManagedCluster").inputs.sku).toEqual({
            name: "Base",
            tier: production ? "Standard" : "Free",
        });
    });

    test("runs AKS in the VNet with a private API server in production and nodes over zones", () => {
        const aks = single(run, "azure-native:containerservice:ManagedCluster").inputs;
        expect(aks.apiServerAccessProfile).toEqual({ enablePrivateCluster: production });
        const [pool] = aks.agentPoolProfiles;
        expect(pool).toMatchObject({ vmSize: AZURE_SKUS.medium.node, minCount: 3, count: 4, maxCount: 8, enableEncryptionAtHost: true });
        expect(pool.availabilityZones).toEqual(production ? ["1", "2", "3"] : undefined);
        expect(ofType(run, CLICKHOUSE_INSTALLATION)).toHaveLength(1);
        expect(ofType(run, CLICKHOUSE_INSTALLATION)[0].provider).toContain("cell-1-cluster-k8s");
    });

    test("has the cluster's Prometheus scrape its apps and ClickHouse (its Postgres, Kafka and object store are the cloud's) and evaluate the rule set", () => {
        expect(monitoringOf(run)).toEqual({
            serviceMonitors: ["export", "ingest", "ingest-consumer", "router"],
            podMonitors: ["clickhouse"],
            rules: 1,
        });
    });

    test("lets the ClickHouse servers write the exports as an Entra ID identity of their own, the account taking no shared key", () => {
        expect(single(run, "azure-native:containerservice:ManagedCluster").inputs).toMatchObject({
            oidcIssuerProfile: { enabled: true },
            securityProfile: { workloadIdentity: { enabled: true } },
        });
        const federation = ofType(run, "azure-native:managedidentity:FederatedIdentityCredential")
            .map((f) => f.inputs)
            .find((f) => f.subject.endsWith(":cellplane-clickhouse"));
        expect(federation).toMatchObject({
            issuer: "https://westeurope.oic.prod-aks.azure.com/cell-1-cluster-aks/",
            subject: "system:serviceaccount:cell-1-data:cellplane-clickhouse",
            audiences: ["api://AzureADTokenExchange"],
        });
        const account = ofType(run, "kubernetes:core/v1:ServiceAccount").find((a) => a.inputs.metadata.name === "cellplane-clickhouse")!;
        const identity = ofType(run, "azure-native:managedidentity:UserAssignedIdentity").find(
            (i) => i.name === "cell-1-clickhouse-workload-identity",
        )!;
        expect(account.inputs.metadata.annotations).toEqual({ "azure.workload.identity/client-id": `${identity.name}-client` });
        expect(federation!.resourceName).toBe(identity.name);
        const [template] = single(run, CLICKHOUSE_INSTALLATION).inputs.spec.templates.podTemplates;
        expect(template.metadata.labels).toEqual({ "azure.workload.identity/use": "true" });
        expect(template.spec.serviceAccountName).toBe("cellplane-clickhouse");
        const grant = ofType(run, "azure-native:authorization:RoleAssignment").find(
            (r) => r.name === "cell-1-clickhouse-writes-exports",
        )!.inputs;
        expect(grant).toMatchObject({
            roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            principalId: `${identity.name}-principal`,
            principalType: "ServicePrincipal",
        });
        expect(grant.scope).toBe(`${named(run, "cell-1-object-store-account").name}-id`);
        expect(named(run, "cell-1-object-store-account").inputs.allowSharedKeyAccess).toBe(false);
    });

    test("lets the export app sign its tenants' download URLs as an identity of its own that may only read the account", () => {
        const identity = ofType(run, "azure-native:managedidentity:UserAssignedIdentity").find(
            (i) => i.name === "cell-1-export-workload-identity",
        )!;
        const federation = ofType(run, "azure-native:managedidentity:FederatedIdentityCredential").find(
            (f) => f.inputs.resourceName === identity.name,
        )!;
        expect(federation.inputs.subject).toBe("system:serviceaccount:cell-1-data:cellplane-export");
        const account = ofType(run, "kubernetes:core/v1:ServiceAccount").find((a) => a.inputs.metadata.name === "cellplane-export")!;
        expect(account.inputs.metadata.annotations).toEqual({ "azure.workload.identity/client-id": `${identity.name}-client` });
        const deployment = ofType(run, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === "export")!;
        expect(deployment.inputs.spec.template.metadata.labels).toMatchObject({ "azure.workload.identity/use": "true" });
        const grants = ofType(run, "azure-native:authorization:RoleAssignment").filter(
            (r) => r.inputs.principalId === `${identity.name}-principal`,
        );
        // Storage Blob Data Reader: reads blobs and gets the user delegation key a read-only SAS is signed with.
        expect(grants.map((g) => [g.inputs.roleDefinitionId, g.inputs.scope])).toEqual([
            [STORAGE_BLOB_DATA_READER, `${named(run, "cell-1-object-store-account").name}-id`],
        ]);
        expect(STORAGE_BLOB_DATA_READER).toBe("/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1");
        const router = ofType(run, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === "router");
        expect(router?.inputs.spec.template.metadata.labels["azure.workload.identity/use"]).toBeUndefined();
    });

    test("lets ingest send and the consumer receive (and set aside) events as identities of their own, Event Hubs taking no shared key", () => {
        const namespace = single(run, "azure-native:eventhub:Namespace");
        expect(namespace.inputs.disableLocalAuth).toBe(true);
        expect(ofType(run, "azure-native:eventhub:NamespaceAuthorizationRule")).toEqual([]);
        const rolesOf = (workload: string, serviceAccount: string, deployment: string) => {
            const identity = ofType(run, "azure-native:managedidentity:UserAssignedIdentity").find(
                (i) => i.name === `cell-1-${workload}-workload-identity`,
            )!;
            const federation = ofType(run, "azure-native:managedidentity:FederatedIdentityCredential").find(
                (f) => f.inputs.resourceName === identity.name,
            )!;
            expect(federation.inputs.subject).toBe(`system:serviceaccount:cell-1-data:${serviceAccount}`);
            const account = ofType(run, "kubernetes:core/v1:ServiceAccount").find((a) => a.inputs.metadata.name === serviceAccount)!;
            expect(account.inputs.metadata.annotations).toEqual({ "azure.workload.identity/client-id": `${identity.name}-client` });
            const pods = ofType(run, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === deployment)!;
            expect(pods.inputs.spec.template.metadata.labels).toMatchObject({ "azure.workload.identity/use": "true" });
            return ofType(run, "azure-native:authorization:RoleAssignment")
                .filter((r) => r.inputs.principalId === `${identity.name}-principal`)
                .map((g) => [g.inputs.roleDefinitionId, g.inputs.scope]);
        };
        const scope = `${namespace.name}-id`;
        expect(rolesOf("ingest", "cellplane-ingest", "ingest")).toEqual([[EVENT_HUBS_DATA_SENDER, scope]]);
        expect(rolesOf("consumer", "cellplane-ingest-consumer", "ingest-consumer")).toEqual([
            [EVENT_HUBS_DATA_RECEIVER, scope],
            [EVENT_HUBS_DATA_SENDER, scope],
        ]);
        expect([EVENT_HUBS_DATA_SENDER, EVENT_HUBS_DATA_RECEIVER]).toEqual([
            "/providers/Microsoft.Authorization/roleDefinitions/2b629674-e913-4c01-ae53-ef4638d8f975",
            "/providers/Microsoft.Authorization/roleDefinitions/a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
        ]);
    });
});

test.each(["small", "medium", "large"] as const)("a %s Azure cell takes the SKUs of its size", async (size) => {
    const run = await singleCellStack({ ...cell, size }, "dev");
    expect(single(run, "azure-native:dbforpostgresql:Server").inputs.sku).toEqual(AZURE_SKUS[size].postgres);
    expect(single(run, "azure-native:eventhub:Namespace").inputs.sku).toMatchObject({
        name: AZURE_SKUS[size].eventHubs.name,
        capacity: AZURE_SKUS[size].eventHubs.capacity,
    });
    expect(single(run, "azure-native:containerservice:ManagedCluster").inputs.agentPoolProfiles[0].vmSize).toBe(AZURE_SKUS[size].node);
});

test("Flexible Server gets a disk size Azure offers, the smallest that holds each cell size's storage", () => {
    for (const shape of Object.values(CELL_SHAPES)) {
        const size = flexibleServerStorageGb(shape.postgresStorageGb);
        expect(FLEXIBLE_SERVER_STORAGE_GB).toContain(size);
        expect(size).toBeGreaterThanOrEqual(shape.postgresStorageGb);
        expect(FLEXIBLE_SERVER_STORAGE_GB.filter((offered) => offered < size).every((offered) => offered < shape.postgresStorageGb)).toBe(
            true,
        );
    }
    expect(() => flexibleServerStorageGb(40_000)).toThrow(/at most 32767 GiB; 40000 GiB was asked for/);
});

test("AKS nodes encrypt at host only on a subscription that registered the feature; otherwise the cell names the command", () => {
    expect(requireEncryptionAtHost("Registered", "eu-1")).toBe(true);
    for (const state of [undefined, "NotRegistered", "Registering"])
        expect(() => requireEncryptionAtHost(state, "eu-1")).toThrow(
            `cell eu-1: the subscription has not registered Microsoft.Compute/EncryptionAtHost (state: ${state ?? "not registered"}), which AKS nodes with encryption at host need. Run once per subscription: az feature register --namespace Microsoft.Compute --name EncryptionAtHost`,
        );
});

test("a production AKS API server answers the admins' networks publicly when configured, and is private otherwise", async () => {
    const admins = await singleCellStack(cell, "prod", 2555, { adminCidrs: ["203.0.113.0/24"] });
    expect(single(admins, "azure-native:containerservice:ManagedCluster").inputs.apiServerAccessProfile).toEqual({
        enablePrivateCluster: false,
        authorizedIPRanges: ["203.0.113.0/24"],
    });
    const inside = await singleCellStack(cell, "prod");
    expect(single(inside, "azure-native:containerservice:ManagedCluster").inputs.apiServerAccessProfile).toEqual({
        enablePrivateCluster: true,
    });
});
