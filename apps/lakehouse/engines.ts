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

/** MSK IAM's login module for the Kafka client (cells on MSK); the AWS SDK it signs with comes in Iceberg's bundle. */
export const MSK_IAM_JAR = "software.amazon.msk:aws-msk-iam-auth:2.4.0";

/** Where Maven Central serves the jar of `group:artifact:version`. */
export function mavenCentralUrl(coordinates: string): string {
    const [group, artifact, version] = coordinates.split(":");
    return `https://repo1.maven.org/maven2/${group.replace(/\./g, "/")}/${artifact}/${version}/${artifact}-${version}.jar`;
}
