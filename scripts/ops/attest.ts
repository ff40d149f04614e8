import { attestationPrivateKey, Signed, signatureHolds, signReport } from "../../model/attestation";
import { residencyOfRegion } from "../../model/residency";
import { holdsData } from "../../model/stateful";
import { headerText, KafkaMessage, readRanges, topicOffsets } from "../../apps/shared/kafka";
import { deadLetterTopic, EVENTS_TOPIC, windowsTopic } from "../../apps/shared/topics";
import { clickhouseOfCell, exportFilesOf, kafkaOfCell, withCellPostgres } from "./cellClients";
import { cellOfResource, deployedResources, StateResource } from "./deployedState";
import { driftOf } from "./drift";
import { Refusal } from "./environment";
import type { CellOutputs } from "./keys";
import { stackPlacing } from "./keys";
import { ANALYTICS_TABLES, prefixOf, rowCountsOf, TENANT_ROWS } from "./tenantData";
import { nameOfUrn } from "./urns";
import { openStack } from "./workspace";

/** The topics of a cell that carry tenants' events: every record of them is searched. */
const SEARCHED_TOPICS = [EVENTS_TOPIC, deadLetterTopic(EVENTS_TOPIC), windowsTopic(EVENTS_TOPIC)];

/** One store that can hold the tenant's data, as the deployed state and the store itself show it. */
export interface StoreEvidence {
    store: "postgres" | "kafka" | "clickhouse" | "objects";
    /** The engine's URN of the resource that is the store. */
    resource: string;
    region: { value: string; residency?: string; source: string };
    encryption: { inTransit: string; atRest: string };
    replication: string;
    publicAccess: boolean;
    /** What of the tenant it holds now. */
    holds: string;
}

/** Negative evidence: what of the tenant a store of another residency holds (zero, or the verdict is red). */
export interface ElsewhereSearch {
    cell: string;
    residency: string;
    store: string;
    hits: number;
    searched: string;
}

export interface Attestation {
    tenant: string;
    env: string;
    stack: string;
    residency: string;
    cell: string;
    issuedAt: string;
    routing: { router: string; cell: string };
    stores: StoreEvidence[];
    policies: { evaluated: number; mandatory: string[] };
    drift: { status: string; drifted: string[] };
    elsewhere: ElsewhereSearch[];
    verdict: "green" | "red";
    reasons: string[];
}

/** The store types the program creates, per store: local servers, the clouds' services, and the operators' resources. */
const STORE_TYPES: Record<StoreEvidence["store"], string[]> = {
    postgres: [
        "pulumi-nodejs:dynamic/cellplane:LocalPostgresServer",
        "aws:rds/instance:Instance",
        "azure-native:dbforpostgresql:Server",
        "kubernetes:postgresql.cnpg.io/v1:Cluster",
    ],
    kafka: [
        "pulumi-nodejs:dynamic/cellplane:LocalKafkaServer",
        "aws:msk/cluster:Cluster",
        "azure-native:eventhub:Namespace",
        "kubernetes:kafka.strimzi.io/v1:Kafka",
    ],
    clickhouse: ["pulumi-nodejs:dynamic/cellplane:LocalClickhouseServer", "kubernetes:clickhouse.altinity.com/v1:ClickHouseInstallation"],
    objects: [
        "pulumi-nodejs:dynamic/cellplane:LocalSeaweedfsServer",
        "pulumi-nodejs:dynamic/cellplane:LocalAzuriteServer",
        "aws:s3/bucket:Bucket",
        "azure-native:storage:StorageAccount",
    ],
};

/**
 * A signed residency attestation of one tenant: every store that can hold its data, with its region, encryption,
 * replication and exposure read from the deployed state (not the stack file), what it holds there; its routing; the
 * policy pack over the deployed state; drift; and a search of every store of the other residencies for its id. A store
 * outside the residency, a mandatory policy finding or any hit elsewhere makes the verdict red. Signed with the key of
 * the tenant's residency (`model/attestation.ts`).
 */
export async function attest(projectDir: string, env: string, tenant: string, say: (line: string) => void): Promise<Signed<Attestation>> {
    const stackName = stackPlacing(projectDir, env, tenant);
    const stack = await openStack(projectDir, env, stackName);
    const outputs = await stack.outputs();
    const route = outputs.routing?.value?.[tenant];
    if (!route)
        throw new Refusal(`tenant ${tenant} is placed in its stack file but not yet deployed: run cellplane rollout --env ${env} first`);
    const cells: Record<string, CellOutputs & { region: string }> = outputs.cells.value;
    const home = cells[route.cell];
    const residency: string = route.residency;
    const router = outputs.routers.value[residency] as { cell: string; url: string };
    const resources = await deployedResources(stack);

    say(`stores of cell ${route.cell}…`);
    const stores = await storesOf(resources, route.cell, home, tenant);
    say("drift, and the policy pack over the live state…");
    const drift = await driftOf(projectDir, env, stackName);
    const findings = drift.policies?.findings ?? [];
    const others = Object.entries(cells).filter(([, cell]) => cell.residency !== residency);
    say(`searching ${others.length} cell(s) of other residencies for ${tenant}…`);
    const elsewhere = (await Promise.all(others.map(([id, cell]) => searchCell(id, cell, tenant)))).flat();

    const mandatory = findings.filter((f) => f.level === "mandatory").map((f) => `${f.policy}: ${f.message}`);
    const reasons = [
        ...stores
            .filter((s) => s.region.residency !== residency)
            .map((s) => `${s.store} ${nameOfUrn(s.resource)} is in ${s.region.value}, outside residency ${residency}`),
        ...elsewhere
            .filter((e) => e.hits > 0)
            .map((e) => `${e.hits} hit(s) for ${tenant} in the ${e.store} of cell ${e.cell} (${e.residency})`),
        ...mandatory.map((m) => `mandatory policy violated on the live state: ${m}`),
        ...(drift.policies ? [] : [`the live state could not be read, so no policy was evaluated on it: ${drift.message}`]),
    ];
    const body: Attestation = {
        tenant,
        env,
        stack: stackName,
        residency,
        cell: route.cell,
        issuedAt: new Date().toISOString(),
        routing: { router: router.url, cell: route.cell },
        stores,
        policies: { evaluated: drift.policies?.evaluated ?? 0, mandatory },
        drift: { status: drift.status, drifted: drift.drifted.map((d) => `${d.name} (${d.type})`) },
        elsewhere,
        verdict: reasons.length === 0 ? "green" : "red",
        reasons,
    };
    return signReport(body, attestationPrivateKey(cells[router.cell].credentials.routerKey));
}

/** Checks an attestation against the environment's published key of its residency, and its age. */
export async function verifyAttestation(projectDir: string, env: string, signed: Signed<Attestation>, maxAgeMs: number): Promise<string[]> {
    const stack = await openStack(projectDir, env, signed.body.stack);
    const published: string | undefined = (await stack.outputs()).attestationKeys?.value?.[signed.body.residency];
    const problems: string[] = [];
    if (!published) problems.push(`stack ${signed.body.stack} publishes no attestation key for residency ${signed.body.residency}`);
    else if (signed.signature.publicKey.trim() !== published.trim())
        problems.push(`the report is signed with a key other than residency ${signed.body.residency}'s`);
    else if (!signatureHolds(signed, published)) problems.push("the signature does not hold: the report was changed after it was signed");
    const age = Date.now() - Date.parse(signed.body.issuedAt);
    if (!(age <= maxAgeMs)) problems.push(`issued ${signed.body.issuedAt}, more than ${maxAgeMs / 3_600_000} h ago: attest again`);
    return problems;
}

async function storesOf(resources: StateResource[], cellId: string, cell: CellOutputs & { region: string }, tenant: string) {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const own = resources.filter((r) => cellOfResource(byUrn, r.urn) === cellId && holdsData(r.type, r.inputs ?? {}));
    const held = await heldIn(cell, tenant);
    const providerRegion = (r: StateResource) => {
        const provider = r.provider ? byUrn.get(r.provider.split("::").slice(0, -1).join("::")) : undefined;
        return (provider?.outputs?.region ?? provider?.inputs?.region) as string | undefined;
    };
    return (Object.keys(STORE_TYPES) as StoreEvidence["store"][]).flatMap((store): StoreEvidence[] => {
        const resource = own.find((r) => STORE_TYPES[store].includes(r.type));
        if (!resource) return [];
        const state = { ...resource.inputs, ...resource.outputs };
        const arnRegion = typeof state.arn === "string" ? state.arn.split(":")[3] : undefined;
        const region = arnRegion
            ? { value: arnRegion, source: "the resource's ARN in the deployed state" }
            : typeof state.location === "string"
              ? { value: state.location, source: "the resource's location in the deployed state" }
              : providerRegion(resource)
                ? { value: providerRegion(resource)!, source: "its provider's region in the deployed state" }
                : { value: cell.region, source: "its cell's region in the stack's outputs (a local server has none of its own)" };
        return [
            {
                store,
                resource: resource.urn,
                region: { ...region, residency: residencyOfRegion(region.value) },
                encryption: encryptionOf(store, cell, state),
                replication: replicationOf(state),
                publicAccess: publicAccessOf(store, cell, state),
                holds: held[store],
            },
        ];
    });
}

const TLS = "TLS, verified against the stack's CA";

function encryptionOf(store: StoreEvidence["store"], cell: CellOutputs, state: Record<string, unknown>): StoreEvidence["encryption"] {
    const { endpoints } = cell;
    const inTransit = {
        postgres: endpoints.postgres.ca ? TLS : "TLS",
        kafka: endpoints.kafkaCa ? `${TLS}, SASL/SCRAM` : "TLS",
        clickhouse: endpoints.clickhouseUrl.startsWith("https:") ? TLS : "none",
        objects: endpoints.objectStoreEndpoint.startsWith("https:") ? TLS : "none",
    }[store];
    const atRest =
        state.storageEncrypted === true || state.kmsKeyId
            ? `encrypted with ${String(state.kmsKeyId ?? "the service's key")}`
            : store === "objects" && state.kind !== "azurite" && endpoints.objectStoreProtocol === "s3"
              ? "SSE-S3 (AES-256), the bucket's default"
              : "none beyond the host's disk (local cells)";
    return { inTransit, atRest };
}

const replicationOf = (state: Record<string, unknown>) =>
    state.multiAz === true ? "synchronous standby in another zone of the region" : "none: one copy in the cell";

function publicAccessOf(store: StoreEvidence["store"], cell: CellOutputs, state: Record<string, unknown>): boolean {
    if (state.publiclyAccessible === true || state.publicNetworkAccess === "Enabled") return true;
    const host = {
        postgres: cell.endpoints.postgres.host,
        kafka: cell.endpoints.kafkaBootstrap.split(":")[0],
        clickhouse: new URL(cell.endpoints.clickhouseUrl).hostname,
        objects: new URL(cell.endpoints.objectStoreEndpoint).hostname,
    }[store];
    return !/^(127\.|localhost$|10\.|192\.168\.|.*\.svc(\.cluster\.local)?$|.*\.internal$)/.test(host);
}

/** What the tenant holds in each store of its cell. */
async function heldIn(cell: CellOutputs, tenant: string): Promise<Record<StoreEvidence["store"], string>> {
    const clickhouse = clickhouseOfCell(cell);
    try {
        const rows = await postgresHits(cell, tenant);
        const months = await (
            await clickhouse.query({
                query: "SELECT DISTINCT toString(toYYYYMM(_partition_date)) AS month FROM analytics.events WHERE org_id = {org:String} ORDER BY month",
                query_params: { org: tenant },
                format: "JSONEachRow",
            })
        ).json<{ month: string }>();
        const objects = (await exportFilesOf(cell).list(prefixOf(tenant))).length;
        return {
            postgres: `${rows} rows (API keys, export schedules and jobs)`,
            kafka: `its events in topic events until the consumer stores them, and their windows in events-windows (retention: the topics')`,
            clickhouse: `partitions (${tenant}, ${months.map((m) => m.month).join(", ") || "none"}) of analytics.events and its rollups`,
            objects: `${objects} exported files under ${prefixOf(tenant)} in bucket ${cell.endpoints.bucket}`,
        };
    } finally {
        await clickhouse.close();
    }
}

/** The tenant's rows in a cell's Postgres, read without touching its schema. */
async function postgresHits(cell: CellOutputs, tenant: string): Promise<number> {
    const counts = await withCellPostgres(cell, (pool) => rowCountsOf(pool, tenant), { migrate: false });
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** Records of the cell's topics that name the tenant, in their key, their `org_id` header or their value. */
async function kafkaHits(cell: CellOutputs, tenant: string): Promise<number> {
    const kafka = kafkaOfCell(cell, "cellplane-attest");
    const admin = kafka.admin();
    try {
        const ranges = (
            await Promise.all(
                SEARCHED_TOPICS.map(async (topic) =>
                    (await topicOffsets(admin, topic)).map(({ partition, low, high }) => ({ topic, partition, from: low, to: high })),
                ),
            )
        ).flat();
        const names = (m: KafkaMessage) =>
            [m.key?.toString(), headerText(m, "org_id"), m.value?.toString()].some((text) => text?.includes(tenant));
        return (await readRanges(kafka, ranges)).filter(names).length;
    } finally {
        await admin.close();
    }
}

/** Every store of a cell of another residency, searched for the tenant: rows, records, events and any object whose name has its id. */
async function searchCell(id: string, cell: CellOutputs, tenant: string): Promise<ElsewhereSearch[]> {
    const base = { cell: id, residency: cell.residency };
    const clickhouse = clickhouseOfCell(cell);
    try {
        let events = 0;
        for (const table of ANALYTICS_TABLES) {
            const result = await clickhouse.query({
                query: `SELECT count() AS n FROM analytics.${table} WHERE org_id = {org:String}`,
                query_params: { org: tenant },
                format: "JSONEachRow",
            });
            events += Number((await result.json<{ n: string }>())[0].n);
        }
        const objects = (await exportFilesOf(cell).list("")).filter((name) => name.includes(tenant)).length;
        return [
            {
                ...base,
                store: "postgres",
                hits: await postgresHits(cell, tenant),
                searched: TENANT_ROWS.map(([t]) => `cellplane.${t}`).join(", "),
            },
            {
                ...base,
                store: "kafka",
                hits: await kafkaHits(cell, tenant),
                searched: `every record of topics ${SEARCHED_TOPICS.join(", ")}`,
            },
            { ...base, store: "clickhouse", hits: events, searched: ANALYTICS_TABLES.map((t) => `analytics.${t}`).join(", ") },
            { ...base, store: "objects", hits: objects, searched: `every object name in bucket ${cell.endpoints.bucket}` },
        ];
    } finally {
        await clickhouse.close();
    }
}
