import * as fs from "fs";
import * as path from "path";
import { stringify as toYaml } from "yaml";
import { appUrlOf } from "./appServer";
import type { ServerTls } from "./certificates";
import { answersWith } from "./loopbackHttp";
import { runningPid, startService, writePrivateFile } from "./supervisor";
import { prometheusBin } from "./tools";

/** One thing a cell's Prometheus scrapes, named as the rule set names its jobs (`observability/rules.yml`). */
export interface ScrapeTarget {
    job: string;
    port: number;
    /** HTTPS, verified against the stack's CA, or plain HTTP where the exporter serves no TLS (loopback only). */
    https: boolean;
}

/** A cell's metrics server: Prometheus on loopback, scraping the cell's apps and servers and evaluating the rule set. */
export interface PrometheusServerSpec {
    label: string;
    dir: string;
    port: number;
    cell: string;
    targets: ScrapeTarget[];
    /** The rule set's YAML, as checked in. */
    rules: string;
    /** When given, Prometheus serves HTTPS with it and trusts its CA when it scrapes. */
    tls?: ServerTls;
}

/** Short, so an alert's `for` and the rule windows (a minute or more), not the scrape, decide how fast a cell alerts. */
export const SCRAPE_INTERVAL = "10s";

/** Prometheus's configuration: one job per target, each series labelled with the cell as the rules group by it. */
export function prometheusConfig(spec: PrometheusServerSpec): string {
    const ca = path.join(spec.dir, "ca.pem");
    return toYaml({
        global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL, scrape_timeout: "5s" },
        rule_files: [path.join(spec.dir, "rules.yml")],
        scrape_configs: spec.targets.map((target) => ({
            job_name: target.job,
            scheme: target.https ? "https" : "http",
            ...(target.https ? { tls_config: { ca_file: ca } } : {}),
            static_configs: [{ targets: [`127.0.0.1:${target.port}`], labels: { cell: spec.cell } }],
        })),
    });
}

export async function startPrometheus(spec: PrometheusServerSpec): Promise<number> {
    fs.mkdirSync(path.join(spec.dir, "data"), { recursive: true });
    writePrivateFile(path.join(spec.dir, "prometheus.yml"), prometheusConfig(spec));
    writePrivateFile(path.join(spec.dir, "rules.yml"), spec.rules);
    const web = path.join(spec.dir, "web.yml");
    if (spec.tls) {
        writePrivateFile(path.join(spec.dir, "ca.pem"), spec.tls.ca);
        writePrivateFile(path.join(spec.dir, "server.crt"), spec.tls.cert);
        writePrivateFile(path.join(spec.dir, "server.key"), spec.tls.key);
    }
    const tlsServer = { cert_file: path.join(spec.dir, "server.crt"), key_file: path.join(spec.dir, "server.key"), min_version: "TLS12" };
    writePrivateFile(web, toYaml(spec.tls ? { tls_server_config: tlsServer } : {}));
    return startService({
        label: spec.label,
        command: prometheusBin(),
        args: [
            `--config.file=${path.join(spec.dir, "prometheus.yml")}`,
            `--web.config.file=${web}`,
            `--web.listen-address=127.0.0.1:${spec.port}`,
            `--storage.tsdb.path=${path.join(spec.dir, "data")}`,
            "--storage.tsdb.retention.time=15d",
        ],
        dir: spec.dir,
        port: spec.port,
    });
}

/** Running means the process lives and Prometheus says it is ready. */
export async function prometheusRunning(spec: PrometheusServerSpec): Promise<boolean> {
    return (
        runningPid(spec.dir) !== undefined &&
        answersWith(`${appUrlOf({ port: spec.port, https: Boolean(spec.tls) })}/-/ready`, 200, { ca: spec.tls?.ca, timeoutMs: 2_000 })
    );
}
