import * as net from "net";

/**
 * Below the kernel's ephemeral range (32768 and up), where a client socket can take the very port a server was
 * about to use, and apart from the ports of `npm run up` (15400 and up) and of the isolated stacks (20000–31999).
 * Each jest worker draws from its own quarter, so test files running side by side never share a port.
 */
const RANGE = { from: 10_000, to: 15_000 };
const SLICES = 4;
const slice = (Number(process.env.JEST_WORKER_ID ?? 1) - 1) % SLICES;
/** This jest worker's quarter of `range`. */
const ownShare = (range: { from: number; to: number }) => {
    const size = (range.to - range.from) / SLICES;
    return { from: range.from + slice * size, to: range.from + (slice + 1) * size };
};
const OWN = ownShare(RANGE);
const handedOut = new Set<number>();

/** The isolated stacks' ports: blocks of 100, one per stack, below the ephemeral range too. */
const STACK_BLOCKS = ownShare({ from: 0, to: 120 });
const STACK_BLOCK_SIZE = 100;
const blocksHandedOut = new Set<number>();

function listens(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/** `count` consecutive TCP ports nothing listens on right now, never handed out twice in one test process. */
export async function freePorts(count: number): Promise<number> {
    for (let attempt = 0; attempt < 200; attempt++) {
        const base = OWN.from + Math.floor(Math.random() * (OWN.to - OWN.from - count));
        const block = Array.from({ length: count }, (_, i) => base + i);
        if (block.some((port) => handedOut.has(port))) continue;
        if (!(await Promise.all(block.map(listens))).every(Boolean)) continue;
        block.forEach((port) => handedOut.add(port));
        return base;
    }
    throw new Error(`no ${count} free ports between ${OWN.from} and ${OWN.to}`);
}

/** A TCP port nothing listens on right now, never the same twice in one test process. */
export const freePort = () => freePorts(1);

/**
 * The first port of a block of 100 for an isolated stack's cells, from this worker's share of 20000–31999 and never
 * the same twice in one test process: suites that run side by side never take each other's ports.
 */
export function stackPortBase(): number {
    const free = Array.from({ length: STACK_BLOCKS.to - STACK_BLOCKS.from }, (_, i) => STACK_BLOCKS.from + i).filter(
        (block) => !blocksHandedOut.has(block),
    );
    if (free.length === 0)
        throw new Error(`this test process has used all of its ${STACK_BLOCKS.to - STACK_BLOCKS.from} stack port blocks`);
    const block = free[Math.floor(Math.random() * free.length)];
    blocksHandedOut.add(block);
    return 20_000 + block * STACK_BLOCK_SIZE;
}
