import { execFileSync, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jdbcUrlOf, type LakehouseJob, type LakehouseSettings, WAREHOUSE_PREFIX } from "./jobs";
import { sparkHome, sparkJobJars } from "../../components/local/tools";

/** The one script every target submits: the jobs themselves. */
export const JOBS_SCRIPT = path.join(__dirname, "spark", "cellplane_lakehouse.py");

/** A cell's stores as a run on this machine reaches them, with their CAs and secrets. */
export interface LakehouseCell {
    postgres: { host: string; port: number; database: string; user: string; password: string; ca?: string };
    kafka: { bootstrap: string; topic: string; ca?: string; scram?: { username: string; password: string } };
    objectStore: { endpoint: string; region: string; bucket: string; ca?: string; accessKeyId: string; secretAccessKey: string };
}

/** Where Spark is, with the jobs' jars and script. */
export interface SparkInstall {
    home: string;
    jars: string[];
    script: string;
}

/**
 * This machine's Spark, from the bootstrap's cache (`components/local/tools.ts`), and the jobs' script: the one beside
 * this module unless given (a bundle, such as the scheduler's, is not beside it).
 */
export const localSpark = (script = JOBS_SCRIPT): SparkInstall => ({ home: sparkHome(), jars: sparkJobJars(), script });

/**
 * A run as a cluster's Spark operator makes it: the SparkApplication's name in the driver's labels, and the retry
 * policy in the settings, so that the script records its own attempts.
 */
export interface OperatorRun {
    application: string;
    runs: NonNullable<LakehouseSettings["runs"]>;
}

/** What a job of a submission did: the rows it wrote, or why it failed (then the jobs after it did not run). */
export type JobOutcome = { job: LakehouseJob; rows: number } | { job: LakehouseJob; error: string };

/**
 * Runs `jobs`, in order, in one Spark session on this machine (`local[2]`). The CAs go to files of the run's own
 * folder (the object store's as a trust store, which Java's S3 client reads), the secrets to the process's
 * environment; the folder is removed after.
 */
export async function submitLocally(
    spark: SparkInstall,
    cell: LakehouseCell,
    jobs: LakehouseJob[],
    log: (line: string) => void,
    asOperator?: OperatorRun,
): Promise<JobOutcome[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-spark-"));
    try {
        const file = (name: string, content?: string) => {
            if (content === undefined) return undefined;
            const at = path.join(dir, name);
            fs.writeFileSync(at, content, { mode: 0o600 });
            return at;
        };
        const postgresCa = file("postgres-ca.pem", cell.postgres.ca);
        const settings: LakehouseSettings = {
            catalog: { jdbcUrl: jdbcUrlOf(cell.postgres, postgresCa ? { caFile: postgresCa } : undefined), user: cell.postgres.user },
            warehouse: `s3://${cell.objectStore.bucket}/${WAREHOUSE_PREFIX}`,
            objectStore: {
                kind: "s3",
                endpoint: cell.objectStore.endpoint,
                region: cell.objectStore.region,
                accessKeyId: cell.objectStore.accessKeyId,
                pathStyle: true,
            },
            kafka: {
                bootstrap: cell.kafka.bootstrap,
                topic: cell.kafka.topic,
                tls: cell.kafka.ca !== undefined,
                caFile: file("kafka-ca.pem", cell.kafka.ca),
                sasl: cell.kafka.scram ? { mechanism: "SCRAM-SHA-512", username: cell.kafka.scram.username } : undefined,
            },
            runs: asOperator?.runs,
        };
        const javaOptions = cell.objectStore.ca ? trustStoreOptions(dir, file("object-store-ca.pem", cell.objectStore.ca)!) : [];
        const args = [
            ...["--master", "local[2]", "--driver-memory", "1g", "--conf", "spark.ui.enabled=false"],
            // Two cores: Spark's 200 shuffle partitions would be 200 tasks each for a cell's few thousand rows.
            ...["--conf", "spark.sql.shuffle.partitions=4"],
            ...(javaOptions.length ? ["--conf", `spark.driver.extraJavaOptions=${javaOptions.join(" ")}`] : []),
            ...(asOperator ? ["--conf", `spark.kubernetes.driver.label.sparkoperator.k8s.io/app-name=${asOperator.application}`] : []),
            ...["--jars", spark.jars.join(","), spark.script, ...jobs],
        ];
        const env = {
            ...process.env,
            SPARK_HOME: path.join(spark.home, "pyspark"),
            PYTHONPATH: spark.home,
            PYSPARK_PYTHON: "python3",
            SPARK_LOCAL_IP: "127.0.0.1",
            LAKEHOUSE: JSON.stringify(settings),
            POSTGRES_PASSWORD: cell.postgres.password,
            OBJECT_STORE_PASSWORD: cell.objectStore.secretAccessKey,
            ...(cell.kafka.scram ? { KAFKA_PASSWORD: cell.kafka.scram.password } : {}),
        };
        return outcomesOf(await spawnSpark(path.join(spark.home, "pyspark", "bin", "spark-submit"), args, env, log), jobs);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * A PKCS#12 trust store holding the store's CA (its password guards nothing secret: a certificate is public), as the
 * JVM options that make it the JVM's.
 */
export function trustStoreOptions(dir: string, caFile: string): string[] {
    const store = path.join(dir, "trust.p12");
    const password = randomBytes(12).toString("hex");
    execFileSync(
        "keytool",
        [
            "-importcert",
            "-noprompt",
            "-alias",
            "cell-ca",
            "-file",
            caFile,
            "-keystore",
            store,
            "-storetype",
            "PKCS12",
            "-storepass",
            password,
        ],
        {
            stdio: "pipe",
        },
    );
    return [
        `-Djavax.net.ssl.trustStore=${store}`,
        "-Djavax.net.ssl.trustStoreType=PKCS12",
        `-Djavax.net.ssl.trustStorePassword=${password}`,
    ];
}

interface SparkExit {
    code: number | null;
    lines: string[];
    stderrTail: string[];
}

function spawnSpark(command: string, args: string[], env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<SparkExit> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        const lines: string[] = [];
        const stderrTail: string[] = [];
        let pending = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            const parts = (pending + chunk).split("\n");
            pending = parts.pop() ?? "";
            for (const line of parts) lines.push(line);
        });
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            for (const line of chunk.split("\n").filter((l) => l.trim() !== "" && !/ INFO /.test(l))) {
                stderrTail.push(line);
                if (stderrTail.length > 40) stderrTail.shift();
                if (/ (WARN|ERROR) /.test(line)) log(line);
            }
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, lines: pending ? [...lines, pending] : lines, stderrTail }));
    });
}

/** Each job's outcome from the lines the script prints; a job it never reached failed with the run. */
function outcomesOf({ code, lines, stderrTail }: SparkExit, jobs: LakehouseJob[]): JobOutcome[] {
    const reported = new Map<string, JobOutcome>();
    for (const line of lines) {
        if (!line.startsWith("{")) continue;
        const outcome = JSON.parse(line) as JobOutcome;
        reported.set(outcome.job, outcome);
    }
    const cause =
        stderrTail
            .filter((l) => /Error|Exception/.test(l))
            .slice(-3)
            .join("\n") || stderrTail.slice(-3).join("\n");
    const failed = [...reported.values()].find((o) => "error" in o);
    return jobs.map(
        (job) =>
            reported.get(job) ?? {
                job,
                error: failed
                    ? `not run: ${failed.job} failed before it`
                    : `spark-submit exited with ${code} before the job ran: ${cause || "no output"}`,
            },
    );
}
