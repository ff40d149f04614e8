import { Counter, Registry } from "prom-client";

/** What the export app's `GET /metrics` exposes, beside its answers by status class. */
export function exportMetrics() {
    const registry = new Registry();
    return {
        registry,
        jobsFinished: new Counter({
            name: "export_jobs_finished_total",
            help: "Export jobs run to their end, by outcome (succeeded or failed)",
            labelNames: ["outcome"],
            registers: [registry],
        }),
        monthsArchived: new Counter({
            name: "export_archived_months_total",
            help: "Months of a tenant's events archived to the cell's bucket, counted, and then dropped from ClickHouse",
            registers: [registry],
        }),
        archiveFailures: new Counter({
            name: "export_archive_failures_total",
            help: "Archive runs that failed; the months they did not archive stay in ClickHouse until a run succeeds",
            registers: [registry],
        }),
        jobsRetried: new Counter({
            name: "export_job_retries_total",
            help: "Runs that failed and were queued to be tried again after a wait",
            registers: [registry],
        }),
    };
}

export type ExportMetrics = ReturnType<typeof exportMetrics>;
