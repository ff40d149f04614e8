import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { promtoolBin } from "../../../components/local/tools";

const DIR = path.join(__dirname, "..", "..", "..", "observability");
const promtool = (...args: string[]) => spawnSync(promtoolBin(), args, { cwd: DIR, encoding: "utf8" });

/** The rule set every target loads, checked and unit-tested by Prometheus's own tool. */
describe("the alerting and recording rules", () => {
    test("promtool accepts the rule file", () => {
        const checked = promtool("check", "rules", "rules.yml");
        expect(checked.stderr).toBe("");
        expect(checked.stdout).toMatch(/SUCCESS: 1\d rules found/);
    });

    test("every alert and SLI behaves as rules.test.yml says", () => {
        const tested = promtool("test", "rules", "rules.test.yml");
        expect(`${tested.stdout}${tested.stderr}`).toMatch(/SUCCESS/);
        expect(tested.status).toBe(0);
    });

    test("each alert fires in a test and stays quiet in another, and each recording rule is evaluated", () => {
        const read = (file: string) => parse(fs.readFileSync(path.join(DIR, file), "utf8"));
        const rules = read("rules.yml").groups.flatMap((g: { rules: { alert?: string; record?: string }[] }) => g.rules);
        const cases = read("rules.test.yml").tests.flatMap(
            (t: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }) => t.alert_rule_test ?? [],
        );
        const exprs = read("rules.test.yml").tests.flatMap((t: { promql_expr_test?: { expr: string }[] }) => t.promql_expr_test ?? []);
        for (const { alert, record } of rules) {
            if (alert) {
                const of = cases.filter((c: { alertname: string }) => c.alertname === alert);
                expect([alert, of.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length > 0)]).toEqual([alert, true]);
                expect([alert, of.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length === 0)]).toEqual([alert, true]);
            } else expect([record, exprs.some((e: { expr: string }) => e.expr.includes(record))]).toEqual([record, true]);
        }
    });
});
