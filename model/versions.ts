/**
 * Every version the cloud targets pin, in one place, each with the last day its vendor supports it and where that
 * date comes from. The `supported-versions` policies read this table: a version past its end fails a preview, one
 * within 90 days of it warns, and a version missing from the table fails until it is added here with its date.
 *
 * To update: pick the vendor's newest supported version, copy its end-of-support date from the source, and change
 * the entry; components take their versions from here. `endOfSupport: null` means the vendor publishes no date yet.
 */
import { NODE_VERSION } from "../components/runtime";
import IMAGE_DIGESTS from "./imageDigests.json";

/** What the policies compare: a kind of versioned thing and its version as the resource names it. */
export interface PinnedVersion {
    /** `eks`, `aks`, `msk`, `rds-postgres`, `flexible-postgres`, `strimzi-kafka`, `image:<repository>` or `chart:<name>`. */
    kind: string;
    version: string;
    /** The last supported day (ISO date), or null while the vendor publishes none. */
    endOfSupport: string | null;
    /** Where the date comes from. */
    source: string;
}

const pin = (kind: string, version: string, endOfSupport: string | null, source: string): PinnedVersion => ({
    kind,
    version,
    endOfSupport,
    source,
});

const POSTGRES_16_END = "2028-11-09";
const POSTGRES_POLICY = "https://www.postgresql.org/support/versioning/ (PostgreSQL 16: final release 2028-11-09)";
const CLICKHOUSE_LTS_SERVER = "26.3.39.7";
const CLICKHOUSE_LTS_KEEPER = "26.3.35.3";
const CLICKHOUSE_LTS_END = "2027-03-26";
const CLICKHOUSE_POLICY =
    "https://clickhouse.com/docs/faq/operations/production (an LTS release is supported for a year; 26.3 LTS was released 2026-03-26)";

export const VERSIONS = {
    eks: pin(
        "eks",
        "1.35",
        "2027-03-27",
        "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (14 months of standard support; 1.35 released 2026-01-28)",
    ),
    aks: pin(
        "aks",
        "1.36",
        "2027-06-30",
        "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions (AKS release calendar: 1.36 GA Jun 2026, end of life Jun 2027)",
    ),
    msk: pin(
        "msk",
        "3.9.x",
        null,
        "https://docs.aws.amazon.com/msk/latest/developerguide/supported-kafka-versions.html (no end of support published for 3.9.x; 3.7.x ended 2026-09-01)",
    ),
    rdsPostgres: pin(
        "rds-postgres",
        "16",
        "2029-02-28",
        "https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html (end of RDS standard support)",
    ),
    flexiblePostgres: pin(
        "flexible-postgres",
        "16",
        POSTGRES_16_END,
        "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-version-policy (retired with the community release)",
    ),
    strimziKafka: pin(
        "strimzi-kafka",
        "4.2.1",
        null,
        "https://kafka.apache.org/downloads (Apache Kafka patches its three newest minors: 4.3, 4.2 and 4.1); Strimzi 1.2.0 runs 4.2.x and 4.3.x",
    ),
    postgresImage: pin("image:ghcr.io/cloudnative-pg/postgresql", "16.15", POSTGRES_16_END, POSTGRES_POLICY),
    clickhouseImage: pin("image:clickhouse/clickhouse-server", CLICKHOUSE_LTS_SERVER, CLICKHOUSE_LTS_END, CLICKHOUSE_POLICY),
    keeperImage: pin("image:clickhouse/clickhouse-keeper", CLICKHOUSE_LTS_KEEPER, CLICKHOUSE_LTS_END, CLICKHOUSE_POLICY),
    sparkImage: pin(
        "image:spark",
        "4.1.1-scala2.13-java17-python3-ubuntu",
        "2027-06-30",
        "https://spark.apache.org/versioning-policy.html (a feature release is maintained 18 months: 4.1, released 2025-12, until about 2027-06); the Docker official image of apache/spark-docker's 4.1.1/scala2.13-java17-python3-ubuntu",
    ),
    flinkImage: pin(
        "image:flink",
        "2.2.1-scala_2.12-java17",
        "2027-05-31",
        "https://flink.apache.org/downloads/#update-policy-for-old-releases (the newest two minors are patched: 2.2 until 2.4 is released, expected about 2027-05); the Docker official image's 2.2.1-scala_2.12-java17",
    ),
    nodeImage: pin(
        "image:node",
        `${NODE_VERSION}-bookworm-slim`,
        "2028-04-30",
        "https://nodejs.org/en/about/previous-releases (Node 24 LTS)",
    ),
    strimziChart: pin(
        "chart:strimzi-kafka-operator",
        "1.2.0",
        null,
        "https://strimzi.io/downloads/ (Strimzi supports its newest minor only; 1.2.0 released 2026-08-20)",
    ),
    cloudnativePgChart: pin(
        "chart:cloudnative-pg",
        "0.29.1",
        "2026-12-31",
        "https://cloudnative-pg.io/documentation/current/supported_releases/ (operator 1.30: supported until three months after 1.31, about Dec 2026)",
    ),
    clickhouseOperatorChart: pin(
        "chart:altinity-clickhouse-operator",
        "0.27.3",
        null,
        "https://github.com/Altinity/clickhouse-operator/releases (no support window published; 0.27.3 released 2026-08-11)",
    ),
    flinkOperatorChart: pin(
        "chart:flink-kubernetes-operator",
        "1.16.1",
        null,
        "https://flink.apache.org/downloads/ (the newest operator release; Flink patches its newest two minors)",
    ),
    sparkOperatorChart: pin(
        "chart:spark-operator",
        "2.5.2",
        null,
        "https://github.com/kubeflow/spark-operator/releases (no support window published; 2.5.2 released 2026-07-31)",
    ),
    seaweedfsChart: pin(
        "chart:seaweedfs",
        "4.53.0",
        null,
        "https://github.com/seaweedfs/seaweedfs/releases (no support window published; fixes land in the newest release): the chart of the SeaweedFS 4.53 that local cells run (k8s/charts/seaweedfs of the pinned module)",
    ),
    awsLoadBalancerControllerChart: pin(
        "chart:aws-load-balancer-controller",
        "3.4.2",
        null,
        "https://github.com/kubernetes-sigs/aws-load-balancer-controller/releases (no support window published; v3.4.2, chart 3.4.2 in eks-charts v0.0.240, released 2026-07-13)",
    ),
    kubePrometheusStackChart: pin(
        "chart:kube-prometheus-stack",
        "88.1.3",
        null,
        "https://github.com/prometheus-community/helm-charts/releases (no support window published; fixes land in the newest major: 88.1.3, with Prometheus Operator v0.93.0)",
    ),
    certManagerChart: pin(
        "chart:cert-manager",
        "v1.21.2",
        null,
        "https://cert-manager.io/docs/releases/ (a release is supported until the second one after it: 1.21, released 2026-07-08, until 1.23's release, not yet dated)",
    ),
} as const satisfies Record<string, PinnedVersion>;

/** The `repository:tag` of a pinned image. */
export const taggedImageOf = (pinned: PinnedVersion): string => `${pinned.kind.replace(/^image:/, "")}:${pinned.version}`;

/**
 * The digest each pinned image's tag had at its registry when `npm run images:pin` last asked (model/imageDigests.json):
 * a node pulls those bytes, whatever the tag points at later.
 */
export const imageDigests = (): Record<string, string> => IMAGE_DIGESTS;

/** An image reference of a pinned version: `repository:tag@sha256:…` once its digest is pinned, `repository:tag` until then. */
export function imageOf(pinned: PinnedVersion, digests: Record<string, string> = imageDigests()): string {
    const tagged = taggedImageOf(pinned);
    return digests[tagged] ? `${tagged}@${digests[tagged]}` : tagged;
}

/** Every pinned image, `repository:tag`. */
export const PINNED_IMAGES: string[] = Object.values(VERSIONS as Record<string, PinnedVersion>)
    .filter((v) => v.kind.startsWith("image:"))
    .map(taggedImageOf);
