"""The cell's Spark jobs over its Iceberg lake (seeds 001, 002, 004): bronze, silver, gold.

One entry point for every target: `spark-submit cellplane_lakehouse.py <job>…`, jobs in order in one session. Where things are comes from the
environment the runner (local) or the SparkApplication (clusters) gives it: LAKEHOUSE, a JSON document, and the
secrets beside it (POSTGRES_PASSWORD, OBJECT_STORE_PASSWORD, KAFKA_PASSWORD), so that no secret is on a command line.

Every job is incremental and idempotent: it reads what is new since the snapshot its last commit recorded, and its
commit records where it stopped in the same atomic Iceberg snapshot. A run that fails commits nothing, and the next
run starts from the same place.
"""

import json
import os
import re
import sys
import time
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

CATALOG = "lake"
# What each table's snapshots record: how far the job that writes it has read its source.
READ_UP_TO = "cellplane.read-up-to"

# Every table's columns and partitioning (by tenant and day, so a tenant's day is read, and replaced, on its own),
# and the name tenants query it by: one file, which the query API reads too.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tables.json"), encoding="utf-8") as tables_file:
    TABLES = json.load(tables_file)

SPARK_TYPES = {"string": StringType(), "timestamp": TimestampType()}
# The events as the topic carries them; `metadata` is an object there, of which Spark keeps the JSON text.
EVENT_SCHEMA = StructType([StructField(name, SPARK_TYPES[kind]) for name, kind in TABLES["silver.events"]["columns"]])


def settings() -> dict:
    config = json.loads(os.environ["LAKEHOUSE"])
    for field in ("catalog", "warehouse", "objectStore", "kafka"):
        if field not in config:
            sys.exit(f"LAKEHOUSE.{field} is missing: the runner gives the cell's catalog, warehouse, store and Kafka")
    return config


def session(config: dict, job: str) -> SparkSession:
    catalog, store = config["catalog"], config["objectStore"]
    prefix = f"spark.sql.catalog.{CATALOG}"
    builder = (
        SparkSession.builder.appName(f"cellplane-{job}")
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.session.timeZone", "UTC")
        .config(prefix, "org.apache.iceberg.spark.SparkCatalog")
        .config(f"{prefix}.catalog-impl", "org.apache.iceberg.jdbc.JdbcCatalog")
        .config(f"{prefix}.uri", catalog["jdbcUrl"])
        .config(f"{prefix}.jdbc.user", catalog["user"])
        .config(f"{prefix}.jdbc.password", os.environ["POSTGRES_PASSWORD"])
        .config(f"{prefix}.jdbc.schema-version", "V1")
        .config(f"{prefix}.warehouse", config["warehouse"])
    )
    if store.get("kind") == "adls":
        # Data Lake Storage with the pod's workload identity: Iceberg's Azure client takes it from the environment.
        builder = builder.config(f"{prefix}.io-impl", "org.apache.iceberg.azure.adlsv2.ADLSFileIO")
    else:
        builder = (
            builder.config(f"{prefix}.io-impl", "org.apache.iceberg.aws.s3.S3FileIO")
            .config(f"{prefix}.client.region", store["region"])
            .config(f"{prefix}.s3.path-style-access", "true" if store["pathStyle"] else "false")
        )
        if store.get("endpoint"):
            builder = builder.config(f"{prefix}.s3.endpoint", store["endpoint"])
        if store.get("accessKeyId"):
            # Keys for a store that has them (SeaweedFS); a cloud cell's pod takes its identity's credentials instead.
            builder = builder.config(f"{prefix}.s3.access-key-id", store["accessKeyId"]).config(
                f"{prefix}.s3.secret-access-key", os.environ["OBJECT_STORE_PASSWORD"]
            )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def ensure_tables(spark: SparkSession) -> None:
    for layer in ("bronze", "silver", "gold"):
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {CATALOG}.{layer}")
    for name, table in TABLES.items():
        columns = ", ".join(f"{column} {kind}" for column, kind in table["columns"])
        spark.sql(
            f"""CREATE TABLE IF NOT EXISTS {CATALOG}.{name} ({columns})
                USING iceberg PARTITIONED BY ({table["partitionedBy"]})"""
        )


def read_up_to(spark: SparkSession, table: str):
    """What the table's last commit recorded of its source, or None before its first."""
    rows = spark.sql(
        f"""SELECT summary['{READ_UP_TO}'] AS mark FROM {CATALOG}.{table}.snapshots
            WHERE summary['{READ_UP_TO}'] IS NOT NULL ORDER BY committed_at DESC LIMIT 1"""
    ).collect()
    return json.loads(rows[0].mark) if rows else None


def current_snapshot(spark: SparkSession, table: str):
    rows = spark.sql(f"SELECT snapshot_id FROM {CATALOG}.{table}.snapshots ORDER BY committed_at DESC LIMIT 1").collect()
    return rows[0].snapshot_id if rows else None


def appended_since(spark: SparkSession, table: str, mark):
    """The rows appended to `table` after snapshot `mark` (all of it when None), and the snapshot read up to."""
    upto = current_snapshot(spark, table)
    if upto is None or upto == mark:
        return None, upto
    reader = spark.read.format("iceberg")
    if mark is not None:
        reader = reader.option("start-snapshot-id", str(mark)).option("end-snapshot-id", str(upto))
    return reader.load(f"{CATALOG}.{table}"), upto


def kafka_options(config: dict) -> dict:
    kafka = config["kafka"]
    options = {"kafka.bootstrap.servers": kafka["bootstrap"]}
    sasl = kafka.get("sasl")
    if kafka.get("tls"):
        options["kafka.security.protocol"] = "SASL_SSL" if sasl else "SSL"
        if kafka.get("caFile"):
            options["kafka.ssl.truststore.type"] = "PEM"
            options["kafka.ssl.truststore.location"] = kafka["caFile"]
    elif sasl:
        options["kafka.security.protocol"] = "SASL_PLAINTEXT"
    if sasl and sasl["mechanism"] == "AWS_MSK_IAM":
        # MSK IAM (its jar on the classpath): signs with the pod's role, which allows reading the events topic.
        options["kafka.sasl.mechanism"] = "AWS_MSK_IAM"
        options["kafka.sasl.jaas.config"] = "software.amazon.msk.auth.iam.IAMLoginModule required;"
        options["kafka.sasl.client.callback.handler.class"] = "software.amazon.msk.auth.iam.IAMClientCallbackHandler"
    elif sasl and sasl["mechanism"] == "OAUTHBEARER":
        # Event Hubs: Kafka's own login reads the Entra ID token its pod's sidecar keeps in the file (the JVM allows
        # that URL, and no other, by a system property).
        options["kafka.sasl.mechanism"] = "OAUTHBEARER"
        options["kafka.sasl.jaas.config"] = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
        options["kafka.sasl.login.callback.handler.class"] = (
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"
        )
        options["kafka.sasl.oauthbearer.token.endpoint.url"] = f"file://{sasl['tokenFile']}"
    elif sasl:
        password = os.environ["KAFKA_PASSWORD"].replace("\\", "\\\\").replace('"', '\\"')
        options["kafka.sasl.mechanism"] = sasl["mechanism"]
        options["kafka.sasl.jaas.config"] = (
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{sasl["username"]}" password="{password}";'
        )
    return options


def partitions_of(spark: SparkSession, config: dict) -> list:
    """The events topic's partitions, as the Kafka client of the job's own jars lists them."""
    java = spark.sparkContext._jvm
    properties = java.java.util.Properties()
    for key, value in kafka_options(config).items():
        properties.setProperty(key.removeprefix("kafka."), value)
    deserializer = "org.apache.kafka.common.serialization.ByteArrayDeserializer"
    properties.setProperty("key.deserializer", deserializer)
    properties.setProperty("value.deserializer", deserializer)
    consumer = java.org.apache.kafka.clients.consumer.KafkaConsumer(properties)
    try:
        return [str(info.partition()) for info in consumer.partitionsFor(config["kafka"]["topic"])]
    finally:
        consumer.close()


def bronze(spark: SparkSession, config: dict) -> int:
    """The events topic into bronze.events: every message once, from the offsets the table's last commit recorded."""
    topic = config["kafka"]["topic"]
    since = read_up_to(spark, "bronze.events") or {}
    # Spark wants every partition's offset or none: a partition bronze has not seen yet starts at its earliest (-2).
    starting = json.dumps({topic: {p: since.get(p, -2) for p in partitions_of(spark, config)}}) if since else "earliest"
    messages = (
        spark.read.format("kafka")
        .options(**kafka_options(config))
        .option("subscribe", topic)
        .option("startingOffsets", starting)
        .option("endingOffsets", "latest")
        .option("failOnDataLoss", "true")
        .load()
        .cache()
    )
    read = messages.groupBy("partition").agg((F.max("offset") + 1).alias("next"), F.count("*").alias("rows")).collect()
    if not read:
        return 0
    ends = {str(r.partition): r.next for r in read}
    events = messages.select(
        F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("e"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
    ).select("e.*", "kafka_partition", "kafka_offset", F.current_timestamp().alias("ingested_at"))
    events.writeTo(f"{CATALOG}.bronze.events").option(
        f"snapshot-property.{READ_UP_TO}", json.dumps({**since, **ends})
    ).append()
    return sum(r.rows for r in read)


def silver(spark: SparkSession, config: dict) -> int:
    """New bronze rows, deduplicated by event id, into silver.events; the sessions they touch recomputed whole."""
    mark = read_up_to(spark, "silver.events")
    fresh, upto = appended_since(spark, "bronze.events", mark["bronze"] if mark else None)
    if fresh is None:
        return 0
    first = fresh.where("event_id IS NOT NULL AND org_id IS NOT NULL").dropDuplicates(["org_id", "event_id"])
    first.select(*[f.name for f in EVENT_SCHEMA.fields]).createOrReplaceTempView("fresh_events")
    spark.sql(
        f"""MERGE INTO {CATALOG}.silver.events t USING fresh_events s
            ON t.org_id = s.org_id AND t.event_id = s.event_id
            WHEN NOT MATCHED THEN INSERT *"""
    )
    touched = first.select("org_id", "session_id", F.to_date("timestamp").alias("day")).distinct()
    recompute_sessions(spark, touched)
    commit_mark(spark, "silver.events", {"bronze": upto})
    return first.count()


def commit_mark(spark: SparkSession, table: str, mark: dict) -> None:
    """
    Records `mark` in a snapshot of its own, an append of no files: a run that stops before it repeats its write,
    which is idempotent (a merge of what is not there yet, or whole partitions overwritten).
    """
    java = spark.sparkContext._jvm
    table_ref = java.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, f"{CATALOG}.{table}")
    table_ref.newAppend().set(READ_UP_TO, json.dumps(mark)).commit()


def recompute_sessions(spark: SparkSession, touched: DataFrame) -> None:
    touched.createOrReplaceTempView("touched_sessions")
    spark.sql(
        f"""MERGE INTO {CATALOG}.silver.sessions t USING (
                SELECT *, (unix_millis(ended_at) - unix_millis(started_at)) / 1000D AS duration_seconds FROM (
                    SELECT e.org_id, to_date(e.timestamp) AS day, e.session_id, min(e.user_id) AS user_id,
                           count(*) AS events,
                           min(CASE WHEN e.event_type = 'session_start' THEN e.timestamp END) AS started_at,
                           max(CASE WHEN e.event_type = 'session_end' THEN e.timestamp END) AS ended_at
                    FROM {CATALOG}.silver.events e
                    JOIN touched_sessions t
                      ON e.org_id = t.org_id AND e.session_id = t.session_id AND to_date(e.timestamp) = t.day
                    GROUP BY e.org_id, to_date(e.timestamp), e.session_id)
            ) s
            ON t.org_id = s.org_id AND t.day = s.day AND t.session_id = s.session_id
            WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"""
    )


def gold(spark: SparkSession, config: dict) -> int:
    """The (tenant, day)s that silver changed, recomputed whole (seed 002 §3.3.1), as ClickHouse's daily reports are."""
    mark = read_up_to(spark, "gold.daily_tenant_metrics")
    fresh, upto = appended_since(spark, "silver.events", mark["silver"] if mark else None)
    if fresh is None:
        return 0
    fresh.select("org_id", F.to_date("timestamp").alias("day")).distinct().createOrReplaceTempView("touched_days")
    day_events = f"""SELECT e.* FROM {CATALOG}.silver.events e
        JOIN touched_days d ON e.org_id = d.org_id AND to_date(e.timestamp) = d.day"""
    reports = spark.sql(
        f"""SELECT org_id, day, sum(n) AS events, size(array_distinct(flatten(collect_list(users)))) AS unique_users,
                   count(*) AS unique_sessions, sum(failed) AS errors, sum(failed) / sum(n) AS error_rate,
                   coalesce(sum(usd), 0D) AS cost_usd, count_if(timed) AS sessions_timed,
                   coalesce(avg(CASE WHEN timed THEN seconds END), 0D) AS avg_session_seconds,
                   current_timestamp() AS computed_at
            FROM (
                SELECT org_id, to_date(timestamp) AS day, session_id, count(*) AS n, collect_set(user_id) AS users,
                       count_if(event_type = 'error') AS failed,
                       sum(CASE WHEN event_type = 'cost_incurred'
                                THEN coalesce(CAST(get_json_object(metadata, '$.usd') AS double), 0D) ELSE 0D END) AS usd,
                       (unix_millis(max(CASE WHEN event_type = 'session_end' THEN timestamp END))
                        - unix_millis(min(CASE WHEN event_type = 'session_start' THEN timestamp END))) / 1000D AS seconds,
                       count_if(event_type = 'session_start') > 0 AND count_if(event_type = 'session_end') > 0
                           AND (unix_millis(max(CASE WHEN event_type = 'session_end' THEN timestamp END))
                                - unix_millis(min(CASE WHEN event_type = 'session_start' THEN timestamp END))) >= 0 AS timed
                FROM ({day_events}) GROUP BY org_id, to_date(timestamp), session_id
            ) GROUP BY org_id, day"""
    ).cache()
    by_type = spark.sql(
        f"""SELECT org_id, to_date(timestamp) AS day, event_type, count(*) AS events,
                   count(DISTINCT user_id) AS unique_users, count(DISTINCT session_id) AS unique_sessions,
                   current_timestamp() AS computed_at
            FROM ({day_events}) GROUP BY org_id, to_date(timestamp), event_type"""
    )
    # Partitions are (tenant, day): overwriting them replaces exactly the days recomputed.
    by_type.writeTo(f"{CATALOG}.gold.daily_events_by_type").overwritePartitions()
    reports.writeTo(f"{CATALOG}.gold.daily_tenant_metrics").overwritePartitions()
    write_daily_reports(spark, config, reports)
    commit_mark(spark, "gold.daily_tenant_metrics", {"silver": upto})
    return reports.count()


def write_daily_reports(spark: SparkSession, config: dict, reports: DataFrame) -> None:
    """Upserts gold's reports into the cell's Postgres (`lakehouse.daily_reports`, made by its migrations)."""
    rows = [r.asDict() for r in reports.collect()]
    connection = postgres_connection(spark, config)
    try:
        connection.setAutoCommit(False)
        statement = connection.prepareStatement(
            """INSERT INTO lakehouse.daily_reports (org_id, day, events, unique_users, unique_sessions, errors, error_rate,
                   cost_usd, sessions_timed, avg_session_seconds, computed_at)
               VALUES (?, ?::date, ?, ?, ?, ?, ?, ?, ?, ?, now())
               ON CONFLICT (org_id, day) DO UPDATE SET events = excluded.events, unique_users = excluded.unique_users,
                   unique_sessions = excluded.unique_sessions, errors = excluded.errors, error_rate = excluded.error_rate,
                   cost_usd = excluded.cost_usd, sessions_timed = excluded.sessions_timed,
                   avg_session_seconds = excluded.avg_session_seconds, computed_at = excluded.computed_at"""
        )
        for row in rows:
            statement.setString(1, row["org_id"])
            statement.setString(2, row["day"].isoformat())
            for at, name in enumerate(["events", "unique_users", "unique_sessions", "errors"], start=3):
                statement.setLong(at, row[name])
            for at, name in enumerate(["error_rate", "cost_usd"], start=7):
                statement.setDouble(at, float(row[name]))
            statement.setLong(9, row["sessions_timed"])
            statement.setDouble(10, float(row["avg_session_seconds"]))
            statement.addBatch()
        statement.executeBatch()
        connection.commit()
    finally:
        connection.close()


# The cell's metadata tables mirrored into silver through logical decoding (seed 001): each keyed by `id`, every
# column as its text, less the columns that hold secrets.
CDC_TABLES = {
    "cellplane.api_keys": {"exclude": ["key_hash"]},
    "cellplane.export_schedules": {"exclude": []},
    "cellplane.export_jobs": {"exclude": []},
}
CDC_SLOT = "cellplane_lakehouse"
CDC_COLUMNS = [("__op", "string"), ("__ts_ms", "bigint"), ("__source_lsn", "bigint")]
# One column of test_decoding's output: `name[type]:value`, the value quoted (quotes doubled), or a bare word.
CDC_COLUMN = re.compile(r"(\w+)\[(.+?)\]:('(?:[^']|'')*'|\S+)")
CDC_CHANGE = re.compile(r"^table ([\w.]+): (INSERT|UPDATE|DELETE): (.*)$")
CDC_OPS = {"INSERT": "c", "UPDATE": "u", "DELETE": "d"}


def lsn_number(lsn: str) -> int:
    """A WAL position (`16/B374D848`) as the number it is, so that positions order."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def column_value(text: str):
    if text == "null":
        return None
    return text[1:-1].replace("''", "'") if text.startswith("'") else text


def parse_change(data: str):
    """A row change of test_decoding (`table s.t: UPDATE: id[uuid]:'…' …`), or None for BEGIN and COMMIT."""
    match = CDC_CHANGE.match(data)
    if not match:
        return None
    table, op, columns = match.groups()
    # An update that changes the key shows the old key first; the new tuple is what the row is now.
    columns = columns.split("new-tuple: ", 1)[-1]
    values = {name: column_value(value) for name, _, value in CDC_COLUMN.findall(columns)}
    return table, CDC_OPS[op], values


def postgres_connection(spark: SparkSession, config: dict):
    catalog = config["catalog"]
    java = spark.sparkContext._jvm
    # The driver is a jar of the job, out of DriverManager's sight: it is asked directly.
    credentials = java.java.util.Properties()
    credentials.setProperty("user", catalog["user"])
    credentials.setProperty("password", os.environ["POSTGRES_PASSWORD"])
    return java.org.postgresql.Driver().connect(catalog["jdbcUrl"], credentials)


def prepared(connection, sql: str, params: tuple):
    statement = connection.prepareStatement(sql)
    for at, param in enumerate(params, start=1):
        statement.setString(at, param)
    return statement


def execute(connection, sql: str, *params) -> None:
    prepared(connection, sql, params).executeUpdate()


def query(connection, sql: str, *params) -> list:
    results = prepared(connection, sql, params).executeQuery()
    width = results.getMetaData().getColumnCount()
    rows = []
    while results.next():
        rows.append([results.getString(i) for i in range(1, width + 1)])
    return rows


def mirror_name(table: str) -> str:
    return f"silver.pg_{table.split('.')[1]}"


def ensure_mirror(spark: SparkSession, connection, table: str) -> list:
    """The mirror of `table` with its columns as Postgres has them now (a new column is added); its columns."""
    schema, name = table.split(".")
    columns = [
        row[0]
        for row in query(
            connection,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            schema,
            name,
        )
        if row[0] not in CDC_TABLES[table]["exclude"]
    ]
    mirror = f"{CATALOG}.{mirror_name(table)}"
    definition = ", ".join([f"{c} string" for c in columns] + [f"{c} {kind}" for c, kind in CDC_COLUMNS])
    spark.sql(f"CREATE TABLE IF NOT EXISTS {mirror} ({definition}) USING iceberg")
    present = {f.name for f in spark.table(mirror).schema.fields}
    for column in [c for c in columns if c not in present]:
        spark.sql(f"ALTER TABLE {mirror} ADD COLUMN {column} string")
    return columns


def merge_changes(spark: SparkSession, table: str, columns: list, changes: list) -> None:
    """The last change of each row into its mirror; a change already there (a run repeated) changes nothing."""
    schema = StructType([StructField(c, StringType()) for c in columns] + [
        StructField("__op", StringType()), StructField("__ts_ms", LongType()), StructField("__source_lsn", LongType())
    ])
    rows = [tuple(change[0].get(c) for c in columns) + change[1:] for change in changes]
    spark.createDataFrame(rows, schema).createOrReplaceTempView("cdc_changes")
    # A delete shows only the key: the row keeps its last values and is marked deleted, as Debezium's are.
    spark.sql(
        f"""MERGE INTO {CATALOG}.{mirror_name(table)} t USING (
                SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY __source_lsn DESC) AS n FROM cdc_changes)
                WHERE n = 1
            ) s ON t.id = s.id
            WHEN MATCHED AND s.__source_lsn >= t.__source_lsn AND s.__op = 'd'
                THEN UPDATE SET t.__op = s.__op, t.__ts_ms = s.__ts_ms, t.__source_lsn = s.__source_lsn
            WHEN MATCHED AND s.__source_lsn >= t.__source_lsn THEN UPDATE SET {", ".join(f"t.{c} = s.{c}" for c in columns + [c for c, _ in CDC_COLUMNS])}
            WHEN NOT MATCHED THEN INSERT ({", ".join(columns + [c for c, _ in CDC_COLUMNS])})
                VALUES ({", ".join(f"s.{c}" for c in columns + [c for c, _ in CDC_COLUMNS])})"""
    )


def snapshot_rows(connection, table: str, columns: list, at_lsn: int) -> list:
    """Every row of `table` as of the slot's creation (`__op` r), each value as its text, as test_decoding shows it."""
    now = int(time.time() * 1000)
    rows = query(connection, f"SELECT {', '.join(f'{c}::text' for c in columns)} FROM {table}")
    return [(dict(zip(columns, row)), "r", now, at_lsn) for row in rows]


def decoded_changes(peeked: list) -> dict:
    """The row changes of whole transactions, each with its commit's time (test_decoding's `include-timestamp`)."""
    changes = {table: [] for table in CDC_TABLES}
    pending = []
    for lsn, data in peeked:
        if data.startswith("COMMIT"):
            at = re.search(r"\(at (.+)\)$", data)
            committed = int(datetime.fromisoformat(at.group(1)).timestamp() * 1000) if at else int(time.time() * 1000)
            for table, op, values, position in pending:
                changes[table].append((values, op, committed, position))
            pending = []
            continue
        change = parse_change(data)
        if change and change[0] in CDC_TABLES:
            pending.append((*change, lsn_number(lsn)))
    return changes


def cdc(spark: SparkSession, config: dict) -> int:
    """
    The metadata tables' changes since the last run into their silver mirrors, with `__op` (r snapshot, c, u, d),
    `__ts_ms` (the commit's time) and `__source_lsn`. The replication slot keeps what is not yet mirrored; it is
    advanced only once the mirrors hold it, so a failed run leaves it for the next. A slot Postgres gave up (its
    WAL past `max_slot_wal_keep_size` while no run came) is made again, and the tables read whole once more.
    """
    connection = postgres_connection(spark, config)
    try:
        level = query(connection, "SHOW wal_level")[0][0]
        if level != "logical":
            raise RuntimeError(
                f"the cell's Postgres runs with wal_level={level}; CDC needs wal_level=logical. Restart it with that setting."
            )
        columns = {table: ensure_mirror(spark, connection, table) for table in CDC_TABLES}
        slot = query(connection, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = ?", CDC_SLOT)
        if slot and slot[0][0] == "lost":
            query(connection, "SELECT pg_drop_replication_slot(?)::text", CDC_SLOT)
        if not slot or slot[0][0] == "lost":
            created = lsn_number(query(connection, "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'test_decoding')", CDC_SLOT)[0][0])
            changes = {table: snapshot_rows(connection, table, columns[table], created) for table in CDC_TABLES}
            upto = None
        else:
            peeked = query(
                connection,
                "SELECT lsn::text, data FROM pg_logical_slot_peek_changes(?, NULL, NULL, 'include-timestamp', 'on')",
                CDC_SLOT,
            )
            changes, upto = decoded_changes(peeked), (peeked[-1][0] if peeked else None)
        written = 0
        for table, rows in changes.items():
            if rows:
                merge_changes(spark, table, columns[table], rows)
                written += len(rows)
        if upto:
            query(connection, "SELECT pg_replication_slot_advance(?, ?::pg_lsn)::text", CDC_SLOT, upto)
        return written
    finally:
        connection.close()


JOBS = {"bronze": bronze, "silver": silver, "gold": gold, "cdc": cdc}


def reason(error: Exception) -> str:
    """What went wrong, in a line: a JVM error's deepest cause (an S3 403, a refused connection) says the most."""
    cause = getattr(error, "java_exception", None)
    if cause is None:
        return str(error).split("\n")[0][:2000]
    while cause.getCause() is not None:
        cause = cause.getCause()
    return cause.toString()[:2000]


# The SparkApplication a cluster's driver runs for: the operator gives it to the driver as a pod label, in Spark's
# configuration (spark-operator's driverConfOption). Each retry of a scheduled run is one more attempt of it.
APPLICATION_LABEL = "spark.kubernetes.driver.label.sparkoperator.k8s.io/app-name"


class ClusterRuns:
    """A cluster's runs in the cell's Postgres (`lakehouse.job_runs`), as a local cell's runner records its own.

    On a cluster the Spark operator runs and retries the jobs, so the script records each attempt itself: the
    attempt counts the tries of this SparkApplication, and a failure that the operator will retry says when (its
    linear backoff: the interval times the attempts done, from the attempt's start). Elsewhere it records nothing.
    """

    def __init__(self, spark: SparkSession, config: dict):
        self.policy = config.get("runs")
        self.application = spark.conf.get(APPLICATION_LABEL, None) if self.policy else None
        self.connection = postgres_connection(spark, config) if self.application else None
        self.open = {}

    def start(self, job: str) -> None:
        if self.connection is None:
            return
        [[run_id]] = query(
            self.connection,
            """INSERT INTO lakehouse.job_runs (job, attempt, trigger, state, application)
               SELECT ?, count(*) + 1, 'schedule', 'running', ? FROM lakehouse.job_runs WHERE job = ? AND application = ?
               RETURNING id::text""",
            job, self.application, job, self.application,
        )
        self.open[job] = run_id

    def succeeded(self, job: str, rows: int) -> None:
        if self.connection is None:
            return
        execute(
            self.connection,
            """UPDATE lakehouse.job_runs SET state = 'succeeded', finished_at = now(), rows_written = CAST(? AS bigint)
               WHERE id = CAST(? AS bigint)""",
            str(rows), self.open.pop(job),
        )

    def failed(self, job: str, error: str) -> None:
        """The attempt's failure; one that failed before its job started (making the tables) is recorded too."""
        if self.connection is None:
            return
        if job not in self.open:
            self.start(job)
        execute(
            self.connection,
            """UPDATE lakehouse.job_runs SET state = 'failed', finished_at = now(), error = ?,
                   retry_at = CASE WHEN attempt <= CAST(? AS int)
                       THEN greatest(now(), started_at + make_interval(secs => CAST(? AS int) * attempt)) END
               WHERE id = CAST(? AS bigint)""",
            error, str(self.policy["retries"]), str(self.policy["retryIntervalSeconds"]), self.open.pop(job),
        )


def main() -> None:
    jobs = sys.argv[1:]
    unknown = [job for job in jobs if job not in JOBS]
    if not jobs or unknown:
        sys.exit(f"usage: cellplane_lakehouse.py <job>… with jobs of {', '.join(JOBS)} (not {', '.join(unknown)})")
    # One line per job as it ends, which the runner records: a job after a failed one does not run.
    current = jobs[0]
    runs = None
    try:
        config = settings()
        spark = session(config, "-".join(jobs))
        runs = ClusterRuns(spark, config)
        ensure_tables(spark)
        for current in jobs:
            runs.start(current)
            rows = JOBS[current](spark, config)
            runs.succeeded(current, rows)
            print(json.dumps({"job": current, "rows": rows}), flush=True)
    except Exception as error:
        print(json.dumps({"job": current, "error": reason(error)}), flush=True)
        if runs is not None:
            runs.failed(current, reason(error))
        raise
    spark.stop()


if __name__ == "__main__":
    main()
