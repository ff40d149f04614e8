import * as fs from "fs";
import * as path from "path";

/** The rule set every target loads (`observability/rules.yml`, unit-tested with promtool). */
export const RULES_FILE = path.join(__dirname, "..", "observability", "rules.yml");

export const ruleSet = (): string => fs.readFileSync(RULES_FILE, "utf8");
