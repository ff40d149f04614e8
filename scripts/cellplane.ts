/**
 * `cellplane`: the operators' command line. Cells and tenants are edited in `Pulumi.<stack>.yaml` and checked
 * with the program's own schema; drift and reconcile drive the engine through the Automation API.
 *   scripts/cellplane --help
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CLOUDS, RESIDENCIES } from "../model/residency";
import { SIZES } from "../model/sizing";
import { ConfigError, ENVIRONMENTS } from "../model/config";
import { MAX_BATCH_EVENTS } from "../apps/shared/events";
import { addCell, cellRows, removeCell } from "./ops/cells";
import { listDeadLetters, replayDeadLetters } from "./ops/deadLetters";
import { jobStatus, listJobs, runCellJobs, scheduleJob } from "./ops/jobs";
import { JOB_NAMES, type LakehouseJob } from "../apps/lakehouse/jobs";
import { checkDrift, DRIFT_EXIT, DriftReport, exitCodeOf, reconcileRuntimeDrift } from "./ops/drift";
import { ClassifiedChange, DRIFT_CLASSES, GONE } from "./ops/driftClasses";
import { IgnoreRule, loadIgnoreRules } from "./ops/driftIgnore";
import { recordDriftCheck, sendDriftWebhook, WEBHOOK_SECRET_ENV, webhookSecret, writeDriftMetrics } from "./ops/driftSignals";
import { SIGNATURE_HEADER } from "../model/webhook";
import { Refusal, stacksOf, stackToEdit } from "./ops/environment";
import { createTenantKey, revokeTenantKey } from "./ops/keys";
import { CellHealth, environmentHealth } from "./ops/health";
import { deployedCells, environmentStatus, lastingFor, metricsServers, statusText } from "./ops/status";
import { listen, statusPageServer } from "./ops/statusPage";
import { planStack, refusalOf } from "./ops/plan";
import { reconcile } from "./ops/reconcile";
import { attest, Attestation, verifyAttestation } from "./ops/attest";
import type { Signed } from "../model/attestation";
import { drainCell, executeMove, moveJournalFile } from "./ops/moves";
import { journalFile, planRollout, rollout, RolloutJournal, RolloutOptions, RolloutPlan } from "./ops/rollout";
import { ConcurrentEdit, StackFile } from "./ops/stackFile";
import { sendSample } from "./ops/sample";
import { addTenant, moveTenant, removeTenant } from "./ops/tenants";
import { auditOverride, OverrideAction, overrideTenant } from "./ops/overrides";
import { openStack, Unreachable } from "./ops/workspace";

const program = new Command("cellplane")
    .description("Provision cells, place tenants and check drift of Cellplane environments")
    .option("-C, --project <dir>", "the Pulumi project folder", path.join(__dirname, ".."))
    .showHelpAfterError()
    // `attest --env` and `attest verify --env`: a subcommand's options are its own.
    .enablePositionalOptions()
    .exitOverride();

const envOption = () => new Option("--env <env>", "environment").choices(ENVIRONMENTS).makeOptionMandatory();
const stackOption = () => new Option("--stack <stack>", "the stack to edit when the environment has several");
const project = () => path.resolve(program.opts().project as string);
const positiveInt = (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive whole number.`);
    return n;
};
const wholeNumber = (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
    return n;
};
const moveBakeMs = (o: { env: string; bake?: number }) => (o.bake ?? (o.env === "local" ? 10 : 3600)) * 1000;
const progressUnless = (json?: boolean) => (json ? () => {} : (line: string) => console.error(line));
const batchSize = (value: string) => {
    const n = positiveInt(value);
    if (n > MAX_BATCH_EVENTS) throw new InvalidArgumentError(`${n} is over ${MAX_BATCH_EVENTS}, the most events one request may carry.`);
    return n;
};

/**
 * Writes an edit the operations already validated, unless `--dry-run`; prints the diff and what it did unless
 * the command's output is JSON.
 */
function commit(file: StackFile, { dryRun, json }: { dryRun?: boolean; json?: boolean }): void {
    const diff = file.diff();
    const say = json ? () => {} : console.log;
    say(diff || "no change");
    if (dryRun) say(`dry run: ${file.file} left as it was`);
    else if (diff) {
        file.save();
        say(`wrote ${file.file}`);
    }
}

async function previewOf(env: string, stack: string): Promise<void> {
    console.error(`pulumi preview of stack ${stack}…`);
    const result = await (
        await openStack(project(), env, stack, { create: env === "local" })
    ).preview({ onOutput: (out) => process.stdout.write(out) });
    console.log(`preview of ${stack}: ${JSON.stringify(result.changeSummary)}`);
}

const cell = program.command("cell").description("add, remove or list the cells of an environment");

cell.command("add")
    .description("add a cell to the environment's stack file")
    .addOption(envOption())
    .addOption(stackOption())
    .requiredOption("--id <id>", "cell id, e.g. prod-eu-aws-2")
    .addOption(new Option("--cloud <cloud>").choices(CLOUDS).makeOptionMandatory())
    .requiredOption("--region <region>", "a region inside the residency (eu-local/us-local for local cells)")
    .addOption(new Option("--residency <residency>").choices(RESIDENCIES).makeOptionMandatory())
    .addOption(new Option("--size <size>").choices(SIZES).default("small"))
    .option("--port-base <port>", "local cells: first of their ten ports (default: after the last local cell)", positiveInt)
    .option("--kube-context <context>", "kubernetes cells: the kubeconfig context of the cluster")
    .option("--preview", "run pulumi preview of the stack after the change")
    .option("--dry-run", "print the change without writing it")
    .action(async (o) => {
        const file = StackFile.load(project(), stackToEdit(project(), o.env, o.stack));
        const { pinned } = addCell(file, {
            id: o.id,
            cloud: o.cloud,
            region: o.region,
            residency: o.residency,
            size: o.size,
            portBase: o.portBase,
            kubeContext: o.kubeContext,
        });
        if (pinned.length > 0) console.log(`pinned ${pinned.join(", ")} to their cells so the new cell does not move them`);
        commit(file, o);
        if (o.preview) await previewOf(o.env, file.stack);
    });

cell.command("remove")
    .description("remove a cell that holds no tenant")
    .addOption(envOption())
    .addOption(stackOption())
    .requiredOption("--id <id>", "cell id")
    .option("--preview", "run pulumi preview of the stack after the change")
    .option("--dry-run", "print the change without writing it")
    .action(async (o) => {
        const file = StackFile.load(project(), stackToEdit(project(), o.env, o.stack));
        removeCell(file, o.id);
        commit(file, o);
        if (o.preview) await previewOf(o.env, file.stack);
    });

cell.command("list")
    .description("the cells of every stack of the environment, with their tenants")
    .addOption(envOption())
    .option("--json", "machine-readable output")
    .action((o) => {
        const rows = stacksOf(project(), o.env).flatMap((stack) =>
            cellRows(StackFile.load(project(), stack).validate()).map((row) => ({ stack, ...row })),
        );
        if (o.json) return console.log(JSON.stringify(rows, null, 2));
        printTable(
            ["stack", "cell", "cloud", "region", "residency", "size", "tenants"],
            rows.map((r) => [
                r.stack,
                r.id,
                r.cloud,
                r.region,
                r.residency,
                r.size,
                `${r.tenants.length}/${r.capacity} ${r.tenants.join(" ")}`.trim(),
            ]),
        );
    });

cell.command("drain")
    .description("move every tenant off a cell, one at a time, each online to the least-loaded other cell of its residency")
    .addOption(envOption())
    .requiredOption("--id <id>", "cell id")
    .option("--bake <seconds>", "how long each old copy stays after its switch (default: 10 for local, 3600 otherwise)", wholeNumber)
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const drained = await drainCell(project(), o.env, o.id, { bakeMs: moveBakeMs(o), say: progressUnless(o.json) });
        if (o.json) return console.log(JSON.stringify(drained, null, 2));
        console.log(
            `cell ${drained.cell} holds no tenant (${drained.moved.map((m) => `${m.tenant} → ${m.to}`).join(", ") || "it held none"}); remove it with: cellplane cell remove --env ${o.env} --id ${drained.cell}`,
        );
    });

const tenant = program.command("tenant").description("place, move, quarantine, pin or list tenants");

tenant
    .command("add")
    .description("place a new tenant on the least-loaded cell of its residency that has capacity")
    .addOption(envOption())
    .addOption(stackOption())
    .requiredOption("--id <id>", "tenant id (the org_id of its events)")
    .addOption(new Option("--residency <residency>").choices(RESIDENCIES).makeOptionMandatory())
    .option("--events-per-second <n>", "quota (default 10000)", positiveInt)
    .option("--api-requests-per-minute <n>", "quota (default 6000)", positiveInt)
    .option("--max-storage-gb <n>", "quota (default 500)", positiveInt)
    .option("--dry-run", "print the change without writing it")
    .option("--json", "print the placement as JSON")
    .action((o) => {
        const file = StackFile.load(project(), stackToEdit(project(), o.env, o.stack));
        const quotas = Object.fromEntries(
            Object.entries({
                eventsPerSecond: o.eventsPerSecond,
                apiRequestsPerMinute: o.apiRequestsPerMinute,
                maxStorageGb: o.maxStorageGb,
            }).filter(([, v]) => v !== undefined),
        );
        const placement = addTenant(file, { id: o.id, residency: o.residency, quotas });
        if (o.json) console.log(JSON.stringify(placement));
        else
            console.log(
                `tenant ${placement.tenant} (${o.residency}) goes to cell ${placement.cell}: ${placement.load}/${placement.capacity} tenants`,
            );
        commit(file, o);
    });

tenant
    .command("move")
    .description(
        "move a tenant to another cell of its residency: without --execute, pins it and prints what to copy; with --execute, moves it online (fence, drain, clone, verify, flip, bake, forget), resumable",
    )
    .addOption(envOption())
    .addOption(stackOption())
    .requiredOption("--id <id>", "tenant id")
    .requiredOption("--to <cell>", "the new cell, of the tenant's residency")
    .option("--execute", "move the data and switch the routing while the tenant keeps sending; run it again to resume")
    .option(
        "--bake <seconds>",
        "--execute: how long the old copy stays after the switch (default: 10 for local, 3600 otherwise)",
        wholeNumber,
    )
    .option("--dry-run", "print the plan without writing it")
    .option("--json", "print the plan as JSON")
    .action(async (o) => {
        if (o.execute) {
            const journal = await executeMove(project(), o.env, o.id, o.to, { bakeMs: moveBakeMs(o), say: progressUnless(o.json) });
            if (o.json) return console.log(JSON.stringify(journal, null, 2));
            return console.log(
                `moved tenant ${journal.tenant}: ${journal.from} → ${journal.to} (journal: ${moveJournalFile(o.env, o.id)})`,
            );
        }
        const file = StackFile.load(project(), stackToEdit(project(), o.env, o.stack));
        const plan = moveTenant(file, o.id, o.to);
        if (o.json) console.log(JSON.stringify(plan, null, 2));
        else {
            console.log(
                `move tenant ${plan.tenant} (${plan.residency}): ${plan.from} → ${plan.cell} (${plan.load}/${plan.capacity} tenants after the move)`,
            );
            console.log("data to copy before routing switches:");
            for (const { store, what } of plan.data) console.log(`  ${store.padEnd(11)} ${what}`);
            if (plan.pinned.length > 0) console.log(`pinned ${plan.pinned.join(", ")} to their cells so the move does not shift them`);
        }
        commit(file, o);
        if (!o.dryRun && !o.json)
            console.log(
                `then: cellplane tenant move --env ${o.env} --id ${o.id} --to ${o.to} --execute moves the data and switches the routing`,
            );
    });

tenant
    .command("remove")
    .description(
        "remove a tenant: revokes its keys; refuses while it has data in its cell, unless --purge, which prints the plan and deletes it",
    )
    .addOption(envOption())
    .requiredOption("--id <id>", "tenant id")
    .option("--purge", "delete the tenant's events, exports and schedules in its cell first")
    .option("--dry-run", "print what would happen without doing it")
    .action(async (o) => {
        const stack = stacksOf(project(), o.env).find((s) => StackFile.load(project(), s).indexOf("tenants", o.id) >= 0);
        if (!stack) throw new Refusal(`--id ${o.id}: no stack of environment ${o.env} has tenant "${o.id}"`);
        const file = StackFile.load(project(), stack);
        await removeTenant(project(), o.env, o.id, o, console.log);
        file.remove("tenants", file.indexOf("tenants", o.id));
        file.validate();
        commit(file, o);
        if (!o.dryRun) console.log(`then: cellplane reconcile --env ${o.env} takes ${o.id} out of the routing table`);
    });

/** quarantine, pin and release: an override of one tenant's routing, written to its stack file and the audit log. */
function overrideCommand(name: OverrideAction["action"], description: string, change: (o: { cell?: string }) => OverrideAction) {
    const command = tenant
        .command(name)
        .description(description)
        .addOption(envOption())
        .requiredOption("--id <id>", "tenant id")
        .requiredOption("--reason <text>", "why, for the audit log and the tenant's answers")
        .option("--by <who>", "who decides it", os.userInfo().username)
        .option("--dry-run", "print the change without writing it");
    if (name === "pin") command.requiredOption("--cell <cell>", "the cell of the tenant's residency to send it to");
    command.action((o) => {
        const stack = stacksOf(project(), o.env).find((s) => StackFile.load(project(), s).indexOf("tenants", o.id) >= 0);
        if (!stack) throw new Refusal(`--id ${o.id}: no stack of environment ${o.env} has tenant "${o.id}"`);
        const file = StackFile.load(project(), stack);
        const record = overrideTenant(file, o.id, change(o), o.reason, o.by);
        commit(file, o);
        if (o.dryRun) return;
        console.log(`audit: ${auditOverride(project(), o.env, record)}`);
        console.log(`then: cellplane reconcile --env ${o.env} gives the routers the new table; they apply it without a restart`);
    });
}

overrideCommand("quarantine", "refuse every request of a tenant at its router (423 with the reason) until released", () => ({
    action: "quarantine",
}));
overrideCommand("pin", "send a tenant's requests to another cell of its residency, whatever its placement", (o) => ({
    action: "pin",
    cell: o.cell!,
}));
overrideCommand("release", "remove a tenant's quarantine or pin", () => ({ action: "release" }));

tenant
    .command("list")
    .description("every tenant of the environment, with its cell")
    .addOption(envOption())
    .option("--json", "machine-readable output")
    .action((o) => {
        const rows = stacksOf(project(), o.env).flatMap((stack) => {
            const config = StackFile.load(project(), stack).validate();
            return config.tenants.map((t) => ({ stack, id: t.id, residency: t.residency, cell: t.cell, quotas: t.quotas }));
        });
        if (o.json) return console.log(JSON.stringify(rows, null, 2));
        printTable(
            ["stack", "tenant", "residency", "cell", "events/s", "requests/min", "storage GB"],
            rows.map((r) => [
                r.stack,
                r.id,
                r.residency,
                r.cell,
                String(r.quotas.eventsPerSecond),
                String(r.quotas.apiRequestsPerMinute),
                String(r.quotas.maxStorageGb),
            ]),
        );
    });

const key = program.command("key").description("create or revoke a tenant's API keys, in its own cell");

key.command("create")
    .description("create an API key for a tenant; it is printed once and only its hash is stored")
    .addOption(envOption())
    .requiredOption("--tenant <id>", "tenant id")
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const created = await createTenantKey(project(), o.env, o.tenant);
        if (o.json) return console.log(JSON.stringify(created));
        console.log(
            `API key ${created.id} of tenant ${created.tenant}, stored hashed in cell ${created.cell} (stack ${created.stack}). It is shown only now:`,
        );
        console.log(`  ${created.key}`);
        console.log(`send requests to its residency's router: curl -H 'authorization: Bearer <key>' ${created.routerUrl}/v1/events …`);
    });

key.command("revoke")
    .description("revoke one of a tenant's API keys")
    .addOption(envOption())
    .requiredOption("--tenant <id>", "tenant id")
    .requiredOption("--id <id>", "the key's id, as create printed it")
    .action(async (o) => {
        const revoked = await revokeTenantKey(project(), o.env, o.tenant, o.id);
        console.log(`revoked key ${revoked.id} of tenant ${revoked.tenant} on cell ${revoked.cell}`);
    });

program
    .command("send-sample")
    .description(
        "send sample events of a tenant through its residency's router with a new API key of the tenant, and wait until /v1/metrics counts them",
    )
    .addOption(envOption())
    .requiredOption("--tenant <id>", "tenant id")
    .option("--count <n>", `how many events (at most ${MAX_BATCH_EVENTS})`, batchSize, 100)
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const sent = await sendSample(project(), o.env, o.tenant, o.count, (line) => console.error(line));
        if (o.json) return console.log(JSON.stringify(sent));
        console.log(
            `${sent.counted} of ${sent.sent} events of ${sent.tenant} counted by /v1/metrics on cell ${sent.cell} in ${sent.seconds.toFixed(1)} s`,
        );
        console.log(`API key ${sent.keyId} of ${sent.tenant}, made for this run and shown only now:\n  ${sent.key}`);
        console.log(`see them: curl -H 'authorization: Bearer ${sent.key}' '${sent.metricsUrl}'`);
        console.log(`revoke the key: cellplane key revoke --env ${o.env} --tenant ${sent.tenant} --id ${sent.keyId}`);
        if (sent.counted < sent.sent) process.exitCode = 1;
    });

const dlq = program
    .command("dlq")
    .description("events a cell could not store, set aside on its dead-letter topic (it never leaves the cell)");

dlq.command("list")
    .description("list the cell's events set aside and not replayed yet, with why")
    .addOption(envOption())
    .requiredOption("--cell <id>", "cell id")
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const letters = await listDeadLetters(project(), o.env, o.cell);
        if (o.json) return console.log(JSON.stringify(letters, null, 2));
        printTable(
            ["offset", "at", "tenant", "event", "reason", "origin"],
            letters.map((l) => [l.offset, l.at, l.tenant, l.eventId, l.reason, l.origin]),
        );
        for (const l of letters) console.log(`\n${l.offset}: ${l.detail}`);
        console.log(
            `\n${letters.length} event${letters.length === 1 ? "" : "s"} set aside on cell ${o.cell}${letters.length ? `; after a fix: cellplane dlq replay --env ${o.env} --cell ${o.cell}` : ""}`,
        );
    });

dlq.command("replay")
    .description("send the cell's set-aside events back through its consumer (after a fix); each is stored once")
    .addOption(envOption())
    .requiredOption("--cell <id>", "cell id")
    .action(async (o) => {
        const { replayed } = await replayDeadLetters(project(), o.env, o.cell);
        console.log(
            `replayed ${replayed} event${replayed === 1 ? "" : "s"} of cell ${o.cell} to its events topic; those that fail again are set aside again`,
        );
    });

const jobArg = (value: string): LakehouseJob => {
    const job = JOB_NAMES.find((name) => name === value);
    if (!job) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a lakehouse job: use one of ${JOB_NAMES.join(", ")}`);
    return job;
};

const jobs = program
    .command("jobs")
    .description("the cell's lakehouse jobs (bronze, silver, gold and cdc over its Iceberg tables): list, run now, or show runs");

jobs.command("list")
    .description("each job: its schedule, its next run and how its last run went")
    .addOption(envOption())
    .requiredOption("--cell <id>", "cell id")
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const views = await listJobs(project(), o.env, o.cell);
        if (o.json) return console.log(JSON.stringify(views, null, 2));
        printTable(
            ["job", "schedule (UTC)", "next", "last run", "state", "rows", "summary"],
            views.map((v) => [
                v.job,
                v.schedule,
                v.next,
                v.last?.startedAt.toISOString() ?? "never",
                v.last?.state ?? "",
                String(v.last?.rows ?? ""),
                v.summary,
            ]),
        );
    });

jobs.command("run")
    .description("run jobs of a local cell now, in order (all of them unless --job), retrying a failure with backoff")
    .addOption(envOption())
    .requiredOption("--cell <id>", "cell id")
    .option("--job <name...>", `jobs to run, of ${JOB_NAMES.join(", ")}`, (value, previous: LakehouseJob[] = []) => [
        ...previous,
        jobArg(value),
    ])
    .option("--attempts <n>", "tries per job", positiveInt, 3)
    .option("--backoff <seconds>", "wait before the second try; it doubles after", positiveInt, 30)
    .action(async (o) => {
        const results = await runCellJobs(project(), o.env, o.cell, o.job ?? [], {
            attempts: o.attempts,
            backoffMs: o.backoff * 1000,
            log: (line) => console.log(`[jobs ${o.cell}] ${line}`),
        });
        printTable(
            ["job", "attempts", "outcome"],
            results.map((r) => [r.job, String(r.attempts), "rows" in r ? `${r.rows} rows` : `failed: ${r.error}`]),
        );
        if (results.some((r) => "error" in r)) process.exitCode = 1;
    });

jobs.command("schedule")
    .description("change a local cell's schedule of a job (its scheduler runs it when due): a cron in UTC, or pause or resume it")
    .addOption(envOption())
    .requiredOption("--cell <id>", "cell id")
    .requiredOption("--job <name>", `one of ${JOB_NAMES.join(", ")}`, jobArg)
    .option("--cron <expression>", 'when it runs, five fields in UTC, e.g. "*/15 * * * *"')
    .option("--pause", "stop running it on its schedule")
    .option("--resume", "run it on its schedule again")
    .action(async (o) => {
        if (o.pause && o.resume) throw new Refusal("--pause and --resume: give one of them");
        if (!o.cron && !o.pause && !o.resume) throw new Refusal("jobs schedule: give --cron, --pause or --resume");
        const schedule = await scheduleJob(project(), o.env, o.cell, o.job, {
            cron: o.cron,
            paused: o.pause ? true : o.resume ? false : undefined,
        });
        console.log(
            `${schedule.job} on ${o.cell}: ${schedule.cron} (UTC), ${schedule.paused ? "paused" : `next run ${schedule.nextRunAt?.toISOString()}`}`,
        );
    });

jobs.command("status")
    .description("a job's recent runs: attempts, state, rows written, errors and when a failed run is tried again")
    .addOption(envOption())
    .requiredOption("--cell <id>", "cell id")
    .requiredOption("--job <name>", `one of ${JOB_NAMES.join(", ")}`, jobArg)
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const runs = await jobStatus(project(), o.env, o.cell, o.job);
        if (o.json) return console.log(JSON.stringify(runs, null, 2));
        printTable(
            ["run", "attempt", "trigger", "spark application", "state", "started", "finished", "rows", "retry at", "error"],
            runs.map((r) => [
                String(r.id),
                String(r.attempt),
                r.trigger,
                r.application ?? "",
                r.state,
                r.startedAt.toISOString(),
                r.finishedAt?.toISOString() ?? "",
                String(r.rows ?? ""),
                r.retryAt?.toISOString() ?? "",
                r.error ?? "",
            ]),
        );
    });

program
    .command("drift")
    .description(
        `refresh every stack of the environment in preview mode, report what changed outside Pulumi and re-run the policy pack over the live state (exit ${DRIFT_EXIT.clean} clean, ${DRIFT_EXIT.drifted} drift, ${DRIFT_EXIT.error} a stack could not be checked, ${DRIFT_EXIT.residency} residency drift with --classify)`,
    )
    .addOption(envOption())
    .option("--json", "machine-readable output")
    .option(
        "--classify",
        `print each drift's class (residency alerts, runtime is safe to reconcile, cosmetic is reported) and exit ${DRIFT_EXIT.residency} on residency drift`,
    )
    .option(
        "--ignore <file>",
        "a JSON array of ignore rules (urn, type or property globs, each with reason, owner and expires); residency drift is never ignored",
    )
    .option(
        "--reconcile-runtime",
        "put right what drifted in the runtime class (targeted refresh and up); residency drift is left for a person",
    )
    .option("--metrics <file>", "also write the result as Prometheus metrics (text format, for a textfile collector)")
    .option("--webhook <url>", `also POST the result, signed with HMAC-SHA256 from $${WEBHOOK_SECRET_ENV} (header ${SIGNATURE_HEADER})`)
    .action(async (o) => {
        const say = progressUnless(o.json);
        let rules: IgnoreRule[];
        try {
            rules = o.ignore ? loadIgnoreRules(o.ignore) : [];
        } catch (error) {
            console.error(`drift not checked: ${(error as Error).message}`);
            process.exitCode = DRIFT_EXIT.error;
            return;
        }
        const secret = o.webhook ? webhookSecret() : undefined;
        const report = await checkDrift(project(), o.env, stacksOf(project(), o.env), rules, say);
        if (o.reconcileRuntime) await reconcileRuntimeDrift(project(), report, say);
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else printDrift(report, o.classify);
        process.exitCode = exitCodeOf(report, { classify: !!o.classify });
        if (o.metrics) {
            writeDriftMetrics(o.metrics, report);
            say(`metrics in ${o.metrics}`);
        }
        if (o.webhook) {
            const status = await sendDriftWebhook(o.webhook, secret!, report);
            say(`delivered to the webhook at ${new URL(o.webhook).origin} (${status})`);
        }
        try {
            recordDriftCheck(report);
        } catch (error) {
            console.error(`warning: the check is not recorded for cellplane status: ${(error as Error).message}`);
        }
    });

program
    .command("health")
    .description(
        "each cell's health from outside: its APIs ready, its canary tenant driven end to end, its 5xx rate, its partitions caught up or moving (exit 1 if a cell is red)",
    )
    .addOption(envOption())
    .option("--cell <id>", "one cell only")
    .option("--sample <seconds>", "how long a partition behind may go without progress before it counts as stuck", positiveInt, 10)
    .option(
        "--every <seconds>",
        "probe again after this many seconds, until stopped (the canary's probe a minute: --every 60)",
        positiveInt,
    )
    .option("--json", "machine-readable output")
    .action(async (o) => {
        for (;;) {
            console.error(`checking the cells of ${o.env} over ${o.sample} s…`);
            const cells = await environmentHealth(project(), o.env, o.sample * 1000, o.cell);
            printHealth(o.env, cells, o.json);
            process.exitCode = cells.some((health) => health.verdict === "red") ? 1 : 0;
            if (o.every === undefined) return;
            await new Promise((resolve) => setTimeout(resolve, o.every * 1000));
        }
    });

function printHealth(env: string, cells: CellHealth[], json?: boolean): void {
    if (json) return console.log(JSON.stringify({ env, at: new Date().toISOString(), cells }, null, 2));
    for (const health of cells) {
        console.log(`${health.verdict.toUpperCase().padEnd(5)} ${health.cell} (${health.residency})`);
        for (const check of health.checks) console.log(`      ${check.verdict.padEnd(5)} ${check.name.padEnd(10)} ${check.detail}`);
    }
}

program
    .command("status")
    .description(
        "each cell as its own metrics server sees it: verdict, scrape targets, firing alerts, lag, freshness, dead letters, routers and tenants, and the last drift check (exit 1 if a cell is red)",
    )
    .addOption(envOption())
    .option("--json", "machine-readable output")
    .option(
        "--serve [port]",
        "serve it as a web page with charts of the last hour, refreshing itself (default 8080; 0 takes any free port)",
        wholeNumber,
    )
    .action(async (o) => {
        if (o.serve === undefined) {
            const status = await environmentStatus(o.env, await deployedCells(project(), o.env));
            console.log(o.json ? JSON.stringify(status, null, 2) : statusText(status));
            process.exitCode = status.cells.some((c) => c.verdict === "red") ? 1 : 0;
            return;
        }
        // The page asks for the status and the charts at once: both come from one read of the stacks' outputs.
        const cells = lastingFor(10_000, () => deployedCells(project(), o.env));
        const server = statusPageServer({
            status: async () => environmentStatus(o.env, await cells()),
            metricsServers: async () => metricsServers(await cells()),
        });
        const url = await listen(server, o.serve === true ? 8080 : o.serve);
        console.error(`the status of ${o.env} at ${url} (Ctrl-C stops it)`);
    });

program
    .command("plan")
    .description("preview every stack of the environment; refuse (exit 1) any replacement or deletion of a resource that holds data")
    .addOption(envOption())
    .option("--allow-replace <urn...>", "a resource whose replacement or deletion is intended (its data goes)", [])
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const allowed = new Set<string>(o.allowReplace);
        const plans = [];
        for (const stack of stacksOf(project(), o.env)) {
            console.error(`previewing stack ${stack}…`);
            plans.push(await planStack(project(), o.env, stack, allowed));
        }
        const refused = plans.flatMap((plan) => plan.stateful.filter((change) => !change.allowed));
        if (o.json) console.log(JSON.stringify({ env: o.env, stacks: plans, refused: refused.length }, null, 2));
        else {
            for (const plan of plans) {
                console.log(`stack ${plan.stack}: ${JSON.stringify(plan.changes)} in ${plan.seconds.toFixed(1)} s`);
                for (const change of plan.stateful)
                    console.log(
                        change.allowed
                            ? `  allowed: ${change.name} (${change.type}) is ${change.op === "replace" ? "replaced" : "deleted"}`
                            : `  refused: ${refusalOf(change)}`,
                    );
            }
            console.log(
                refused.length === 0 ? "no data would be lost" : `${refused.length} change(s) would lose data; nothing was applied`,
            );
        }
        if (refused.length > 0) process.exitCode = 1;
    });

program
    .command("rollout")
    .description(
        "apply the program cell by cell: the canary cell, one cell of each residency and cloud, the rest in batches, the routers last; after each step its cells' health must hold green for the bake time, or the rollout halts (exit 1)",
    )
    .addOption(envOption())
    .option("--canary <cell>", "the first cell to update (default: the smallest changed cell)")
    .option("--batch <n>", "cells updated together once each residency and cloud has one done", positiveInt, 2)
    .option("--bake <seconds>", "how long each step's health must hold green (default: 20 for local, 600 otherwise)", wholeNumber)
    .option("--sample <seconds>", "the health probe's window for a partition's progress", positiveInt, 5)
    .option("--allow-replace <urn...>", "a resource whose replacement or deletion is intended (its data goes)", [])
    .option("--plan", "print the waves without applying them")
    .option("--resume", "go on with the rollout that halted, from the step that halted")
    .option("--json", "machine-readable output")
    .action(async (o) => {
        const options: RolloutOptions = {
            canary: o.canary,
            batch: o.batch,
            bakeMs: (o.bake ?? (o.env === "local" ? 20 : 600)) * 1000,
            sampleMs: o.sample * 1000,
            allowReplace: new Set<string>(o.allowReplace),
            resume: Boolean(o.resume),
            say: progressUnless(o.json),
        };
        const results = [];
        for (const stack of stacksOf(project(), o.env)) {
            const config = StackFile.load(project(), stack).validate();
            if (o.canary !== undefined && !config.cells.some((c) => c.id === o.canary))
                throw new Refusal(`--canary ${o.canary}: no cell of stack ${stack} has that id`);
            console.error(`previewing stack ${stack}…`);
            if (o.plan) {
                const { plan } = await planRollout(project(), o.env, config, stack, options);
                results.push(plan);
                if (!o.json) printRolloutPlan(plan);
                continue;
            }
            const journal = await rollout(project(), o.env, config, stack, options);
            results.push(journal);
            if (!o.json) console.log(rolloutSummary(journal, journalFile(o.env, stack)));
            if (journal.halted) {
                process.exitCode = 1;
                break;
            }
        }
        if (o.json) console.log(JSON.stringify({ env: o.env, stacks: results }, null, 2));
    });

function printRolloutPlan(plan: RolloutPlan): void {
    console.log(`stack ${plan.stack}:`);
    plan.waves.forEach((wave, index) =>
        console.log(`  wave ${index + 1}, ${wave.name}: ${wave.steps.map((step) => step.join(" + ")).join(", then ")}`),
    );
    if (plan.waves.length === 0) console.log("  nothing to roll out: the preview finds no change");
    if (plan.unchanged.length > 0) console.log(`  unchanged: ${plan.unchanged.join(", ")}`);
    for (const change of plan.refused) console.log(`  refused: ${refusalOf(change)}`);
}

function rolloutSummary(journal: RolloutJournal, file: string): string {
    const done = `${journal.done.length} step(s) done`;
    if (journal.halted)
        return `rollout of ${journal.stack} HALTED at ${journal.halted.step.join(" + ")}: gate ${journal.halted.gate} failed: ${journal.halted.detail}\n${done}; the cells after it keep their version. Fix it, then: cellplane rollout --env <env> --resume (journal: ${file})`;
    return `rollout of ${journal.stack} complete: ${done} (journal: ${file})`;
}

const attestation = program
    .command("attest")
    .enablePositionalOptions()
    .description(
        "a signed residency attestation of a tenant: its stores, where they are, what they hold, and a search of the other residencies for it (exit 1 if red)",
    )
    // Not mandatory here, or `attest verify` would need them too: the action checks them.
    .addOption(new Option("--env <env>", "environment").choices(ENVIRONMENTS))
    .option("--tenant <id>", "tenant id")
    .option("--out <file>", "write the signed report there (default: print it)")
    .action(async (o) => {
        if (!o.env || !o.tenant) throw new Refusal("attest needs --env <env> and --tenant <id>");
        const signed = await attest(project(), o.env, o.tenant, (line) => console.error(line));
        const text = `${JSON.stringify(signed, null, 2)}\n`;
        if (o.out) fs.writeFileSync(o.out, text);
        else process.stdout.write(text);
        const { verdict, reasons, stores, elsewhere } = signed.body;
        console.error(
            `${verdict.toUpperCase()}: tenant ${o.tenant}, ${stores.length} stores in ${[...new Set(stores.map((s) => s.region.value))].join(", ")}, ${elsewhere.reduce((n, e) => n + e.hits, 0)} hits in ${new Set(elsewhere.map((e) => e.cell)).size} cell(s) of other residencies${o.out ? `; signed report in ${o.out}` : ""}`,
        );
        for (const reason of reasons) console.error(`  ${reason}`);
        if (verdict === "red") process.exitCode = 1;
    });

attestation
    .command("verify")
    .description("check an attestation's signature against the environment's key of its residency, and its age")
    .addOption(envOption())
    .requiredOption("--file <file>", "the signed report")
    .option("--max-age <hours>", "how old a report may be", positiveInt, 24)
    .action(async (o) => {
        if (!fs.existsSync(o.file)) throw new Refusal(`--file ${o.file}: no such file`);
        const signed = JSON.parse(fs.readFileSync(o.file, "utf8")) as Signed<Attestation>;
        const problems = await verifyAttestation(project(), o.env, signed, o.maxAge * 3_600_000);
        if (problems.length > 0) {
            for (const problem of problems) console.error(`invalid: ${problem}`);
            process.exitCode = 1;
            return;
        }
        console.log(
            `valid: signed by residency ${signed.body.residency} at ${signed.body.issuedAt}; verdict ${signed.body.verdict} for tenant ${signed.body.tenant}`,
        );
    });

program
    .command("reconcile")
    .description("pulumi up (with refresh) of every stack of the environment, then rewrite its routing table")
    .addOption(envOption())
    .action(async (o) => {
        for (const stack of stacksOf(project(), o.env)) {
            const result = await reconcile(project(), o.env, stack, (line) => process.stderr.write(line));
            console.log(
                `stack ${stack}: ${JSON.stringify(result.changes)} in ${result.seconds.toFixed(1)} s; routing table (${result.tenants} tenants) in ${result.routingFile}`,
            );
        }
    });

function printDrift(report: DriftReport, classify: boolean): void {
    printTable(
        ["stack", "status", "checked", "drifted", ...(classify ? ["residency", "runtime", "cosmetic", "ignored"] : []), "seconds"],
        report.stacks.map((s) => [
            s.stack,
            s.status,
            String(s.checked),
            String(s.drifted.length),
            ...(classify
                ? [...DRIFT_CLASSES.map((c) => String(s.drifted.filter((r) => r.class === c).length)), String(s.ignored.length)]
                : []),
            s.seconds.toFixed(1),
        ]),
    );
    const change = (c: ClassifiedChange) =>
        c.property === GONE ? "is gone" : `${c.property}: ${JSON.stringify(c.old)} → ${JSON.stringify(c.new)}`;
    for (const s of report.stacks) {
        if (s.message) console.log(`\n${s.stack}: ${s.status}: ${s.message}`);
        for (const resource of s.drifted) {
            const where = `${s.stack}: ${resource.name} (${resource.type})${classify ? ` [${resource.class}]` : ""}`;
            console.log(`\n${where} ${resource.op === "delete" ? "is gone" : "changed"}`);
            for (const c of resource.changes.filter((each) => each.property !== GONE))
                console.log(`    ${change(c)}${classify ? `  [${c.class}: ${c.concern}]` : ""}`);
        }
        if (s.reconciled)
            console.log(`\n${s.stack}: reconciled ${s.reconciled.urns.length} runtime drift(s): ${JSON.stringify(s.reconciled.changes)}`);
        for (const f of s.policyFindings)
            console.log(`\n${s.stack}: live state violates ${f.policy}${classify ? ` [${f.class}]` : ""}: ${f.message}`);
        for (const resource of [...s.drifted, ...s.ignored])
            for (const c of resource.ignored) console.log(`\n${s.stack}: ignored ${resource.name} ${change(c)} (${c.rule})`);
        for (const refused of s.refusedIgnores) console.log(`\n${s.stack}: not ignored: ${refused}`);
    }
    const shared = report.causes.filter((c) => c.where.length > 1);
    if (classify && shared.length > 0) {
        console.log("\ncauses shared by several cells:");
        for (const cause of shared)
            console.log(`  [${cause.class}] ${cause.part} (${cause.type}) in ${cause.where.map((w) => w.cell ?? w.stack).join(", ")}`);
    }
    const stacks = report.stacks.length;
    console.log(`\nenvironment ${report.env}: ${stacks} stack${stacks === 1 ? "" : "s"} in ${report.seconds.toFixed(1)} s`);
}

function printTable(header: string[], rows: string[][]): void {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const row of [header, ...rows])
        console.log(
            row
                .map((cellText, i) => cellText.padEnd(widths[i]))
                .join("  ")
                .trimEnd(),
        );
}

program.parseAsync().catch((error) => {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    if (error instanceof Refusal || error instanceof ConfigError || error instanceof ConcurrentEdit) {
        console.error(`refused, nothing changed: ${error.message}`);
        process.exit(1);
    }
    console.error(error instanceof Unreachable ? `unreachable: ${error.message}` : error);
    process.exit(2);
});
