/** Dynamic provider of what lives in the local servers: topics, buckets, ClickHouse databases, files, secrets. */
import { randomBytes } from "crypto";
import * as fs from "fs";
import { issueServerCertificate, newCertificateAuthority, stillValid } from "../certificates";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { containerExists, deleteContainer, ensureContainer } from "../blobContainers";
import { deleteBucket, ensureBucket, ensureColdBucket, readBucket } from "../buckets";
import {
    clickhouseDatabaseExists,
    clickhouseTableExists,
    dropClickHouseDatabase,
    dropClickHouseTable,
    ensureClickHouseDatabase,
    ensureClickHouseTable,
} from "../clickhouseDatabases";
import {
    dropMonitorRole,
    dropSchema,
    ensureMonitorRole,
    ensureSchema,
    type MonitorRoleSpec,
    monitorRoleIntact,
    schemaOwnedBy,
} from "../postgresObjects";
import type { PostgresServerSpec } from "../postgresServer";
import { removeEmptyParents } from "../supervisor";
import { deleteTopic, ensureTopic, readTopic } from "../topics";
import type { ResourceProps } from "../../../model/resourceProps";

/** Encrypted, unversioned, never expiring: what ClickHouse's cold disk and Iceberg's tables manage themselves. */
const UNEXPIRING_BUCKET = {
    ensure: (p: ResourceProps) => ensureColdBucket(p.server, p.spec.bucket),
    intact: async (p: ResourceProps) => {
        const state = await readBucket(p.server, p.spec.bucket);
        return state.exists && state.encrypted && !state.versioned && state.expirationDays === undefined;
    },
    remove: (p: ResourceProps) => deleteBucket(p.server, p.spec.bucket),
};

/**
 * How each kind of object is made, checked and removed. `intact` is false when it was damaged or removed by hand;
 * `observe`, where a kind has it, reads the settings drift checks classify (`observed`, null once the object is gone).
 */
const OBJECTS: Record<
    string,
    {
        ensure(p: ResourceProps): Promise<Record<string, unknown> | void>;
        intact(p: ResourceProps): Promise<boolean>;
        remove(p: ResourceProps): Promise<void>;
        observe?(p: ResourceProps): Promise<Record<string, unknown> | null>;
    }
> = {
    topic: {
        ensure: (p) => ensureTopic(p.server, p.spec),
        intact: async (p) => {
            const state = await readTopic(p.server, p.spec.topic);
            return state.exists && state.partitions! >= p.spec.partitions && state.retentionMs === p.spec.retentionDays * 86_400_000;
        },
        remove: (p) => deleteTopic(p.server, p.spec.topic),
    },
    bucket: {
        ensure: (p) => ensureBucket(p.server, p.spec),
        intact: async (p) => {
            const state = await readBucket(p.server, p.spec.bucket);
            return state.exists && state.versioned && state.encrypted && state.expirationDays === p.spec.retentionDays;
        },
        remove: (p) => deleteBucket(p.server, p.spec.bucket),
        observe: async (p) => {
            const { exists, ...settings } = await readBucket(p.server, p.spec.bucket);
            return exists ? settings : null;
        },
    },
    coldBucket: UNEXPIRING_BUCKET,
    lakeBucket: UNEXPIRING_BUCKET,
    container: {
        ensure: (p) => ensureContainer(p.server, p.spec.container),
        intact: (p) => containerExists(p.server, p.spec.container),
        remove: (p) => deleteContainer(p.server, p.spec.container),
    },
    postgresSchema: {
        ensure: (p) => ensureSchema(p.server, p.spec),
        intact: (p) => schemaOwnedBy(p.server, p.spec),
        remove: (p) => dropSchema(p.server, p.spec),
    },
    clickhouseTable: {
        ensure: (p) => ensureClickHouseTable(p.server, p.spec),
        intact: (p) => clickhouseTableExists(p.server, p.spec),
        remove: (p) => dropClickHouseTable(p.server, p.spec),
    },
    clickhouseDatabase: {
        ensure: (p) => ensureClickHouseDatabase(p.server, p.spec.database),
        intact: (p) => clickhouseDatabaseExists(p.server, p.spec.database),
        remove: (p) => dropClickHouseDatabase(p.server, p.spec.database),
    },
    file: {
        ensure: async (p) => {
            // Written whole and renamed into place, so an app that re-reads the file never sees half of it.
            fs.mkdirSync(path.dirname(p.spec.path), { recursive: true });
            const partial = `${p.spec.path}.${process.pid}.partial`;
            fs.writeFileSync(partial, p.spec.content);
            fs.renameSync(partial, p.spec.path);
        },
        intact: async (p) => fs.existsSync(p.spec.path) && fs.readFileSync(p.spec.path, "utf8") === p.spec.content,
        remove: async (p) => {
            fs.rmSync(p.spec.path, { force: true });
            removeEmptyParents(p.spec.path);
        },
    },
    /** The stack's CA (`{ cert, key }` as JSON), kept in the state as a secret; a new one once it nears expiry. */
    certificateAuthority: {
        ensure: async (p) => ({
            value: p.value && stillValid(JSON.parse(p.value)) ? p.value : JSON.stringify(newCertificateAuthority(p.spec.name)),
        }),
        intact: async (p) => typeof p.value === "string" && stillValid(JSON.parse(p.value)),
        remove: async () => undefined,
    },
    /** A server's certificate signed by the CA in `server`: issued again when the CA changes or it nears expiry. */
    serverCertificate: {
        ensure: async (p) => {
            const ca = JSON.parse(p.server as string);
            const current = p.value && stillValid(JSON.parse(p.value), ca);
            return { value: current ? p.value : JSON.stringify(issueServerCertificate(ca, p.spec.name)) };
        },
        intact: async (p) => typeof p.value === "string" && stillValid(JSON.parse(p.value), JSON.parse(p.server as string)),
        remove: async () => undefined,
    },
    /** postgres_exporter's role, whose generated password is its `value` (a secret), as a `secret`'s is. */
    postgresMonitorRole: {
        ensure: async (p) => {
            const value = p.value ?? randomBytes(16).toString("hex");
            await ensureMonitorRole(p.server as PostgresServerSpec, p.spec as MonitorRoleSpec, value);
            return { value };
        },
        intact: (p) => monitorRoleIntact(p.server as PostgresServerSpec, p.spec as MonitorRoleSpec),
        remove: (p) => dropMonitorRole(p.server as PostgresServerSpec, p.spec as MonitorRoleSpec),
    },
    /** A generated password, kept in the state (as a secret) and nowhere else. */
    secret: {
        ensure: async (p) => ({ value: p.value ?? randomBytes(p.spec.bytes).toString("hex") }),
        intact: async (p) => typeof p.value === "string",
        remove: async () => undefined,
    },
};

export interface ObjectProps {
    kind: string;
    observed?: Record<string, unknown> | null;
    server?: unknown;
    spec: ResourceProps;
    intact?: boolean;
    value?: string;
}

const idOf = (p: ObjectProps) => `${p.kind}:${JSON.stringify(p.spec)}`;

export async function check(_olds: ObjectProps, news: ObjectProps): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: news };
}

export async function create(inputs: ObjectProps): Promise<pulumi.dynamic.CreateResult> {
    const extra = await OBJECTS[inputs.kind].ensure(inputs);
    return { id: idOf(inputs), outs: { ...inputs, ...extra, ...(await observed(inputs)), intact: true } };
}

/** An object whose server is gone reads as damaged; `pulumi up` repairs it once the server is back. */
export async function read(id: string, props: ObjectProps): Promise<pulumi.dynamic.ReadResult> {
    const intact = await OBJECTS[props.kind].intact(props).catch(() => false);
    return { id, props: { ...props, ...(await observed(props)), intact } };
}

async function observed(p: ObjectProps): Promise<{ observed?: Record<string, unknown> | null }> {
    const observe = OBJECTS[p.kind].observe;
    return observe ? { observed: await observe(p).catch(() => null) } : {};
}

export async function diff(_id: string, olds: ObjectProps, news: ObjectProps): Promise<pulumi.dynamic.DiffResult> {
    const replaces = olds.kind !== news.kind ? ["kind"] : [];
    const changes =
        replaces.length > 0 ||
        JSON.stringify(olds.spec) !== JSON.stringify(news.spec) ||
        JSON.stringify(olds.server) !== JSON.stringify(news.server) ||
        olds.intact === false ||
        // State written before the kind was observed gains `observed` at the next up, not as drift at the next refresh.
        (OBJECTS[news.kind].observe !== undefined && olds.observed === undefined);
    return { changes, replaces, deleteBeforeReplace: true };
}

export async function update(_id: string, olds: ObjectProps, news: ObjectProps): Promise<pulumi.dynamic.UpdateResult> {
    const extra = await OBJECTS[news.kind].ensure({ ...news, value: olds.value });
    return { outs: { ...news, ...extra, ...(await observed(news)), intact: true } };
}

export async function remove(_id: string, props: ObjectProps): Promise<void> {
    // An object whose server was destroyed first went with it.
    await OBJECTS[props.kind].remove(props).catch((error: NodeJS.ErrnoException) => {
        if (!/ECONNREFUSED|fetch failed|Connection error/.test(`${error.code} ${error.message}`)) throw error;
    });
}

export { remove as delete };
