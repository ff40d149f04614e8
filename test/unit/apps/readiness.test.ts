import Fastify from "fastify";
import * as net from "net";
import { Readiness } from "../../../apps/shared/readiness";
import { freePort } from "../../support/freePort";

/** Connects to `port` and hangs up: what "the store answers" means here. */
const reach = (port: number) =>
    new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1", () => {
            socket.end();
            resolve();
        });
        socket.once("error", reject);
    });

describe("an app whose store is not reachable yet", () => {
    test("stays alive, answers 503 naming what it waits for, and is ready once the store answers", async () => {
        const port = await freePort();
        const logged: string[] = [];
        const readiness = new Readiness((line) => logged.push(line), { firstDelayMs: 20, maxDelayMs: 50 });
        const app = Fastify();
        readiness.guard(app);
        app.get("/healthz", async () => ({ status: "ok" }));
        app.get("/v1/work", async () => ({ done: true }));
        const up = readiness.bringUp([["postgres", () => reach(port)]]);

        await new Promise((resolve) => setTimeout(resolve, 100));
        expect((await app.inject("/healthz")).statusCode).toBe(200);
        const waiting = await app.inject("/readyz");
        expect(waiting.statusCode).toBe(503);
        expect(waiting.json().waitingFor.postgres).toMatch(/ECONNREFUSED/);
        const refused = await app.inject("/v1/work?x=1");
        expect(refused.statusCode).toBe(503);
        expect(refused.headers["retry-after"]).toBe("2");
        expect(refused.json().error).toBe("the cell's postgres is not reachable yet");
        expect(logged.some((line) => /^postgres: .*ECONNREFUSED.*; trying again in \d+ ms$/.test(line))).toBe(true);

        const store = net.createServer((socket) => socket.end()).listen(port, "127.0.0.1");
        await up;
        expect((await app.inject("/readyz")).json()).toEqual({ status: "ready" });
        expect((await app.inject("/v1/work")).json()).toEqual({ done: true });
        expect(logged.at(-1)).toMatch(/^postgres: up after \d+ attempts$/);
        store.close();
        await app.close();
    });

    test("brings its stores up in order: a later step waits for the earlier one", async () => {
        const order: string[] = [];
        let schemaTries = 0;
        const readiness = new Readiness(() => undefined, { firstDelayMs: 1, maxDelayMs: 2 });
        await readiness.bringUp([
            [
                "schema",
                async () => {
                    order.push("schema");
                    if (++schemaTries < 3) throw new Error("not yet");
                },
            ],
            ["kafka", async () => void order.push("kafka")],
        ]);
        expect(order).toEqual(["schema", "schema", "schema", "kafka"]);
        expect(readiness.ready).toBe(true);
    });
});
