import * as fs from "fs";
import * as path from "path";
import { runningPid, startService, writePrivateFile } from "./supervisor";
import { seaweedfsBin } from "./tools";
import type { ServerTls } from "./certificates";
import { answersWith } from "./loopbackHttp";

/**
 * A cell's object store: SeaweedFS in one process (`weed mini`: master, volume, filer, S3 gateway, and the admin with
 * the worker that carries out lifecycle rules), encrypting objects at rest with the cell's own SSE-S3 key.
 */
export interface SeaweedfsServerSpec {
    label: string;
    dir: string;
    /** The S3 API. */
    port: number;
    /** The first of the INTERNAL_PORTS ports the master, volume, filer and admin listen on (HTTP and gRPC). */
    internalPortBase: number;
    accessKeyId: string;
    secretAccessKey: string;
    /** 32 random bytes, hex: the key SSE-S3 derives each object's key from. */
    sseKey: string;
    /** The admin console's password; the console listens on loopback only. */
    adminPassword: string;
    /** When given, the S3 API speaks HTTPS only, with this certificate. */
    tls?: ServerTls;
    /** Where its servers' Prometheus metrics are served (plain HTTP on loopback); absent, nowhere. */
    metricsPort?: number;
}

/** How many ports after `internalPortBase` the server takes. */
export const INTERNAL_PORTS = 9;

export const s3Url = (port: number, secure: boolean) => `${secure ? "https" : "http"}://127.0.0.1:${port}`;
export const endpointOf = (spec: Pick<SeaweedfsServerSpec, "port" | "tls">) => s3Url(spec.port, Boolean(spec.tls));

/** Every flag in a file of the server's own folder (mode 600), so no credential shows in the process list. */
function optionsOf(spec: SeaweedfsServerSpec): string[] {
    const port = (offset: number) => String(spec.internalPortBase + offset);
    return Object.entries({
        dir: path.join(spec.dir, "data"),
        ip: "127.0.0.1",
        "ip.bind": "127.0.0.1",
        "s3.port": String(spec.port),
        "s3.config": path.join(spec.dir, "s3.json"),
        "s3.autoCreateBucket": "false",
        "master.port": port(0),
        "master.port.grpc": port(1),
        "volume.port": port(2),
        "volume.port.grpc": port(3),
        "filer.port": port(4),
        "filer.port.grpc": port(5),
        "admin.port": port(6),
        "admin.port.grpc": port(7),
        "s3.port.grpc": port(8),
        "admin.password": spec.adminPassword,
        // Not part of a cell, and each would take a fixed port of its own.
        "admin.port.legacy": "0",
        "s3.port.iceberg": "0",
        "s3.port.lance": "0",
        webdav: "false",
        ...(spec.metricsPort !== undefined ? { metricsIp: "127.0.0.1", metricsPort: String(spec.metricsPort) } : {}),
        ...(spec.tls ? { "s3.cert.file": path.join(spec.dir, "server.crt"), "s3.key.file": path.join(spec.dir, "server.key") } : {}),
    }).map(([name, value]) => `${name}=${value}`);
}

export async function startSeaweedfs(spec: SeaweedfsServerSpec): Promise<number> {
    fs.mkdirSync(path.join(spec.dir, "data"), { recursive: true });
    const identity = {
        name: "cellplane",
        credentials: [{ accessKey: spec.accessKeyId, secretKey: spec.secretAccessKey }],
        actions: ["Admin", "Read", "Write", "List", "Tagging"],
    };
    writePrivateFile(path.join(spec.dir, "s3.json"), JSON.stringify({ identities: [identity] }));
    if (spec.tls) {
        writePrivateFile(path.join(spec.dir, "server.crt"), spec.tls.cert);
        writePrivateFile(path.join(spec.dir, "server.key"), spec.tls.key);
    }
    writePrivateFile(path.join(spec.dir, "options"), optionsOf(spec).join("\n") + "\n");
    return startService({
        label: spec.label,
        command: seaweedfsBin(),
        args: ["mini", `-options=${path.join(spec.dir, "options")}`],
        dir: spec.dir,
        port: spec.port,
        env: { WEED_S3_SSE_KEK: spec.sseKey },
    });
}

/** Running means the process lives and the S3 gateway's health check answers. */
export async function seaweedfsRunning(spec: SeaweedfsServerSpec): Promise<boolean> {
    return runningPid(spec.dir) !== undefined && answersWith(`${endpointOf(spec)}/healthz`, 200, { ca: spec.tls?.ca, timeoutMs: 2_000 });
}
