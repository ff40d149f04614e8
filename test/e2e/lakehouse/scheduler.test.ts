import { Pool } from "pg";
import { runsOf } from "../../../apps/lakehouse/runs";
import { cellplane } from "../../support/cli";
import { isolatedLocalStack } from "../../support/project";
import {
    apiKeyFor,
    type CellOutput,
    deployCells,
    destroyCells,
    eventOf,
    eventually,
    postEvents,
    postgresOf,
    storedEvents,
} from "../apps/cell";

/** A local cell's scheduler: the lakehouse jobs run when their schedules in the cell's Postgres are due. */
describe("the lakehouse scheduler of a local cell", () => {
    const stack = isolatedLocalStack("cellplane-scheduler-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu" }];
        config["cellplane:localJobSchedules"] = true;
    });
    let eu: CellOutput;
    let pool: Pool;
    const jobs = (command: string, ...args: string[]) =>
        cellplane(stack.dir, ["jobs", command, "--env", "local", "--cell", "local-eu", ...args], stack.env);
    const scheduledBronze = async () => (await runsOf(pool, "bronze")).filter((run) => run.trigger === "schedule");

    beforeAll(async () => {
        eu = deployCells(stack)["local-eu"];
        pool = new Pool({ ...postgresOf(eu), max: 1 });
    }, 300_000);

    afterAll(async () => {
        await pool?.end();
        destroyCells(stack);
    });

    test("a schedule set to every minute runs bronze on the cell's Spark, recorded as a scheduled run; a paused one runs no more", async () => {
        const events = Array.from({ length: 5 }, () => eventOf("acme"));
        expect((await postEvents(eu.endpoints.ingestUrl, await apiKeyFor(eu, "acme"), events)).status).toBe(202);
        expect(await eventually(async () => (await storedEvents(eu, "acme")).rows === events.length, 60_000)).toBe(true);

        const set = jobs("schedule", "--job", "bronze", "--cron", "* * * * *");
        expect({ code: set.code, out: set.out }).toEqual({
            code: 0,
            out: expect.stringMatching(/bronze on local-eu: \* \* \* \* \* \(UTC\), next run /),
        });
        const listed = JSON.parse(jobs("list", "--json").stdout);
        const bronze = listed.find((job: { job: string }) => job.job === "bronze");
        expect(bronze).toMatchObject({ schedule: "* * * * *", paused: false });
        expect(Date.parse(bronze.next) - Date.now()).toBeLessThanOrEqual(60_000);
        // The other jobs keep their defaults.
        expect(listed.find((job: { job: string }) => job.job === "gold").schedule).toBe("10 * * * *");

        // Due within a minute, claimed within a tick (15 s), then Spark's start and the run.
        const succeeded = async () => (await scheduledBronze()).some((run) => run.state === "succeeded");
        expect(await eventually(succeeded, 240_000)).toBe(true);
        const [run] = (await scheduledBronze()).filter((r) => r.state === "succeeded");
        expect(run).toMatchObject({ job: "bronze", attempt: 1, trigger: "schedule" });
        expect(run.rows).toBeGreaterThanOrEqual(events.length);

        const paused = jobs("schedule", "--job", "bronze", "--pause");
        expect(paused.stdout).toContain("bronze on local-eu: * * * * * (UTC), paused");
        // A run already claimed may still finish; none starts after it.
        expect(await eventually(async () => (await scheduledBronze()).every((r) => r.state !== "running"), 120_000)).toBe(true);
        const before = (await scheduledBronze()).length;
        await new Promise((resolve) => setTimeout(resolve, 75_000));
        expect((await scheduledBronze()).length).toBe(before);
    }, 600_000);

    test("a cron the scheduler cannot read is refused, naming the option, the value and the fix; so is a job that is none", () => {
        const refused = jobs("schedule", "--job", "bronze", "--cron", "61 * * * *");
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(
            /--cron: "61 \* \* \* \*" is not a cron expression .*; give five fields in UTC, such as "\*\/15 \* \* \* \*"/,
        );
        const unknown = jobs("schedule", "--job", "platinum", "--pause");
        expect(unknown.code).not.toBe(0);
        expect(unknown.stderr).toContain('"platinum" is not a lakehouse job: use one of bronze, silver, gold, cdc');
    });
});
