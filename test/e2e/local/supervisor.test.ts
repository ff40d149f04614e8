import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isAlive, portAnswers, stopService } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";

/**
 * A server whose main thread has exited while a worker thread still holds its listening socket, as a multi-threaded
 * server (the ClickHouse engine) looks for a moment after SIGTERM. It ignores SIGTERM, and the worker lets go after
 * `holdSeconds`.
 */
const LINGERING_SERVER = `
import ctypes, signal, socket, sys, threading, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
threading.Thread(target=time.sleep, args=(float(sys.argv[2]),)).start()
ctypes.CDLL(None).pthread_exit(None)
`;

/** Long enough a hold that a loaded machine still sees the port taken before the worker lets go. */
async function startLingeringServer(port: number, holdSeconds: number): Promise<number> {
    const child = spawn("python3", ["-c", LINGERING_SERVER, String(port), String(holdSeconds)], { stdio: "ignore" });
    child.unref();
    while (!(await portAnswers(port))) {
        if (!isAlive(child.pid!)) throw new Error(`the lingering server on port ${port} exited before it answered`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return child.pid!;
}

describe("the local supervisor", () => {
    test("a server whose main thread has exited is alive while another thread holds its port", async () => {
        const port = await freePort();
        const pid = await startLingeringServer(port, 4);
        expect(await portAnswers(port)).toBe(true);
        expect(isAlive(pid)).toBe(true);
        while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await portAnswers(port)).toBe(false);
    });

    test("stopping a server returns only once its port is free, so a restart on the same port can begin", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-supervisor-"));
        const port = await freePort();
        fs.writeFileSync(path.join(dir, "server.pid"), String(await startLingeringServer(port, 4)));
        await stopService(dir, 10_000);
        expect(await portAnswers(port)).toBe(false);
        expect(fs.existsSync(path.join(dir, "server.pid"))).toBe(false);
    });
});
