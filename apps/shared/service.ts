/**
 * Runs an app: `start` brings it up and returns how to stop it, which SIGTERM or SIGINT then does before the process
 * exits. A start-up that fails prints why (a bad setting names itself) and exits 1.
 */
export function runService(start: () => Promise<() => Promise<unknown>>): void {
    start().then(
        (stop) => {
            const exit = async () => {
                await stop();
                process.exit(0);
            };
            process.once("SIGTERM", () => void exit());
            process.once("SIGINT", () => void exit());
        },
        (error: unknown) => {
            console.error(error instanceof Error ? error.message : error);
            process.exit(1);
        },
    );
}
