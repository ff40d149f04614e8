import fc from "fast-check";
import { FLINK_VERSION, mavenCentralUrl, MSK_IAM_STANDALONE_JAR, SQL_GATEWAY_JAR, STREAMING_JARS } from "../../apps/lakehouse/engines";
import { KAFKA_PASSWORD_ENV, kafkaProperties, streamingScript, type StreamingSettings } from "../../apps/lakehouse/streaming";
import { windowOf } from "../../apps/ingest/windowLoader";
import type { KafkaMessage } from "../../apps/shared/kafka";
import { KAFKA_TOKEN_DIR, KAFKA_TOKEN_FILE } from "../../apps/lakehouse/entraToken";
import { EVENT_HUBS_DATA_RECEIVER, EVENT_HUBS_DATA_SENDER } from "../../components/azure/workloadIdentity";
import { IMAGES } from "../../components/kubernetes/charts";
import { flinkVersionOf, STREAMING_SERVICE_ACCOUNT } from "../../components/kubernetes/streamingJob";
import { VERSIONS } from "../../model/versions";
import type { ResourceProps } from "../../model/resourceProps";
import { type MockedResource, ofType, type ProgramRun, SECRET_MARKER, singleCellStack } from "../support/harness";

const FLINK_DEPLOYMENT = "kubernetes:flink.apache.org/v1beta1:FlinkDeployment";
const NAMESPACE = "cell-1-data";
/** The FlinkDeployment CRD's flinkVersion enum (flink-kubernetes-operator 1.16, FlinkVersion.java). */
const OPERATOR_FLINK_VERSIONS = [
    "v1_13",
    "v1_14",
    "v1_15",
    "v1_16",
    "v1_17",
    "v1_18",
    "v1_19",
    "v1_20",
    "v2_0",
    "v2_1",
    "v2_2",
    "v2_3",
    "v2_4",
];

const scram: StreamingSettings = {
    kafka: {
        bootstrap: "b-1:9093,b-2:9093",
        topic: "events",
        tls: true,
        caFile: "/ca/kafka.pem",
        sasl: { mechanism: "SCRAM-SHA-512", username: "cellplane-streaming" },
    },
    cell: { region: "eu-central-1", environment: "prod" },
};

describe("the streaming job's script", () => {
    test("reads and writes the cell's topics with the client's TLS and SCRAM settings, the password a reference to the environment", () => {
        const script = streamingScript(scram);
        expect(script).toContain("'properties.bootstrap.servers' = 'b-1:9093,b-2:9093'");
        expect(script).toContain("'properties.security.protocol' = 'SASL_SSL'");
        expect(script).toContain("'properties.ssl.truststore.location' = '/ca/kafka.pem'");
        expect(script).toContain(`password="\${env:${KAFKA_PASSWORD_ENV}}"`);
        expect(script).toContain(
            "'properties.config.providers.env.class' = 'org.apache.kafka.common.config.provider.EnvVarConfigProvider'",
        );
        // Three tables: the events it reads, the windows topic and the events topic its alerts go to.
        expect([...script.matchAll(/'topic' = '([^']+)'/g)].map((m) => m[1])).toEqual(["events", "events-windows", "events"]);
        expect(script).toContain("INTERVAL '10' SECOND");
        expect(script).toContain("'eu-central-1', 'prod'");
    });

    test("signs in to MSK with IAM's login module and callback handler, and a plain local broker with nothing", () => {
        expect(kafkaProperties({ ...scram.kafka, caFile: undefined, sasl: { mechanism: "AWS_MSK_IAM" } })).toEqual({
            "properties.bootstrap.servers": "b-1:9093,b-2:9093",
            "properties.security.protocol": "SASL_SSL",
            "properties.sasl.mechanism": "AWS_MSK_IAM",
            "properties.sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
            "properties.sasl.client.callback.handler.class": "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
        });
        expect(kafkaProperties({ bootstrap: "127.0.0.1:9092", topic: "events", tls: false })).toEqual({
            "properties.bootstrap.servers": "127.0.0.1:9092",
            "properties.security.protocol": "PLAINTEXT",
        });
    });

    test("a user name a JAAS option cannot carry is refused, naming the field", () => {
        const quoted = { ...scram.kafka, sasl: { mechanism: "SCRAM-SHA-512" as const, username: 'x" password="y' } };
        expect(() => kafkaProperties(quoted)).toThrow(/^kafka\.sasl\.username: .* holds a quote/);
    });

    test("a region or environment with a quote stays a string literal of the script", () => {
        fc.assert(
            fc.property(fc.string({ minLength: 1, maxLength: 20 }), (region) => {
                const script = streamingScript({ ...scram, cell: { region, environment: "prod" } });
                expect(script).toContain(`'${region.replace(/'/g, "''")}', 'prod'`);
            }),
        );
    });
});

describe("the window loader's reading of a message", () => {
    const message = (value: string): KafkaMessage => ({ value: Buffer.from(value), partition: 0, offset: 7n }) as unknown as KafkaMessage;
    const window = {
        org_id: "acme",
        event_type: "error",
        window_start: "2026-11-28 03:07:30.000",
        window_end: "2026-11-28 03:07:40.000",
        events: 3,
        unique_users: 2,
    };
    beforeEach(() => jest.spyOn(console, "error").mockImplementation(() => undefined));
    afterEach(() => jest.restoreAllMocks());

    const time = fc
        .date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2030-01-01T00:00:00Z"), noInvalidDate: true })
        .map((d) => d.toISOString().replace("T", " ").replace("Z", ""));
    const validWindow = fc.record({
        org_id: fc.string({ minLength: 1, maxLength: 64 }),
        event_type: fc.string({ minLength: 1, maxLength: 64 }),
        window_start: time,
        window_end: time,
        events: fc.nat(),
        unique_users: fc.nat(),
    });

    test("takes any window as the job writes it", () => {
        expect(windowOf(message(JSON.stringify(window)), "events-windows")).toEqual(window);
        fc.assert(fc.property(validWindow, (w) => expect(windowOf(message(JSON.stringify(w)), "events-windows")).toEqual(w)));
    });

    test("skips anything else, with the message's place and the field at fault", () => {
        const corrupt = <K extends string>(field: K, bad: fc.Arbitrary<unknown>) =>
            fc.tuple(validWindow, bad).map(([w, value]) => ({ ...w, [field]: value }));
        const invalid = fc.oneof(
            fc.string().filter((s) => s.trim() !== "" && !s.trim().startsWith("{")),
            corrupt("events", fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }), fc.string())),
            corrupt(
                "window_start",
                fc.string().filter((s) => !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(s)),
            ),
            corrupt("org_id", fc.constantFrom("", "x".repeat(65))),
            corrupt(
                "extra",
                fc.anything().filter((v) => v !== undefined),
            ),
            validWindow.map(({ unique_users: _dropped, ...w }) => w),
        );
        fc.assert(
            fc.property(invalid, (value) => {
                const text = typeof value === "string" ? value : JSON.stringify(value);
                expect(windowOf(message(text), "events-windows")).toBeUndefined();
                const calls = (console.error as jest.Mock).mock.calls;
                expect(String(calls[calls.length - 1][0])).toMatch(/^window loader: skipped events-windows\/0\/7: /);
            }),
        );
    });
});

describe.each([
    {
        target: "kubernetes",
        cell: { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" },
    },
    { target: "aws", cell: { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" } },
    { target: "azure", cell: { cloud: "azure", region: "westeurope", residency: "eu", size: "medium" } },
])("the streaming job of a $target cell", ({ target, cell }) => {
    let run: ProgramRun;
    let deployment: MockedResource;
    let script: MockedResource;
    beforeAll(async () => {
        run = await singleCellStack(cell, "prod");
        [deployment] = ofType(run, FLINK_DEPLOYMENT);
        script = ofType(run, "kubernetes:core/v1:ConfigMap").find((c) => c.inputs.metadata.name.startsWith("streaming-"))!;
    });
    const spec = () => deployment.inputs.spec;

    test("is one FlinkDeployment in the cell's jobs namespace: the pinned Flink image, a Flink version the operator knows, stateless upgrades", () => {
        expect(ofType(run, FLINK_DEPLOYMENT)).toHaveLength(1);
        expect(deployment.inputs.metadata).toMatchObject({ name: "streaming", namespace: NAMESPACE });
        expect(deployment.inputs.metadata.labels["cellplane.io/cell"]).toBe("cell-1");
        expect(VERSIONS.flinkImage.version.startsWith(`${FLINK_VERSION}-`)).toBe(true);
        expect(spec().image).toBe(IMAGES.flink);
        expect(OPERATOR_FLINK_VERSIONS).toContain(spec().flinkVersion);
        expect(spec().flinkVersion).toBe(flinkVersionOf(FLINK_VERSION));
        // The CRD's enums: mode native|standalone, upgradeMode savepoint|last-state|stateless, state running|suspended.
        expect(spec().mode).toBe("native");
        expect(spec().job).toMatchObject({ upgradeMode: "stateless", state: "running", parallelism: 1 });
    });

    test("runs Flink's SQL driver, from Flink's own table runtime, on the script every target runs, mounted from an immutable ConfigMap", () => {
        expect(spec().job.jarURI).toBe(`local:///opt/flink/lib/flink-table-runtime-${FLINK_VERSION}.jar`);
        expect(spec().job.entryClass).toBe("org.apache.flink.table.runtime.application.SqlDriver");
        const [option, uri] = spec().job.args;
        expect(option).toBe("--scriptUri");
        expect(script.inputs.immutable).toBe(true);
        const main = spec().podTemplate.spec.containers.find((c: ResourceProps) => c.name === "flink-main-container");
        const volume = spec().podTemplate.spec.volumes.find((v: ResourceProps) => v.configMap?.name === script.inputs.metadata.name);
        const mount = main.volumeMounts.find((m: ResourceProps) => m.name === volume.name);
        const file = uri.replace(`file://${mount.mountPath}/`, "");
        expect(Object.keys(script.inputs.data)).toEqual([file]);
        const kafka = JSON.parse(
            ofType(run, "kubernetes:apps/v1:Deployment")
                .find((d) => d.inputs.metadata.name === "ingest")!
                .inputs.spec.template.spec.containers[0].env.find((e: ResourceProps) => e.name === "KAFKA").value,
        );
        expect(script.inputs.data[file]).toContain(`'properties.bootstrap.servers' = '${kafka.brokers.join(",")}'`);
    });

    test("holds no secret in its spec or script: the Kafka password comes from a Secret, the CA from a mounted file", () => {
        expect(JSON.stringify(deployment.inputs)).not.toContain(SECRET_MARKER);
        expect(JSON.stringify(script.inputs)).not.toContain(SECRET_MARKER);
        const main = spec().podTemplate.spec.containers[0];
        const text: string = Object.values(script.inputs.data as Record<string, string>)[0];
        if (target !== "kubernetes") {
            expect(main.env).toEqual([]);
            expect(text).toContain(`'properties.sasl.mechanism' = '${target === "aws" ? "AWS_MSK_IAM" : "OAUTHBEARER"}'`);
        } else {
            expect(main.env).toEqual([
                { name: KAFKA_PASSWORD_ENV, valueFrom: { secretKeyRef: { name: "cellplane-streaming", key: "password" } } },
            ]);
            const caMount = main.volumeMounts.find((m: ResourceProps) => m.name === "ca").mountPath;
            const caFile = /'properties\.ssl\.truststore\.location' = '([^']+)'/.exec(text)![1];
            const items = spec().podTemplate.spec.volumes.find((v: ResourceProps) => v.name === "ca").projected.sources[0].secret.items;
            expect(items.map((i: ResourceProps) => `${caMount}/${i.path}`)).toEqual([caFile]);
        }
        // Every secret of the job is an operator's or the identity's: it has no Secret of its own, and waits for none.
        expect(ofType(run, "kubernetes:core/v1:Secret").filter((s) => s.inputs.metadata.name === "streaming-secrets")).toEqual([]);
    });

    test("runs as its own ServiceAccount, non-root, limited; only the JobManager mounts the token it makes TaskManagers with", () => {
        expect(spec().serviceAccount).toBe(STREAMING_SERVICE_ACCOUNT);
        const account = ofType(run, "kubernetes:core/v1:ServiceAccount").find((a) => a.inputs.metadata.name === STREAMING_SERVICE_ACCOUNT)!;
        expect(account.inputs).toMatchObject({ metadata: { namespace: NAMESPACE }, automountServiceAccountToken: false });
        const role = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:Role").find(
            (r) => r.inputs.metadata.name === STREAMING_SERVICE_ACCOUNT,
        )!;
        expect(role.inputs.rules.flatMap((r: ResourceProps) => r.resources).sort()).toEqual(["configmaps", "pods"]);
        expect(spec().jobManager.podTemplate.spec.automountServiceAccountToken).toBe(true);
        expect(spec().taskManager.podTemplate.spec.automountServiceAccountToken).toBe(false);
        for (const component of [spec().jobManager, spec().taskManager]) {
            expect(component.resources.requests).toEqual(component.resources.limits);
            expect(component.resources.limits).toEqual({ cpu: expect.stringMatching(/^\d+m?$/), memory: expect.stringMatching(/^\d+Gi$/) });
        }
        expect(spec().podTemplate.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 9999 });
        expect(spec().podTemplate.spec.containers[0].securityContext).toEqual({
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
        });
    });

    test("fetches the connector, its client and the SQL gateway from Maven Central, with MSK IAM's standalone login module on MSK only", () => {
        const artifacts: string[] = spec().flinkConfiguration["user.artifacts.artifact-list"].split(";");
        expect(artifacts).toEqual(expect.arrayContaining([...STREAMING_JARS, SQL_GATEWAY_JAR].map(mavenCentralUrl)));
        expect(artifacts.includes(mavenCentralUrl(MSK_IAM_STANDALONE_JAR))).toBe(target === "aws");
        expect(mavenCentralUrl(MSK_IAM_STANDALONE_JAR)).toBe(
            "https://repo1.maven.org/maven2/software/amazon/msk/aws-msk-iam-auth/2.4.0/aws-msk-iam-auth-2.4.0-all.jar",
        );
    });

    if (target === "aws")
        test("its pods' role writes the events and windows topics and reads the events in its group, and nothing else", () => {
            const association = ofType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation").find(
                (a) => a.inputs.serviceAccount === STREAMING_SERVICE_ACCOUNT,
            )!;
            expect(association.inputs.namespace).toBe(NAMESPACE);
            const policy = JSON.parse(
                ofType(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "cell-1-streaming-identity-policy")!.inputs.policy,
            );
            const resources = policy.Statement.flatMap((s: { Resource: string }) =>
                [s.Resource].flat().map((r) => r.split("/").slice(0, 1).concat(r.split("/").slice(-1)).join("/")),
            );
            expect(
                resources
                    .filter((r: string) => /:(topic|group)\//.test(r))
                    .map((r: string) => r.split(":").pop())
                    .sort(),
            ).toEqual(["group/cellplane-streaming", "topic/events", "topic/events-windows"]);
        });
});

describe("the streaming job of an Azure cell", () => {
    let run: ProgramRun;
    let spec: ResourceProps;
    beforeAll(async () => {
        run = await singleCellStack({ cloud: "azure", region: "westeurope", residency: "eu", size: "medium" }, "dev");
        spec = ofType(run, FLINK_DEPLOYMENT)[0].inputs.spec;
    });

    test("signs in to Event Hubs with the Entra ID token its pods' sidecar keeps in a file, which its JVMs may read and nothing else", () => {
        const script = ofType(run, "kubernetes:core/v1:ConfigMap").find((c) => c.inputs.metadata.name.startsWith("streaming-"))!;
        const text: string = Object.values(script.inputs.data as Record<string, string>)[0];
        const tokenUrl = /'properties\.sasl\.oauthbearer\.token\.endpoint\.url' = '([^']+)'/.exec(text)![1];
        expect(tokenUrl).toBe(`file://${KAFKA_TOKEN_FILE}`);
        expect(text).toContain("'properties.security.protocol' = 'SASL_SSL'");
        expect(spec.flinkConfiguration["env.java.opts.all"]).toBe(`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${tokenUrl}`);
        const pod = spec.podTemplate;
        const [sidecar] = pod.spec.initContainers;
        // A native sidecar (restartPolicy Always) starts first and is ready once the token is there.
        expect(sidecar).toMatchObject({ name: "entra-token", image: IMAGES.node, restartPolicy: "Always" });
        expect(sidecar.startupProbe.exec.command).toContain(KAFKA_TOKEN_FILE);
        expect(sidecar.env).toEqual(
            expect.arrayContaining([{ name: "KAFKA_TOKEN_SCOPE", value: "https://cell-1-kafka-ns.servicebus.windows.net/.default" }]),
        );
        const tokenVolume = pod.spec.volumes.find((v: ResourceProps) => v.emptyDir)!;
        expect(tokenVolume.emptyDir.medium).toBe("Memory");
        const main = pod.spec.containers[0];
        expect(main.volumeMounts).toContainEqual({ name: tokenVolume.name, mountPath: KAFKA_TOKEN_DIR, readOnly: true });
        expect(sidecar.volumeMounts).toContainEqual({ name: tokenVolume.name, mountPath: KAFKA_TOKEN_DIR });
        const code = pod.spec.volumes.find((v: ResourceProps) => v.name === "entra-token-code")!.configMap.name;
        const bundle = ofType(run, "kubernetes:core/v1:ConfigMap").find((c) => c.inputs.metadata.name === code)!;
        expect(bundle.inputs.immutable).toBe(true);
        // A ConfigMap holds at most 1 MiB.
        expect(Buffer.byteLength(Object.values(bundle.inputs.data as Record<string, string>)[0])).toBeLessThan(1024 * 1024);
    });

    test("its pods take a workload identity of their own, which may receive the events and send alerts and windows, and nothing else", () => {
        expect(spec.podTemplate.metadata.labels["azure.workload.identity/use"]).toBe("true");
        const account = ofType(run, "kubernetes:core/v1:ServiceAccount").find((a) => a.inputs.metadata.name === STREAMING_SERVICE_ACCOUNT)!;
        const identity = ofType(run, "azure-native:managedidentity:UserAssignedIdentity").find(
            (i) => i.name === "cell-1-streaming-workload-identity",
        )!;
        expect(account.inputs.metadata.annotations["azure.workload.identity/client-id"]).toBe(identity.state.clientId);
        const federation = ofType(run, "azure-native:managedidentity:FederatedIdentityCredential").find(
            (f) => f.name === "cell-1-streaming-workload-federation",
        )!;
        expect(federation.inputs.subject).toBe(`system:serviceaccount:${NAMESPACE}:${STREAMING_SERVICE_ACCOUNT}`);
        const grants = ofType(run, "azure-native:authorization:RoleAssignment")
            .filter((g) => g.inputs.principalId === identity.state.principalId)
            .map((g) => [g.inputs.roleDefinitionId.split("/").pop(), g.inputs.scope.replace(/-id$/, "")]);
        expect(grants.sort()).toEqual(
            [
                [EVENT_HUBS_DATA_RECEIVER.split("/").pop(), "cell-1-kafka-events"],
                [EVENT_HUBS_DATA_SENDER.split("/").pop(), "cell-1-kafka-events"],
                [EVENT_HUBS_DATA_SENDER.split("/").pop(), "cell-1-kafka-events-windows"],
            ].sort(),
        );
    });
});
