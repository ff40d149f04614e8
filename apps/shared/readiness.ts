import type { FastifyInstance } from "fastify";

/** Paths that answer before the app is ready: liveness, readiness, and the metrics that show why it is not. */
const ALWAYS_ANSWERED = new Set(["/healthz", "/readyz", "/metrics"]);

export interface Backoff {
    firstDelayMs: number;
    maxDelayMs: number;
}

const DEFAULT_BACKOFF: Backoff = { firstDelayMs: 500, maxDelayMs: 30_000 };

/**
 * An app's dependencies, brought up in the background while its HTTP server already answers: a store that is not
 * reachable yet is retried with backoff, `/readyz` answers 503 naming what the app waits for, and every other route
 * answers 503 with Retry-After. Liveness (`/healthz`) stays up, so an orchestrator waits instead of restarting.
 */
export class Readiness {
    private readonly waiting = new Map<string, string>();
    private steps = 0;

    constructor(
        private readonly log: (line: string) => void = (line) => console.warn(line),
        private readonly backoff: Backoff = DEFAULT_BACKOFF,
    ) {}

    get ready(): boolean {
        return this.steps === 0;
    }

    /** Runs each step in order, each until it succeeds; the app is ready once the last one has. */
    bringUp(steps: [what: string, run: () => Promise<unknown>][]): Promise<void> {
        this.steps += steps.length;
        for (const [what] of steps) this.waiting.set(what, "not tried yet");
        return steps.reduce<Promise<void>>(
            (previous, [what, run]) =>
                previous.then(async () => {
                    await this.retry(what, run);
                    this.waiting.delete(what);
                    this.steps--;
                }),
            Promise.resolve(),
        );
    }

    private async retry(what: string, run: () => Promise<unknown>): Promise<void> {
        for (let attempt = 0; ; attempt++) {
            try {
                await run();
                if (attempt > 0) this.log(`${what}: up after ${attempt + 1} attempts`);
                return;
            } catch (error) {
                const reason = error instanceof Error ? error.message : String(error);
                this.waiting.set(what, reason);
                const delay = Math.min(this.backoff.maxDelayMs, this.backoff.firstDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
                this.log(`${what}: ${reason}; trying again in ${Math.round(delay)} ms`);
                await new Promise((resolve) => setTimeout(resolve, delay));
            }
        }
    }

    /** `/readyz`, and 503 on every other route until the app is ready. */
    guard(app: FastifyInstance): void {
        app.get("/readyz", async (_request, reply) =>
            this.ready ? { status: "ready" } : reply.code(503).send({ status: "starting", waitingFor: Object.fromEntries(this.waiting) }),
        );
        app.addHook("onRequest", async (request, reply) => {
            if (this.ready || ALWAYS_ANSWERED.has(request.url.split("?")[0])) return;
            await reply
                .code(503)
                .header("retry-after", "2")
                .send({
                    error: `the cell's ${[...this.waiting.keys()].join(", ")} ${this.waiting.size > 1 ? "are" : "is"} not reachable yet`,
                });
        });
    }
}
