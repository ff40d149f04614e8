import { CLUSTER_KINDS, OPERATOR_KINDS, crdNameOf } from "../../model/customResources";
import { packConfigOf, runPolicies } from "../../policies/check/engine";
import { ALL_OPERATORS, ANALYTICS_OPERATORS } from "../../components/kubernetes/clusterOperators";
import { ofType, type ProgramRun, singleCellStack } from "../support/harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";
const REQUIRED_CRDS = "cellplane:kubernetes:RequiredCrds";
const operatorCharts = (operators: readonly (keyof typeof OPERATOR_KINDS)[]) => operators.map((o) => OPERATOR_KINDS[o].chart);

describe.each([
    {
        target: "kubernetes",
        cell: { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" },
        operators: ALL_OPERATORS,
        certManager: true,
    },
    {
        target: "aws",
        cell: { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" },
        operators: ANALYTICS_OPERATORS,
        certManager: false,
    },
    {
        target: "azure",
        cell: { cloud: "azure", region: "westeurope", residency: "eu", size: "medium" },
        operators: ANALYTICS_OPERATORS,
        certManager: true,
    },
])("a $target cell whose operators are external", ({ cell, operators, certManager }) => {
    let external: ProgramRun;
    let managed: ProgramRun;
    beforeAll(async () => {
        // One at a time: the mocks are the process's.
        external = await singleCellStack({ ...cell, operators: "external" }, "dev");
        managed = await singleCellStack({ ...cell, operators: "managed" }, "dev");
    });

    test("installs none of them, where a managed cell installs each with its chart", () => {
        const charts = (run: ProgramRun) => ofType(run, RELEASE).map((r) => r.inputs.chart);
        expect(charts(managed)).toEqual(expect.arrayContaining(operatorCharts(operators)));
        expect(charts(external).filter((chart) => operatorCharts(operators).includes(chart))).toEqual([]);
    });

    test("leaves cert-manager to the cluster's team too, and reads its definitions where the cell issues certificates with it", () => {
        const certManagerChart = CLUSTER_KINDS.certManager.chart;
        expect(ofType(managed, RELEASE).some((r) => r.inputs.chart === certManagerChart)).toBe(certManager);
        expect(ofType(external, RELEASE).some((r) => r.inputs.chart === certManagerChart)).toBe(false);
        const read = ofType(external, CRD).map((crd) => crd.id);
        for (const kind of CLUSTER_KINDS.certManager.kinds) expect(read.includes(crdNameOf(kind))).toBe(certManager);
    });

    test("reads every definition its custom resources need from the cluster, and creates them only after the reads", () => {
        const read = ofType(external, CRD);
        // Reads: no inputs of the program's, the object named by its id.
        expect(read.every((crd) => Object.keys(crd.inputs).length === 0 && crd.id === crd.state.metadata.name)).toBe(true);
        const names = read.map((crd) => crd.id);
        for (const operator of operators) expect(names).toEqual(expect.arrayContaining(OPERATOR_KINDS[operator].kinds.map(crdNameOf)));
        const kafkas = ofType(external, "kubernetes:kafka.strimzi.io/v1:KafkaNodePool");
        const installations = ofType(external, "kubernetes:clickhouse.altinity.com/v1:ClickHouseInstallation");
        expect(installations).toHaveLength(1);
        const waitsFor = (operator: string) => (r: { dependsOn: string[] }) =>
            r.dependsOn.some((d) => d.endsWith(`-operators-${operator}-crds`));
        expect(installations.every(waitsFor("clickhouse"))).toBe(true);
        expect(kafkas.every(waitsFor("strimzi"))).toBe(true);
    });

    test("passes the pack's check that every custom resource has its definition; without a required CRD it fails, naming it", async () => {
        const config = packConfigOf("dev");
        const crdViolations = async (resources: ProgramRun["resources"]) =>
            (await runPolicies(resources, config)).filter((v) => v.policy === "custom-resources-have-crds");
        expect(await crdViolations(external.resources)).toEqual([]);
        expect(await crdViolations(managed.resources)).toEqual([]);
        const required = ofType(external, REQUIRED_CRDS);
        const clusters = external.resources.filter((r) => r.type === "pulumi:providers:kubernetes").map((r) => r.urn);
        expect(required.length).toBeGreaterThan(0);
        expect(required.filter((r) => !clusters.includes(r.state.cluster))).toEqual([]);
        const flink = "flinkdeployments.flink.apache.org";
        const withoutFlink = external.resources.map((r) =>
            r.type === REQUIRED_CRDS ? { ...r, state: { ...r.state, crds: r.state.crds.filter((crd: string) => crd !== flink) } } : r,
        );
        expect((await crdViolations(withoutFlink)).map((v) => v.message)).toEqual([
            expect.stringMatching(
                /^FlinkDeployment "cell-1-streaming-deployment" needs CRD flinkdeployments\.flink\.apache\.org on its cluster, which the stack neither installs \(chart flink-kubernetes-operator\) nor requires/,
            ),
        ]);
    });
});

describe("cellplane:chartRepository", () => {
    const MIRROR = "https://charts.example.internal/cellplane";

    test.each([
        {
            target: "kubernetes",
            cell: { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "medium", kubeContext: "onprem-eu" },
        },
        { target: "aws", cell: { cloud: "aws", region: "eu-central-1", residency: "eu", size: "medium" } },
        { target: "azure", cell: { cloud: "azure", region: "westeurope", residency: "eu", size: "medium" } },
    ])("every chart of a $target cell comes from the mirror, under its own name and pinned version", async ({ cell }) => {
        const pinned = await singleCellStack(cell, "dev");
        const mirrored = await singleCellStack(cell, "dev", 2555, { chartRepository: MIRROR });
        const chartsOf = (run: ProgramRun) => ofType(run, RELEASE).map((r) => [r.name, r.inputs.chart, r.inputs.version]);
        expect(chartsOf(mirrored)).toEqual(chartsOf(pinned));
        expect(ofType(pinned, RELEASE).some((r) => r.inputs.repositoryOpts.repo === MIRROR)).toBe(false);
        expect(ofType(mirrored, RELEASE).map((r) => r.inputs.repositoryOpts.repo)).toEqual(ofType(mirrored, RELEASE).map(() => MIRROR));
    });
});
