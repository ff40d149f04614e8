import * as path from "path";
import { runningPid, stopService } from "../../components/local/supervisor";
import { isolatedLocalStack } from "../engine/project";
import { apiKeyFor, CellOutput, clickhouseOf, deployCells, destroyCells, eventOf, eventually } from "./cell";

/** Sends batches without pause from a few senders, keeping the ids of every batch answered 202. */
function sustainedLoad(url: string, key: string, senders = 3, batch = 200) {
    const accepted = new Set<string>();
    const failures = new Map<string, number>();
    let running = true;
    const done = Promise.all(Array.from({ length: senders }, async () => {
        while (running) {
            const events = Array.from({ length: batch }, () => eventOf("acme"));
            const outcome = await fetch(`${url}/v1/events`, {
                method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(events), signal: AbortSignal.timeout(10_000),
            }).then((r) => String(r.status), (e: Error) => e.name);
            if (outcome === "202") events.forEach((e) => accepted.add(e.event_id));
            else {
                failures.set(outcome, (failures.get(outcome) ?? 0) + 1);
                await new Promise((r) => setTimeout(r, 200));
            }
        }
    }));
    return { accepted, failures, stop: async () => { running = false; await done; } };
}

/** Stops Kafka, then ClickHouse, then kills the ingest process (and its consumer) under load; `pulumi up --refresh` brings each back. */
describe("a local cell under load through faults", () => {
    const stack = isolatedLocalStack("cellplane-faults-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu", quotas: { eventsPerSecond: 1_000_000 } }];
    });
    const serverDir = (part: string) => path.join(stack.state, "e2e", "local-eu", part);
    let eu: CellOutput;
    let key: string;

    beforeAll(async () => {
        eu = deployCells(stack)["local-eu"];
        key = await apiKeyFor(eu, "acme");
    }, 240_000);

    afterAll(() => destroyCells(stack), 120_000);

    test("every accepted event is in ClickHouse exactly once after Kafka, ClickHouse and the consumer each went down", async () => {
        const load = sustainedLoad(eu.endpoints.ingestUrl, key);
        const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
        const acceptedSoFar = () => load.accepted.size;
        const faults: [string, () => Promise<void>][] = [
            ["kafka", () => stopService(serverDir("kafka"))],
            ["clickhouse", () => stopService(serverDir("clickhouse"))],
            ["consumer", async () => void process.kill(runningPid(serverDir("ingest"))!, "SIGKILL")],
        ];
        await pause(2_000);
        for (const [name, fault] of faults) {
            const before = acceptedSoFar();
            await fault();
            await pause(3_000);
            stack.ok("up", "--yes", "--skip-preview", "--refresh");
            // The cell takes events again before the next fault.
            expect(await eventually(async () => acceptedSoFar() > before + 1_000, 60_000)).toBe(true);
            console.log(`after ${name}: ${acceptedSoFar()} accepted; failures so far ${JSON.stringify(Object.fromEntries(load.failures))}`);
        }
        await load.stop();
        expect(load.failures.size).toBeGreaterThan(0);

        const clickhouse = clickhouseOf(eu);
        const stored = async () => {
            const result = await clickhouse.query({ query: "SELECT toString(event_id) AS id FROM analytics.events WHERE org_id = 'acme'", format: "JSONEachRow" });
            return (await result.json<{ id: string }>()).map((r) => r.id);
        };
        let ids: string[] = [];
        const allThere = async () => {
            const present = new Set((ids = await stored()));
            return [...load.accepted].every((id) => present.has(id));
        };
        expect(await eventually(allThere, 120_000)).toBe(true);
        expect(ids.length).toBe(new Set(ids).size);
        expect(ids.length).toBeGreaterThanOrEqual(load.accepted.size);
        await clickhouse.close();
    }, 600_000);
});
