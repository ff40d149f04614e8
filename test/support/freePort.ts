import * as net from "net";

/**
 * Below the kernel's ephemeral range (32768 and up), where a client socket can take the very port a server was
 * about to use, and apart from the ports of `npm run up` (15400 and up) and of the isolated stacks (20000–31999).
 */
const RANGE = { from: 10_000, to: 15_000 };
const handedOut = new Set<number>();

function listens(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/** A TCP port nothing listens on right now, never the same twice in one test process. */
export async function freePort(): Promise<number> {
    for (let attempt = 0; attempt < 200; attempt++) {
        const port = RANGE.from + Math.floor(Math.random() * (RANGE.to - RANGE.from));
        if (handedOut.has(port) || !(await listens(port))) continue;
        handedOut.add(port);
        return port;
    }
    throw new Error(`no free port between ${RANGE.from} and ${RANGE.to}`);
}
