import { execFileSync } from "child_process";
import { Cron } from "croner";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { loadIgnoreRules } from "../../../scripts/ops/driftIgnore";
import { WEBHOOK_SECRET_ENV } from "../../../scripts/ops/driftSignals";
import type { ResourceProps } from "../../../model/resourceProps";

const ROOT = path.join(__dirname, "..", "..", "..");
const DIR = path.join(ROOT, "deploy", "drift");
const documentsOf = (file: string) => parseAllDocuments(fs.readFileSync(path.join(DIR, file), "utf8")).map((d) => d.toJS());

/** The options `cellplane drift` takes, from its own help, so a template cannot pass one the command lacks. */
const driftOptions = new Set(
    execFileSync(path.join(ROOT, "node_modules", ".bin", "tsx"), [path.join(ROOT, "scripts", "cellplane.ts"), "drift", "--help"], {
        encoding: "utf8",
    }).match(/--[a-z-]+/g),
);

/** Runs every hour at least: a drift check that runs less often than that misses a day's change by a day. */
function hourlyOrMore(schedule: string): boolean {
    const runs = new Cron(schedule, { timezone: "Etc/UTC" }).nextRuns(3, new Date("2026-11-27T00:00:00Z"));
    return runs.length === 3 && runs.every((run, i) => i === 0 || run.getTime() - runs[i - 1].getTime() <= 3_600_000);
}

describe("the scheduled drift check's templates", () => {
    test("the CronJob runs cellplane drift classified, with ignore rules, every hour, never two at once, with its secrets from a Secret", () => {
        const [configMap, cronJob] = documentsOf("cronjob.yaml");
        expect([configMap.kind, cronJob.apiVersion, cronJob.kind]).toEqual(["ConfigMap", "batch/v1", "CronJob"]);
        expect(hourlyOrMore(cronJob.spec.schedule)).toBe(true);
        expect(cronJob.spec).toMatchObject({ concurrencyPolicy: "Forbid", jobTemplate: { spec: { backoffLimit: 0 } } });

        const pod = cronJob.spec.jobTemplate.spec.template.spec;
        const [container] = pod.containers;
        expect(container.command).toEqual(["scripts/cellplane"]);
        expect(container.args[0]).toBe("drift");
        for (const option of container.args.filter((a: string) => a.startsWith("--"))) expect(driftOptions).toContain(option);
        expect(container.args).toEqual(expect.arrayContaining(["--classify", "--ignore", "--webhook"]));

        const env = Object.fromEntries(container.env.map((e: ResourceProps) => [e.name, e]));
        expect(env[WEBHOOK_SECRET_ENV].valueFrom.secretKeyRef.name).toBe("cellplane-drift");
        for (const secret of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "CELLPLANE_DRIFT_WEBHOOK_URL"])
            expect(env[secret].valueFrom.secretKeyRef.key).toBe(secret);
        // A read-only root filesystem: Pulumi, tsx and the CLI write only to mounted folders.
        expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
        const mounted = container.volumeMounts.map((m: ResourceProps) => m.mountPath);
        expect(mounted).toEqual(expect.arrayContaining([env.HOME.value, "/tmp"]));

        const ignoreFile = container.args[container.args.indexOf("--ignore") + 1];
        const mount = container.volumeMounts.find((m: ResourceProps) => ignoreFile.startsWith(`${m.mountPath}/`));
        const volume = pod.volumes.find((v: ResourceProps) => v.name === mount.name);
        expect(volume.configMap.name).toBe(configMap.metadata.name);
        expect(Object.keys(configMap.data)).toEqual([path.basename(ignoreFile)]);
        expect(JSON.parse(configMap.data[path.basename(ignoreFile)])).toEqual([]);
        expect(pod.securityContext.runAsNonRoot).toBe(true);
    });

    test("the CI workflow runs the same check each hour on every environment, with ignore files that load, and keeps its results", () => {
        const [workflow] = documentsOf("github-workflow.yml");
        expect(hourlyOrMore(workflow.on.schedule[0].cron)).toBe(true);
        const job = workflow.jobs.drift;
        const run: string = job.steps.find(
            (s: ResourceProps) => typeof s.run === "string" && s.run.includes("scripts/cellplane drift"),
        ).run;
        for (const option of run.match(/--[a-z-]+/g)!) expect(driftOptions).toContain(option);
        expect(run).toMatch(/--classify/);
        expect(job.env[WEBHOOK_SECRET_ENV]).toBe(`\${{ secrets.${WEBHOOK_SECRET_ENV} }}`);
        for (const env of job.strategy.matrix.env) {
            expect(loadIgnoreRules(path.join(DIR, `ignore.${env}.json`))).toEqual([]);
            expect(fs.existsSync(path.join(ROOT, `Pulumi.${env}.yaml`))).toBe(true);
        }
        expect(job.steps.at(-1)).toMatchObject({ if: "always()", uses: "actions/upload-artifact@v4" });
    });
});
