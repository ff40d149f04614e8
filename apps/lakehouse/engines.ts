/**
 * Apache Spark 4.1.1 from PyPI's `pyspark`, which ships the whole distribution and `spark-submit` (4.1 is maintained
 * until 2027-06, 18 months after its first release; 4.1.1 because Central serves the Kafka connector's token provider
 * for it and not for 4.1.2-4.1.3). Java 17 runs it, here and in the official image clusters run.
 */
export const SPARK_VERSION = "4.1.1";
/** Apache Iceberg 1.12.0, the newest release, whose Spark runtime is built for Spark 4.1. */
export const ICEBERG_VERSION = "1.12.0";

/**
 * The jars every run adds to Spark's own, without their dependencies, which Spark ships: Iceberg with its AWS
 * bundle, the Kafka source and Postgres's JDBC driver. The bootstrap fetches these for local cells (`step_spark`); a
 * cluster's driver fetches them from Maven Central.
 */
export const LAKEHOUSE_JARS = [
    `org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:${ICEBERG_VERSION}`,
    `org.apache.iceberg:iceberg-aws-bundle:${ICEBERG_VERSION}`,
    `org.apache.spark:spark-sql-kafka-0-10_2.13:${SPARK_VERSION}`,
    `org.apache.spark:spark-token-provider-kafka-0-10_2.13:${SPARK_VERSION}`,
    "org.apache.kafka:kafka-clients:3.9.1",
    "org.apache.commons:commons-pool2:2.12.1",
    "org.postgresql:postgresql:42.7.14",
] as const;

/**
 * Apache Flink 2.2.1, whose runtime PyPI's `apache-flink-libraries` ships (`pyflink/lib`). Flink patches its newest
 * two minors: 2.2 stays supported until 2.4 is released (expected about 2027-05). 2.2 rather than 2.3 because the
 * Kafka connector is released for 2.2 and not yet for 2.3.
 */
export const FLINK_VERSION = "2.2.1";

/**
 * The jars the streaming job adds to Flink's own: the Kafka connector and the client it is built against (unshaded,
 * so that MSK IAM's login module fits it). Local cells add the SQL gateway, which runs the job's script and which
 * Flink's distribution keeps in `opt/` (the PyPI runtime leaves it out).
 */
export const STREAMING_JARS = ["org.apache.flink:flink-connector-kafka:5.0.0-2.2", "org.apache.kafka:kafka-clients:4.2.0"] as const;
export const SQL_GATEWAY_JAR = `org.apache.flink:flink-sql-gateway:${FLINK_VERSION}`;

/** Flink's SQL driver (FLIP-480), in its table runtime: it runs a SQL script as a job, here and in a FlinkDeployment. */
export const SQL_DRIVER = "org.apache.flink.table.runtime.application.SqlDriver";

/**
 * Iceberg's ADLS client with the Azure SDK it reads Data Lake Storage with (Azure cells' lakes), of the same release as
 * the runtime.
 */
export const ICEBERG_AZURE_JAR = `org.apache.iceberg:iceberg-azure-bundle:${ICEBERG_VERSION}`;

/** MSK IAM's login module for the Kafka client (cells on MSK); the AWS SDK it signs with comes in Iceberg's bundle. */
export const MSK_IAM_JAR = "software.amazon.msk:aws-msk-iam-auth:2.4.0";

/** MSK IAM's login module with the AWS SDK it signs with: the streaming job has no Iceberg bundle to lend it one. */
export const MSK_IAM_STANDALONE_JAR = `${MSK_IAM_JAR}:all`;

/** Where Maven Central serves the jar of `group:artifact:version[:classifier]`. */
export function mavenCentralUrl(coordinates: string): string {
    const [group, artifact, version, classifier] = coordinates.split(":");
    const file = classifier ? `${artifact}-${version}-${classifier}` : `${artifact}-${version}`;
    return `https://repo1.maven.org/maven2/${group.replace(/\./g, "/")}/${artifact}/${version}/${file}.jar`;
}
