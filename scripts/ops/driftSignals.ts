import * as fs from "fs";
import * as path from "path";
import { SIGNATURE_HEADER, signWebhook } from "../../model/webhook";
import type { DriftReport } from "./drift";
import { DRIFT_CLASSES } from "./driftClasses";
import { Refusal } from "./environment";
import { defaultStateHome } from "../../stacks/stateHome";

/** Where `--webhook` takes its signing secret from: never an argument, which would show in `ps` and shell history. */
export const WEBHOOK_SECRET_ENV = "CELLPLANE_DRIFT_WEBHOOK_SECRET";

/**
 * The drift check as Prometheus metrics in the text exposition format, for node_exporter's textfile collector or any
 * scraper of a file: drifted resources per stack (per class when classified), whether each stack could be checked,
 * and when, so an alert can fire on drift and on a check that stopped running.
 */
export function driftMetrics(report: DriftReport): string {
    const labels = (values: Record<string, string>) =>
        `{${Object.entries(values)
            .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
            .join(",")}}`;
    const family = (name: string, help: string, samples: [Record<string, string>, number][]) => [
        `# HELP ${name} ${help}`,
        `# TYPE ${name} gauge`,
        ...samples.map(([l, value]) => `${name}${labels(l)} ${value}`),
    ];
    const at = (stack: string) => ({ env: report.env, stack });
    const checkedAt = Date.parse(report.checkedAt) / 1000;
    return [
        ...family(
            "cellplane_drift_resources",
            "Resources drifted at the last check and not ignored, by class.",
            report.stacks.flatMap((s) =>
                DRIFT_CLASSES.map((c): [Record<string, string>, number] => [
                    { ...at(s.stack), class: c },
                    s.drifted.filter((r) => r.class === c).length,
                ]),
            ),
        ),
        ...family(
            "cellplane_drift_ignored_resources",
            "Drifted resources whose every change an unexpired ignore rule matched.",
            report.stacks.map((s) => [at(s.stack), s.ignored.length]),
        ),
        ...family(
            "cellplane_drift_live_policy_violations",
            "Mandatory violations of the policy pack over the refreshed live state.",
            report.stacks.map((s) => [at(s.stack), s.policyFindings.length]),
        ),
        ...family(
            "cellplane_drift_check_success",
            "1 if the stack could be refreshed, 0 if it was unreachable or failed.",
            report.stacks.map((s) => [at(s.stack), s.status === "clean" || s.status === "drifted" ? 1 : 0]),
        ),
        ...family(
            "cellplane_drift_last_check_timestamp_seconds",
            "When the stack was last checked, as Unix time.",
            report.stacks.map((s) => [at(s.stack), checkedAt]),
        ),
        ...family(
            "cellplane_drift_check_duration_seconds",
            "How long the refresh of the stack took.",
            report.stacks.map((s) => [at(s.stack), Number(s.seconds.toFixed(3))]),
        ),
        "",
    ].join("\n");
}

/** Written whole and renamed into place, so a reader (a collector, `status`) never reads half a file. */
function writeWhole(file: string, content: string): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, content);
    fs.renameSync(partial, file);
}

export function writeDriftMetrics(file: string, report: DriftReport): void {
    writeWhole(file, driftMetrics(report));
}

/** The last drift check of an environment on this machine, as `status` shows it. */
export interface DriftSummary {
    at: string;
    stacks: number;
    /** Drifted resources not ignored, over every stack. */
    drifted: number;
    /** Stacks that could not be checked. */
    failed: number;
}

const driftRecordOf = (env: string) => path.join(defaultStateHome(), "drift", `${env}.json`);

/** Every check leaves its summary on the machine that ran it, so `status` can say when drift was last checked. */
export function recordDriftCheck(report: DriftReport): void {
    const summary: DriftSummary = {
        at: report.checkedAt,
        stacks: report.stacks.length,
        drifted: report.stacks.reduce((sum, s) => sum + s.drifted.length, 0),
        failed: report.stacks.filter((s) => s.status !== "clean" && s.status !== "drifted").length,
    };
    writeWhole(driftRecordOf(report.env), JSON.stringify(summary));
}

export function lastDriftCheck(env: string): DriftSummary | undefined {
    const file = driftRecordOf(env);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as DriftSummary) : undefined;
}

/** The secret `--webhook` signs with, or a refusal that says how to provide it. */
export function webhookSecret(): string {
    const secret = process.env[WEBHOOK_SECRET_ENV];
    if (!secret || secret.length < 16)
        throw new Refusal(
            `--webhook needs a signing secret of at least 16 characters in ${WEBHOOK_SECRET_ENV} (from a Kubernetes secret or the CI's secrets), shared with the receiver`,
        );
    return secret;
}

/**
 * POSTs the report, signed (`model/webhook.ts`), and retries a failed delivery twice with backoff. A receiver that
 * answers 4xx refused it, and is not retried.
 */
export async function sendDriftWebhook(url: string, secret: string, report: DriftReport, backoffMs = 1000): Promise<number> {
    const body = JSON.stringify(report);
    // Only the origin is printed: hooks often carry their token in the path.
    const where = new URL(url).origin;
    let failure = "";
    for (let attempt = 1; attempt <= 3; attempt++) {
        try {
            const answer = await fetch(url, {
                method: "POST",
                headers: {
                    "content-type": "application/json",
                    [SIGNATURE_HEADER]: signWebhook(secret, body),
                    "user-agent": "cellplane-drift",
                },
                body,
                signal: AbortSignal.timeout(10_000),
            });
            if (answer.ok) return answer.status;
            failure = `answered ${answer.status}`;
            if (answer.status < 500) break;
        } catch (error) {
            failure = (error as Error).message;
        }
        if (attempt < 3) await new Promise((resolve) => setTimeout(resolve, backoffMs * attempt));
    }
    throw new Error(`the drift webhook at ${where} ${failure}: the report was not delivered`);
}
