import { call } from "../../support/cellClient";
import * as path from "path";
import { EventConsumer } from "../../../apps/ingest/consumer";
import { consumerMetrics } from "../../../apps/ingest/metrics";
import { runningPid, stopService } from "../../../components/local/supervisor";
import { isolatedLocalStack } from "../../support/project";
import { apiKeyFor, CellOutput, clickhouseOf, deployCells, destroyCells, eventOf, eventually } from "./cell";
import { kafkaOfCell } from "../../../scripts/ops/cellClients";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends batches without pause from a few senders, keeping the ids of every batch answered 202. */
function sustainedLoad(url: string, key: string, senders = 3, batch = 200) {
    const accepted = new Set<string>();
    const failures = new Map<string, number>();
    let running = true;
    const done = Promise.all(
        Array.from({ length: senders }, async () => {
            while (running) {
                const events = Array.from({ length: batch }, () => eventOf("acme"));
                const outcome = await call(`${url}/v1/events`, {
                    method: "POST",
                    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
                    body: JSON.stringify(events),
                    signal: AbortSignal.timeout(10_000),
                }).then(
                    (r) => String(r.status),
                    (e: Error) => e.name,
                );
                if (outcome === "202") events.forEach((e) => accepted.add(e.event_id));
                else {
                    failures.set(outcome, (failures.get(outcome) ?? 0) + 1);
                    await new Promise((r) => setTimeout(r, 200));
                }
            }
        }),
    );
    return {
        accepted,
        failures,
        stop: async () => {
            running = false;
            await done;
        },
    };
}

/**
 * Under load: stops Kafka, then ClickHouse, kills the ingest API and then the consumer mid-batch, and runs a second
 * consumer through two rebalances; `pulumi up --refresh` brings each back.
 */
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

    test("every accepted event is in ClickHouse exactly once, and counted once in the rollups, after Kafka, ClickHouse, the API and the consumer each went down and through rebalances", async () => {
        const load = sustainedLoad(eu.endpoints.ingestUrl, key);
        const acceptedSoFar = () => load.accepted.size;
        const killed = (app: string) => async () => void process.kill(runningPid(serverDir(app))!, "SIGKILL");
        const faults: [string, () => Promise<void>][] = [
            ["kafka", () => stopService(serverDir("kafka"))],
            ["clickhouse", () => stopService(serverDir("clickhouse"))],
            ["ingest API", killed("ingest")],
            ["consumer, mid-batch", killed("ingest-consumer")],
            [
                "a second consumer joining, then leaving",
                async () => {
                    const metrics = consumerMetrics();
                    const clickhouse = clickhouseOf(eu);
                    const second = await EventConsumer.start({
                        kafka: kafkaOfCell(eu),
                        topic: "events",
                        clickhouse,
                        metrics,
                    });
                    await pause(8_000);
                    await second.close();
                    await clickhouse.close();
                    expect(await metrics.registry.getSingleMetricAsString("ingest_events_stored_total")).toMatch(
                        /ingest_events_stored_total [1-9]/,
                    );
                },
            ],
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
            const result = await clickhouse.query({
                query: "SELECT toString(event_id) AS id FROM analytics.events WHERE org_id = 'acme'",
                format: "JSONEachRow",
            });
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
        // The rollups count each event once, whichever consumer inserted it and however often.
        const rolledUp = async () => {
            const result = await clickhouse.query({
                query: "SELECT toUInt64(sum(events)) AS n FROM analytics.hourly_metrics FINAL WHERE org_id = 'acme'",
                format: "JSONEachRow",
            });
            return Number((await result.json<{ n: string }>())[0].n);
        };
        expect(await eventually(async () => (await rolledUp()) === ids.length, 30_000)).toBe(true);
        await clickhouse.close();
    }, 600_000);
});
