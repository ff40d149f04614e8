import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/**
 * Long-running local servers that outlive the process that starts them (`pulumi up` exits, the cell keeps
 * running): each runs detached, with its pid file and log file in its own folder.
 */
export interface ServiceSpec {
    /** Who the service is, for messages: `postgres of cell local-eu`. */
    label: string;
    command: string;
    args: string[];
    /** Folder of the pid file and the log. */
    dir: string;
    port: number;
    env?: Record<string, string>;
    /** Unix user to run as when started by root (servers such as Postgres refuse to run as root). */
    user?: string;
    /** How long to wait for the port to answer. */
    readyTimeoutMs?: number;
}

export class ServiceError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ServiceError";
    }
}

const pidFile = (dir: string) => path.join(dir, "server.pid");
export const logFile = (dir: string) => path.join(dir, "server.log");

const EXITED_STATES = new Set(["Z", "X"]);

/** A thread's state letter from /proc; undefined once the thread is gone. */
function threadState(statFile: string): string | undefined {
    try {
        return fs.readFileSync(statFile, "utf8").split(") ")[1]?.[0];
    } catch {
        return undefined;
    }
}

/**
 * A process that exists and has a thread that has not exited. A killed server whose parent has not reaped it yet is a
 * zombie; a multi-threaded one (the ClickHouse engine) shows its main thread as a zombie while the others still hold
 * its sockets, so every thread counts.
 */
export function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
    }
    const tasks = `/proc/${pid}/task`;
    if (!fs.existsSync(tasks)) return true;
    let threads: string[];
    try {
        threads = fs.readdirSync(tasks);
    } catch {
        return false;
    }
    return threads.some((thread) => {
        const state = threadState(path.join(tasks, thread, "stat"));
        return state !== undefined && !EXITED_STATES.has(state);
    });
}

/** The pid of the service in `dir`, if it is running. */
export function runningPid(dir: string): number | undefined {
    const text = fs.existsSync(pidFile(dir)) ? fs.readFileSync(pidFile(dir), "utf8").trim() : "";
    const pid = Number(text);
    return pid > 0 && isAlive(pid) ? pid : undefined;
}

export function portAnswers(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ port, host });
        const done = (answer: boolean) => {
            socket.destroy();
            resolve(answer);
        };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
    });
}

/** Fails, naming the port and who wanted it, if something already listens there. */
export async function assertPortFree(port: number, label: string): Promise<void> {
    if (await portAnswers(port)) {
        throw new ServiceError(
            `port ${port} for ${label} is already in use by another process. Stop that process or give the cell other ports (cellplane:cells[].portBase).`,
        );
    }
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await check()) return true;
        await new Promise((r) => setTimeout(r, intervalMs));
    }
    return check();
}

function tail(file: string, lines = 20): string {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "(no log)";
}

/** Servers do not run as root: when the stack runs as root, they run as this system user. */
export const SERVICE_USER = "cellplane";

/** The system user servers run as, created on first use; undefined when the stack itself is not root. */
export function serviceUser(): string | undefined {
    if (process.getuid?.() !== 0) return undefined;
    try {
        execFileSync("id", ["-u", SERVICE_USER], { stdio: "ignore" });
    } catch {
        execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER]);
    }
    return SERVICE_USER;
}

export function idsOf(user: string): { uid: number; gid: number } {
    const id = (flag: string) => Number(execFileSync("id", [flag, user], { encoding: "utf8" }).trim());
    return { uid: id("-u"), gid: id("-g") };
}

/** Hands `dir` (and everything in it) to `user` when running as root, so the service can write there. */
export function ownDir(dir: string, user: string | undefined): void {
    fs.mkdirSync(dir, { recursive: true });
    if (user && process.getuid?.() === 0) execFileSync("chown", ["-R", `${user}:`, dir]);
}

/** Starts the service detached and waits until its port answers. A running service is left as it is. */
export async function startService(spec: ServiceSpec): Promise<number> {
    const running = runningPid(spec.dir);
    if (running) return running;
    await assertPortFree(spec.port, spec.label);
    fs.mkdirSync(spec.dir, { recursive: true });
    const log = fs.openSync(logFile(spec.dir), "a");
    const asUser = spec.user && process.getuid?.() === 0 ? idsOf(spec.user) : {};
    // A clean environment: the engine's (passphrase, config) is none of the server's business.
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", TZ: "UTC", ...spec.env };
    const child = spawn(spec.command, spec.args, { detached: true, stdio: ["ignore", log, log], env, ...asUser });
    fs.closeSync(log);
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.unref();
    fs.writeFileSync(pidFile(spec.dir), String(child.pid));

    const ready = await waitFor(async () => (await portAnswers(spec.port)) || !isAlive(child.pid!), spec.readyTimeoutMs ?? 30_000);
    if (!ready || !isAlive(child.pid!)) {
        const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 100))]);
        if (isAlive(child.pid!)) process.kill(child.pid!, "SIGKILL");
        fs.rmSync(pidFile(spec.dir), { force: true });
        throw new ServiceError(
            `${spec.label} did not come up on port ${spec.port} (exit: ${code}). Last lines of ${logFile(spec.dir)}:\n${tail(logFile(spec.dir))}`,
        );
    }
    return child.pid!;
}

/** Removes `dir`'s parent folders that are left empty, up to `levels` of them (a cell's and a stack's folder). */
export function removeEmptyParents(dir: string, levels = 2): void {
    let parent = path.dirname(dir);
    for (let i = 0; i < levels && fs.existsSync(parent) && fs.readdirSync(parent).length === 0; i++) {
        fs.rmdirSync(parent);
        parent = path.dirname(parent);
    }
}

/** Writes a file only its owner reads (mode 600, also when it existed), for a server's credentials and keys. */
export function writePrivateFile(file: string, content: string): string {
    fs.writeFileSync(file, content, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    return file;
}

/** Stops the service (SIGTERM, then SIGKILL after the grace period) and waits until it is gone. */
export async function stopService(dir: string, graceMs = 10_000): Promise<void> {
    const pid = runningPid(dir);
    if (pid) {
        process.kill(pid, "SIGTERM");
        if (!(await waitFor(() => !isAlive(pid), graceMs))) {
            process.kill(pid, "SIGKILL");
            await waitFor(() => !isAlive(pid), 5_000);
        }
    }
    fs.rmSync(pidFile(dir), { force: true });
}

/** Stops the service and deletes its folder, data included, and the cell and stack folders it leaves empty. */
export async function destroyService(dir: string, graceMs?: number): Promise<void> {
    await stopService(dir, graceMs);
    fs.rmSync(dir, { recursive: true, force: true });
    removeEmptyParents(dir);
}
