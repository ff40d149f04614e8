/**
 * A local cell's lakehouse scheduler: every TICK_MS it claims the jobs whose schedule (`lakehouse.job_schedules`) is
 * due and runs them on this machine's Spark, as `cellplane jobs run` does, each attempt recorded in `job_runs`. A
 * cluster's Spark operator does this on cluster cells. Health and readiness on PORT, as the apps'.
 */
import * as http from "http";
import { Pool } from "pg";
import { migrate } from "../shared/migrations";
import { runService } from "../shared/service";
import { JobsBusy, runJobs } from "./runner";
import { claimDue, jobSchedules, releaseClaims } from "./schedules";
import { type LakehouseCell, localSpark, submitLocally } from "./sparkSubmit";

const TICK_MS = 15_000;
/** A scheduled run's tries and first wait, as `jobs run`'s defaults. */
const ATTEMPTS = 3;
const BACKOFF_MS = 30_000;

runService(async () => {
    const cell = JSON.parse(process.env.LAKEHOUSE_CELL ?? "") as LakehouseCell;
    const { ca, ...postgres } = cell.postgres;
    const pool = new Pool({ ...postgres, ssl: ca ? { ca } : false, max: 2 });
    const spark = localSpark(process.env.LAKEHOUSE_SCRIPT);
    const log = (line: string) => console.log(`[scheduler ${process.env.CELL_ID}] ${line}`);
    let running: Promise<void> | undefined;

    const tick = async () => {
        const due = await claimDue(pool, new Date());
        if (due.length === 0) return;
        log(`due: ${due.join(", ")}`);
        try {
            await runJobs(pool, due, {
                trigger: "schedule",
                attempts: ATTEMPTS,
                backoffMs: BACKOFF_MS,
                submit: (jobs) => submitLocally(spark, cell, jobs, log),
                log,
            });
        } catch (error) {
            if (!(error instanceof JobsBusy)) throw error;
            log(`${due.join(", ")}: another run holds the cell's jobs; due again at the next tick`);
            await releaseClaims(pool, due, new Date());
        }
    };
    const timer = setInterval(() => {
        running ??= tick()
            .catch((error: unknown) => log(`tick failed: ${(error as Error).message}`))
            .finally(() => (running = undefined));
    }, TICK_MS);

    const server = http.createServer((request, response) => {
        const known = request.url === "/healthz" || request.url === "/readyz";
        response.writeHead(known ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify({ cell: process.env.CELL_ID }));
    });
    // Listening means ready: the schema and the schedules its claims read are there first.
    await migrate(pool);
    await jobSchedules(pool);
    await new Promise<void>((resolve) => server.listen(Number(process.env.PORT), process.env.HOST, resolve));
    log(`claims due jobs every ${TICK_MS / 1000} s; health on http://${process.env.HOST}:${process.env.PORT}`);

    return async () => {
        clearInterval(timer);
        await running;
        server.close();
        await pool.end();
    };
});
