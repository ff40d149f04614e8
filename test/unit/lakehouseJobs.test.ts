import * as fs from "fs";
import * as path from "path";
import { ICEBERG_AZURE_JAR, LAKEHOUSE_JARS, mavenCentralUrl, MSK_IAM_JAR, SPARK_VERSION } from "../../apps/lakehouse/engines";
import { KAFKA_TOKEN_DIR, KAFKA_TOKEN_FILE } from "../../apps/lakehouse/entraToken";
import { EVENT_HUBS_DATA_RECEIVER, STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_READER } from "../../components/azure/workloadIdentity";
import { LAKEHOUSE_JOBS, type LakehouseSettings, settingsOfConnections } from "../../apps/lakehouse/jobs";
import { JOBS_SCRIPT } from "../../apps/lakehouse/sparkSubmit";
import { lakeReaderPassword, lakeTablesDdl, readerSettings, tenantViewsDdl } from "../../apps/lakehouse/lakeSql";
import { LAKE_READER_PROFILE } from "../../components/kubernetes/clickhouse";
import { IMAGES } from "../../components/kubernetes/charts";
import { LAKEHOUSE_SERVICE_ACCOUNT } from "../../components/kubernetes/lakehouseJobs";
import type { KafkaConnection } from "../../model/connections";
import { VERSIONS } from "../../model/versions";
import type { ResourceProps } from "../../model/resourceProps";
import { type MockedResource, ofType, type ProgramRun, SECRET_MARKER, secretValue, singleCellStack } from "../support/harness";

const SCHEDULED = "kubernetes:sparkoperator.k8s.io/v1beta2:ScheduledSparkApplication";
const NAMESPACE = "cell-1-data";

const envOf = (pod: ResourceProps, name: string) => pod.env.find((e: ResourceProps) => e.name === name);
const settingsOf = (job: MockedResource): LakehouseSettings => JSON.parse(envOf(job.inputs.spec.template.driver, "LAKEHOUSE").value);
/** A store's connection as one of the cell's apps gets it: the jobs must reach the very same store. */
const appConnection = (run: ProgramRun, variable: string, app = "ingest") => {
    const deployment = ofType(run, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === app)!;
    return JSON.parse(envOf(deployment.inputs.spec.template.spec.containers[0], variable).value);
};

describe.each([
    {
        target: "kubernetes",
        cell: { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" },
    },
    { target: "aws", cell: { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" } },
    { target: "azure", cell: { cloud: "azure", region: "westeurope", residency: "eu", size: "medium" } },
])("the lakehouse jobs of a $target cell", ({ target, cell }) => {
    let run: ProgramRun;
    let jobs: MockedResource[];
    beforeAll(async () => {
        run = await singleCellStack(cell, "prod");
        jobs = ofType(run, SCHEDULED);
    });

    test("are one ScheduledSparkApplication per job in the cell's jobs namespace, on the job's schedule in UTC, one run at a time", () => {
        expect(jobs.map((j) => [j.inputs.metadata.name, j.inputs.metadata.namespace, j.inputs.spec.schedule])).toEqual(
            LAKEHOUSE_JOBS.map((job) => [`lakehouse-${job.name}`, NAMESPACE, job.schedule]),
        );
        for (const job of jobs) {
            // The CRD's enums (sparkoperator.k8s.io/v1beta2, spark-operator 2.5.2): concurrencyPolicy Allow|Forbid|Replace,
            // type Java|Scala|Python|R, mode cluster|client|in-cluster-client, restartPolicy Never|OnFailure|Always.
            expect(job.inputs.spec).toMatchObject({ timeZone: "UTC", concurrencyPolicy: "Forbid" });
            expect(job.inputs.spec.template).toMatchObject({
                type: "Python",
                mode: "cluster",
                arguments: [job.inputs.metadata.name.slice(10)],
            });
            expect(job.inputs.spec.template.restartPolicy.type).toBe("OnFailure");
            expect(job.inputs.spec.template.restartPolicy.onFailureRetries).toBeGreaterThan(0);
            expect(job.inputs.metadata.labels["cellplane.io/cell"]).toBe("cell-1");
        }
    });

    test("tell the script the operator's retry policy, so that each attempt it records says when the operator tries again", () => {
        for (const job of jobs) {
            const { onFailureRetries, onFailureRetryInterval } = job.inputs.spec.template.restartPolicy;
            expect(settingsOf(job).runs).toEqual({ retries: onFailureRetries, retryIntervalSeconds: onFailureRetryInterval });
        }
    });

    test("run the pinned official Spark image of the jobs' Spark, whose Java runs it, as the script every target runs", () => {
        const script = ofType(run, "kubernetes:core/v1:ConfigMap").find((c) => c.inputs.metadata.name.startsWith("lakehouse-"))!;
        expect(script.inputs.immutable).toBe(true);
        expect(script.inputs.data["cellplane_lakehouse.py"]).toBe(fs.readFileSync(JOBS_SCRIPT, "utf8"));
        expect(JSON.parse(script.inputs.data["tables.json"])).toEqual(
            JSON.parse(fs.readFileSync(path.join(path.dirname(JOBS_SCRIPT), "tables.json"), "utf8")),
        );
        expect(VERSIONS.sparkImage.version.startsWith(`${SPARK_VERSION}-`)).toBe(true);
        expect(VERSIONS.sparkImage.version).toContain("java17-python3");
        for (const job of jobs) {
            const template = job.inputs.spec.template;
            // sparkVersion and mainApplicationFile are required by the CRD; the file is where the ConfigMap is mounted.
            expect(template).toMatchObject({ image: IMAGES.spark, sparkVersion: SPARK_VERSION });
            const scriptVolume = template.volumes.find((v: ResourceProps) => v.configMap?.name === script.inputs.metadata.name);
            const mount = template.driver.volumeMounts.find((m: ResourceProps) => m.name === scriptVolume.name);
            expect(template.mainApplicationFile).toBe(`local://${mount.mountPath}/cellplane_lakehouse.py`);
        }
    });

    test("run as the jobs' own ServiceAccount, non-root with no privilege, whose Role reaches only its namespace's pods and their kin", () => {
        const account = ofType(run, "kubernetes:core/v1:ServiceAccount").filter(
            (a) => a.inputs.metadata.name === LAKEHOUSE_SERVICE_ACCOUNT,
        );
        expect(account.map((a) => a.inputs.metadata.namespace)).toEqual([NAMESPACE]);
        const binding = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").find(
            (b) => b.inputs.metadata.name === LAKEHOUSE_SERVICE_ACCOUNT,
        )!;
        expect(binding.inputs.subjects).toEqual([{ kind: "ServiceAccount", name: LAKEHOUSE_SERVICE_ACCOUNT, namespace: NAMESPACE }]);
        const role = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:Role").find(
            (r) => r.inputs.metadata.name === binding.inputs.roleRef.name,
        )!;
        expect(role.inputs.metadata.namespace).toBe(NAMESPACE);
        expect(role.inputs.rules.flatMap((r: ResourceProps) => r.resources).sort()).toEqual([
            "configmaps",
            "persistentvolumeclaims",
            "pods",
            "services",
        ]);
        for (const job of jobs) {
            for (const pod of [job.inputs.spec.template.driver, job.inputs.spec.template.executor]) {
                expect(pod.serviceAccount).toBe(LAKEHOUSE_SERVICE_ACCOUNT);
                expect(pod.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 185 });
                expect(pod.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
                // The CRD's cores is an integer; memory takes the JVM's sizes (512m, 2g).
                expect(Number.isInteger(pod.cores)).toBe(true);
                expect(pod.memory).toMatch(/^\d+[kmgt]$/);
            }
        }
    });

    test("read the cell's own Postgres and Kafka as its apps reach them, and write its own lake bucket", () => {
        const postgres = appConnection(run, "POSTGRES");
        const kafka = appConnection(run, "KAFKA");
        for (const job of jobs) {
            const settings = settingsOf(job);
            expect(settings.catalog.jdbcUrl).toContain(`//${postgres.host}:${postgres.port}/${postgres.database}?`);
            expect(settings.catalog.jdbcUrl).toContain("sslmode=verify-full");
            expect(settings.kafka).toMatchObject({ bootstrap: kafka.brokers.join(","), topic: "events", tls: true });
            if (target === "azure") {
                const account = ofType(run, "azure-native:storage:StorageAccount").find(
                    (a) => a.name === "cell-1-object-store-lake-account",
                )!;
                expect(settings.warehouse).toBe(`abfss://lake@${account.inputs.accountName}.dfs.core.windows.net/warehouse`);
                continue;
            }
            const lake = ofType(run, target === "aws" ? "aws:s3/bucket:Bucket" : "kubernetes:helm.sh/v3:Release");
            const lakeBucket = settings.warehouse.replace(/^s3:\/\/([^/]+)\/warehouse$/, "$1");
            if (target === "aws") expect(lake.map((b) => b.state.bucket)).toContain(lakeBucket);
            else expect(JSON.stringify(lake.map((r) => r.inputs.values))).toContain(`{"name":"${lakeBucket}"}`);
            expect(lakeBucket).toBe(target === "aws" ? "cell-1-object-store-lake" : "cell-1-lake");
        }
    });

    test("take every secret from a Secret, none in the spec, and every CA from a mounted file", () => {
        const secret = ofType(run, "kubernetes:core/v1:Secret").find((s) => s.inputs.metadata.name === "lakehouse-secrets")!;
        const generated = Object.keys(secretValue(secret.inputs.stringData) as object).sort();
        // What the program holds (passwords, SeaweedFS's keys, RDS's CA bundle); Strimzi's users and CA, and CloudNativePG's
        // CA, stay in the Secrets their operators write. Azure's services are signed by public roots and reached with
        // identities: only the database's password.
        const held = {
            aws: ["POSTGRES_PASSWORD", "postgres.pem"],
            kubernetes: ["OBJECT_STORE_PASSWORD", "POSTGRES_PASSWORD"],
            azure: ["POSTGRES_PASSWORD"],
        };
        expect(generated).toEqual(held[target as keyof typeof held]);
        for (const job of jobs) {
            expect(JSON.stringify(job.inputs)).not.toContain(SECRET_MARKER);
            const driver = job.inputs.spec.template.driver;
            for (const variable of driver.env.filter((e: ResourceProps) => e.name !== "LAKEHOUSE")) {
                expect(variable.value).toBeUndefined();
                expect(variable.valueFrom.secretKeyRef).toEqual({ name: expect.any(String), key: expect.any(String) });
            }
            const settings = settingsOf(job);
            const caMount = driver.volumeMounts.find((m: ResourceProps) => m.name === "ca").mountPath;
            const caFiles = job.inputs.spec.template.volumes
                .find((v: ResourceProps) => v.name === "ca")
                .projected.sources.flatMap((s: ResourceProps) => s.secret.items.map((i: ResourceProps) => `${caMount}/${i.path}`));
            if (settings.kafka.caFile) expect(caFiles).toContain(settings.kafka.caFile);
            const rootCert = new URL(settings.catalog.jdbcUrl.replace(/^jdbc:/, "")).searchParams.get("sslrootcert");
            if (rootCert) expect(caFiles).toContain(rootCert);
        }
    });

    test("fetch the jobs' jars from Maven Central, with MSK IAM's login module on MSK only", () => {
        for (const job of jobs) {
            const jars: string[] = job.inputs.spec.template.deps.jars;
            expect(jars).toEqual(expect.arrayContaining(LAKEHOUSE_JARS.map(mavenCentralUrl)));
            expect(jars.includes(mavenCentralUrl(MSK_IAM_JAR))).toBe(target === "aws");
        }
    });
});

describe("the lakehouse jobs of an AWS cell", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await singleCellStack({ cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" }, "dev");
    });

    test("sign in to MSK with IAM and reach S3 with their pods' role, which holds no key", () => {
        const settings = settingsOf(ofType(run, SCHEDULED)[0]);
        expect(settings.kafka.sasl).toEqual({ mechanism: "AWS_MSK_IAM" });
        expect(settings.objectStore).toEqual({
            kind: "s3",
            endpoint: "https://s3.eu-central-1.amazonaws.com",
            region: "eu-central-1",
            pathStyle: false,
        });
        const association = ofType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation").find(
            (a) => a.inputs.serviceAccount === LAKEHOUSE_SERVICE_ACCOUNT,
        )!;
        expect(association.inputs.namespace).toBe(NAMESPACE);
    });

    test("their role reads the events topic and keeps the lake's files, and reaches no other bucket or topic", () => {
        const policy = JSON.parse(
            ofType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "cell-1-lakehouse-identity-policy")!.inputs.policy,
        );
        const allowed = policy.Statement.flatMap((s: { Action: string[]; Resource: string | string[] }) =>
            s.Action.flatMap((a) => [s.Resource].flat().map((r) => `${a} ${r.split(":").pop()}`)),
        );
        const topic = "topic/cell-1-kafka-cluster/00000000-0000-0000-0000-000000000000-1/events";
        expect(allowed).toEqual(expect.arrayContaining([`kafka-cluster:ReadData ${topic}`, `kafka-cluster:DescribeTopic ${topic}`]));
        expect(allowed.filter((a: string) => a.startsWith("kafka-cluster:") && a.includes("topic/"))).toHaveLength(2);
        const buckets = allowed.filter((a: string) => a.startsWith("s3:")).map((a: string) => a.split(" ")[1].replace(/\/\*$/, ""));
        expect(new Set(buckets)).toEqual(new Set(["cell-1-object-store-lake"]));
        expect(allowed.some((a: string) => a.startsWith("kafka-cluster:WriteData") || a.startsWith("kafka-cluster:AlterGroup"))).toBe(
            false,
        );
    });

    test("the lake's bucket is private, SSE-KMS with the cell's key, access-logged, and unversioned", () => {
        const lake = "cell-1-object-store-lake";
        const onLake = (type: string) => ofType(run, type).filter((r) => r.inputs.bucket === lake);
        expect(onLake("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")).toHaveLength(1);
        expect(
            onLake("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0].inputs.rules[0],
        ).toMatchObject({
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" },
        });
        expect(onLake("aws:s3/bucketLogging:BucketLogging")[0].inputs.targetPrefix).toBe("s3-access/cell-1-lake/");
        expect(onLake("aws:s3/bucketVersioning:BucketVersioning")).toHaveLength(0);
    });
});

describe("the lakehouse jobs of a Kubernetes cell", () => {
    test("sign in to Strimzi as their own SCRAM user, allowed to read the events topic and nothing more", async () => {
        const run = await singleCellStack(
            { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "small", kubeContext: "onprem-eu" },
            "dev",
        );
        const settings = settingsOf(ofType(run, SCHEDULED)[0]);
        expect(settings.kafka.sasl).toEqual({ mechanism: "SCRAM-SHA-512", username: "cellplane-lakehouse" });
        const user = ofType(run, "kubernetes:kafka.strimzi.io/v1:KafkaUser").find((u) => u.inputs.metadata.name === "cellplane-lakehouse")!;
        expect(user.inputs.spec.authorization.acls).toEqual([
            { resource: { type: "topic", name: "events", patternType: "literal" }, operations: ["Read", "Describe"], host: "*" },
        ]);
        const password = envOf(ofType(run, SCHEDULED)[0].inputs.spec.template.driver, "KAFKA_PASSWORD");
        expect(password.valueFrom.secretKeyRef).toEqual({ name: "cellplane-lakehouse", key: "password" });
        // The store's own key, as the apps reach the exports with it.
        const exportsKeys = appConnection(run, "OBJECT_STORE", "export").credentials;
        expect(settings.objectStore).toMatchObject({ accessKeyId: exportsKeys.accessKeyId, pathStyle: true });
    });
});

describe("the lakehouse jobs of an Azure cell", () => {
    let run: ProgramRun;
    let jobs: MockedResource[];
    beforeAll(async () => {
        run = await singleCellStack({ cloud: "azure", region: "westeurope", residency: "eu", size: "small" }, "dev");
        jobs = ofType(run, SCHEDULED);
    });
    const lakeAccount = () =>
        ofType(run, "azure-native:storage:StorageAccount").find((a) => a.name === "cell-1-object-store-lake-account")!;

    test("keep the warehouse in the lake's Data Lake container with Iceberg's ADLS client, and read Event Hubs with the sidecar's Entra ID token", () => {
        const settings = settingsOf(jobs[0]);
        expect(settings.warehouse).toBe(`abfss://lake@${lakeAccount().inputs.accountName}.dfs.core.windows.net/warehouse`);
        expect(settings.objectStore).toEqual({ kind: "adls" });
        expect(settings.kafka.sasl).toEqual({ mechanism: "OAUTHBEARER", tokenFile: KAFKA_TOKEN_FILE });
        for (const job of jobs) {
            const { driver, executor, deps, volumes } = job.inputs.spec.template;
            expect(deps.jars).toContain(mavenCentralUrl(ICEBERG_AZURE_JAR));
            for (const pod of [driver, executor]) {
                expect(pod.labels["azure.workload.identity/use"]).toBe("true");
                expect(pod.javaOptions).toBe(`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://${KAFKA_TOKEN_FILE}`);
                const [sidecar] = pod.initContainers;
                expect(sidecar).toMatchObject({ name: "entra-token", restartPolicy: "Always" });
                const tokenMount = pod.volumeMounts.find((m: ResourceProps) => m.mountPath === KAFKA_TOKEN_DIR);
                expect(tokenMount.readOnly).toBe(true);
                expect(volumes.find((v: ResourceProps) => v.name === tokenMount.name).emptyDir.medium).toBe("Memory");
            }
        }
    });

    test("their workload identity receives the events and writes the lake's container, and reaches nothing else", () => {
        const identity = ofType(run, "azure-native:managedidentity:UserAssignedIdentity").find(
            (i) => i.name === "cell-1-lakehouse-workload-identity",
        )!;
        const account = ofType(run, "kubernetes:core/v1:ServiceAccount").find((a) => a.inputs.metadata.name === LAKEHOUSE_SERVICE_ACCOUNT)!;
        expect(account.inputs.metadata.annotations["azure.workload.identity/client-id"]).toBe(identity.state.clientId);
        const grants = ofType(run, "azure-native:authorization:RoleAssignment")
            .filter((g) => g.inputs.principalId === identity.state.principalId)
            .map((g) => [g.inputs.roleDefinitionId, g.inputs.scope]);
        expect(grants).toEqual([
            [EVENT_HUBS_DATA_RECEIVER, "cell-1-kafka-events-id"],
            [STORAGE_BLOB_DATA_CONTRIBUTOR, "cell-1-object-store-lake-id"],
        ]);
    });

    test("the cell's ClickHouse reads the lake as its own identity, which may read the container and write none of it", () => {
        const export_ = ofType(run, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === "export")!;
        const warehouse = envOf(export_.inputs.spec.template.spec.containers[0], "LAKE_WAREHOUSE").value;
        expect(warehouse).toBe(settingsOf(jobs[0]).warehouse);
        expect(lakeTablesDdl({ url: warehouse })[1]).toContain(
            `IcebergAzure('https://${lakeAccount().inputs.accountName}.blob.core.windows.net', 'lake', 'warehouse/`,
        );
        const clickhouse = ofType(run, "azure-native:managedidentity:UserAssignedIdentity").find(
            (i) => i.name === "cell-1-clickhouse-workload-identity",
        )!;
        const onLake = ofType(run, "azure-native:authorization:RoleAssignment").filter(
            (g) => g.inputs.scope === "cell-1-object-store-lake-id",
        );
        expect(onLake.map((g) => [g.inputs.principalId === clickhouse.state.principalId, g.inputs.roleDefinitionId])).toContainEqual([
            true,
            STORAGE_BLOB_DATA_READER,
        ]);
        expect(onLake.filter((g) => g.inputs.principalId === clickhouse.state.principalId)).toHaveLength(1);
    });
});

describe("a run's settings from the apps' connections", () => {
    const postgres = { host: "db", port: 5432, database: "cellplane", user: "app", tls: "system" as const };
    const lake = {
        protocol: "s3" as const,
        endpoint: "https://s3",
        bucket: "lake",
        region: "eu-west-1",
        credentials: { from: "identity" as const },
    };
    const kafka = (sasl: KafkaConnection["sasl"]): KafkaConnection => ({ brokers: ["b-1:9098", "b-2:9098"], tls: "system", sasl });
    const caFiles = { postgres: "/ca/pg.pem", kafka: "/ca/kafka.pem" };

    test("trust Java's roots for a store the system's roots sign, and the CA file for one of its own", () => {
        const system = settingsOfConnections({ postgres, kafka: kafka({ mechanism: "none" }), lake }, caFiles);
        // The JDBC driver's default trust is a file in the user's home, which a pod has not.
        expect(system.catalog.jdbcUrl).toContain("sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory");
        expect(system.kafka).toMatchObject({ tls: true, caFile: undefined, bootstrap: "b-1:9098,b-2:9098" });
        const own = settingsOfConnections(
            { postgres: { ...postgres, tls: "ca" }, kafka: { ...kafka({ mechanism: "none" }), tls: "ca" }, lake },
            caFiles,
        );
        expect(new URL(own.catalog.jdbcUrl.slice(5)).searchParams.get("sslrootcert")).toBe("/ca/pg.pem");
        expect(own.kafka.caFile).toBe("/ca/kafka.pem");
        expect(
            settingsOfConnections({ postgres: { ...postgres, tls: "off" }, kafka: kafka({ mechanism: "none" }), lake }, caFiles).catalog
                .jdbcUrl,
        ).not.toContain("sslmode");
    });

    test("refuse a Kafka sign-in the job cannot do, naming it and what it takes", () => {
        expect(() =>
            settingsOfConnections({ postgres, kafka: kafka({ mechanism: "plain", username: "lakehouse" }), lake }, caFiles),
        ).toThrow(/kafka\.sasl: the lakehouse jobs cannot sign in with .*plain.*SCRAM-SHA-512, MSK IAM or Entra ID/);
    });

    test("refuse a Blob lake reached with its shared key, naming the account and the fix", () => {
        const blob = { protocol: "azblob" as const, endpoint: "https://acct.blob.core.windows.net/", account: "acct", container: "lake" };
        expect(
            settingsOfConnections(
                { postgres, kafka: kafka({ mechanism: "none" }), lake: { ...blob, credentials: { from: "identity" } } },
                caFiles,
            ).warehouse,
        ).toBe("abfss://lake@acct.dfs.core.windows.net/warehouse");
        expect(() =>
            settingsOfConnections(
                { postgres, kafka: kafka({ mechanism: "none" }), lake: { ...blob, credentials: { from: "key" } } },
                caFiles,
            ),
        ).toThrow(/^lake\.credentials: .*not its shared key \(account acct\); turn shared keys off/);
    });

    test("name a Maven Central jar by its coordinates", () => {
        expect(mavenCentralUrl("org.postgresql:postgresql:42.7.14")).toBe(
            "https://repo1.maven.org/maven2/org/postgresql/postgresql/42.7.14/postgresql-42.7.14.jar",
        );
    });
});

describe("logical decoding for the cdc job", () => {
    test("RDS: its own parameter group of the engine's family, rds.logical_replication applied at the next reboot as a static parameter must be", async () => {
        const run = await singleCellStack({ cloud: "aws", region: "eu-central-1", residency: "eu", size: "small" }, "dev");
        const group = ofType(run, "aws:rds/parameterGroup:ParameterGroup")[0];
        // A group of another major version is refused when the instance is created or modified.
        expect(group.inputs.family).toBe(`postgres${VERSIONS.rdsPostgres.version.split(".")[0]}`);
        const instance = ofType(run, "aws:rds/instance:Instance")[0];
        expect(instance.inputs.parameterGroupName).toBe(group.state.name ?? group.name);
        expect(group.inputs.parameters).toEqual(
            expect.arrayContaining([
                { name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" },
                { name: "max_slot_wal_keep_size", value: "1024", applyMethod: "immediate" },
            ]),
        );
    });

    test("CloudNativePG: wal_level logical, and the tables' owner may use slots, its password from the basic-auth Secret it has", async () => {
        const run = await singleCellStack(
            { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "small", kubeContext: "onprem-eu" },
            "dev",
        );
        const cluster = ofType(run, "kubernetes:postgresql.cnpg.io/v1:Cluster")[0].inputs.spec;
        expect(cluster.postgresql.parameters).toMatchObject({ wal_level: "logical", max_slot_wal_keep_size: "1GB" });
        const owner = cluster.bootstrap.initdb.owner;
        expect(cluster.managed.roles).toEqual([
            {
                name: owner,
                ensure: "present",
                login: true,
                replication: true,
                passwordSecret: { name: cluster.bootstrap.initdb.secret.name },
            },
        ]);
        // Managed roles take their password from a Secret of type kubernetes.io/basic-auth.
        const secret = ofType(run, "kubernetes:core/v1:Secret").find(
            (s) => s.inputs.metadata.name === cluster.bootstrap.initdb.secret.name,
        )!;
        expect(secret.inputs.type).toBe("kubernetes.io/basic-auth");
    });

    test("Flexible Server: wal_level logical and a bound on the WAL a slot keeps, as the server's parameters", async () => {
        const run = await singleCellStack({ cloud: "azure", region: "westeurope", residency: "eu", size: "small" }, "dev");
        const server = ofType(run, "azure-native:dbforpostgresql:Server")[0];
        const parameters = ofType(run, "azure-native:dbforpostgresql:Configuration").map((c) => [
            c.inputs.serverName === (server.state.name ?? server.name),
            c.inputs.configurationName,
            c.inputs.value,
            c.inputs.source,
        ]);
        // Server parameters take their values as strings; a user's value has the source user-override.
        expect(parameters).toEqual([
            [true, "wal_level", "logical", "user-override"],
            [true, "max_slot_wal_keep_size", "1024", "user-override"],
        ]);
    });

    test("the slot's name is one RDS lets a user create (rds, aws and amazon prefixes are its own)", () => {
        const slot = /^CDC_SLOT = "([^"]+)"$/m.exec(fs.readFileSync(JOBS_SCRIPT, "utf8"))![1];
        expect(slot).toMatch(/^[a-z0-9_]{1,63}$/);
        expect(slot).not.toMatch(/^(rds|aws|amazon)/);
    });
});

describe.each([
    {
        target: "kubernetes",
        cell: { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" },
        warehouse: "http://seaweedfs-s3.cell-1-data.svc.cluster.local:8333/cell-1-lake/warehouse",
    },
    {
        target: "aws",
        cell: { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" },
        warehouse: "https://cell-1-object-store-lake.s3.eu-central-1.amazonaws.com/warehouse",
    },
])("tenant-safe SQL over the lake of a $target cell", ({ target, cell, warehouse }) => {
    let run: ProgramRun;
    let installation: MockedResource;
    beforeAll(async () => {
        run = await singleCellStack(cell, "prod");
        installation = ofType(run, "kubernetes:clickhouse.altinity.com/v1:ClickHouseInstallation")[0];
    });
    const users = () => installation.inputs.spec.configuration.users as Record<string, unknown>;
    /** A value of the cell's Secrets, wherever the program put it. */
    const secretOf = (name: string, key: string) =>
        (
            secretValue(ofType(run, "kubernetes:core/v1:Secret").find((s) => s.inputs.metadata.name === name)!.inputs.stringData) as Record<
                string,
                string
            >
        )[key];

    test("the export app queries the warehouse the jobs write, as ClickHouse reaches it, its query secret from a Secret", () => {
        const exporter = ofType(run, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === "export")!;
        const env = exporter.inputs.spec.template.spec.containers[0].env as ResourceProps[];
        expect(env.find((e) => e.name === "LAKE_WAREHOUSE")!.value).toBe(warehouse);
        expect(env.find((e) => e.name === "LAKE_QUERY_SECRET")).toBeUndefined();
        expect(exporter.inputs.spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: "export-secrets" } }]);
        expect(secretOf("export-secrets", "LAKE_QUERY_SECRET")).toMatch(/^.{32,}$/);
        const bucket = settingsOf(ofType(run, SCHEDULED)[0]).warehouse.replace(/^s3:\/\/([^/]+)\/warehouse$/, "$1");
        expect(warehouse).toContain(bucket);
    });

    test("each tenant of the cell has its reader: its derived password from a Secret, the readers' profile, SELECT on its views alone", () => {
        const querySecret = secretOf("export-secrets", "LAKE_QUERY_SECRET");
        // The cell's tenants: acme, and the canary the cell sends its own probes as.
        for (const tenant of ["acme", "canary-cell-1"]) {
            const reader = `lake_reader_${tenant}`;
            expect(
                Object.keys(users())
                    .filter((key) => key.startsWith(`${reader}/`))
                    .sort(),
            ).toEqual(["grants/query", "k8s_secret_password", "networks/ip", "profile"].map((key) => `${reader}/${key}`));
            expect(users()[`${reader}/grants/query`]).toEqual([`GRANT SELECT ON \`tenant_${tenant}\`.*`]);
            expect(users()[`${reader}/profile`]).toBe(LAKE_READER_PROFILE);
            expect(users()[`${reader}/k8s_secret_password`]).toBe(`cell-1-data/clickhouse-credentials/${reader}`);
            expect(secretOf("clickhouse-credentials", reader)).toBe(lakeReaderPassword(querySecret, tenant));
        }
        const profiles = installation.inputs.spec.configuration.profiles as Record<string, string>;
        expect(profiles).toEqual(
            Object.fromEntries(Object.entries(readerSettings()).map(([setting, value]) => [`${LAKE_READER_PROFILE}/${setting}`, value])),
        );
        expect(profiles[`${LAKE_READER_PROFILE}/readonly`]).toBe("1");
    });

    test("the exporter, the views' definer, may make the lake's tables and the tenants' views, and read them", () => {
        expect(users()["cellplane_exporter/grants/query"]).toEqual(
            expect.arrayContaining([
                "GRANT SELECT, CREATE DATABASE, CREATE TABLE ON lake.*",
                "GRANT SELECT, CREATE DATABASE, CREATE VIEW ON tenant_*.*",
            ]),
        );
        // The views are made on every replica, as the readers reach any of them.
        expect(lakeTablesDdl({ url: warehouse }, "cell").every((ddl) => ddl.includes("ON CLUSTER `cell`"))).toBe(true);
        expect(tenantViewsDdl("acme", "cell").every((ddl) => ddl.includes("ON CLUSTER `cell`"))).toBe(true);
    });

    if (target === "aws")
        test("ClickHouse's role reads the lake's files, and writes none of them", () => {
            const policy = JSON.parse(
                ofType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "cell-1-clickhouse-identity-policy")!.inputs.policy,
            );
            const onLake = policy.Statement.filter((s: { Resource: string | string[] }) =>
                [s.Resource].flat().some((r) => r.includes("cell-1-object-store-lake")),
            ).flatMap((s: { Action: string[] }) => s.Action);
            expect(onLake.sort()).toEqual(["s3:GetObject", "s3:ListBucket"]);
        });
});
