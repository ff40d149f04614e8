import { minioBin } from "./tools";
import { destroyService, runningPid, startService, stopService } from "./supervisor";

/** An S3-compatible MinIO server holding one cell's buckets, encrypting objects at rest with a static KMS key. */
export interface MinioServerSpec {
    label: string;
    dir: string;
    port: number;
    consolePort: number;
    rootUser: string;
    rootPassword: string;
    /** 32 random bytes, base64: MinIO's built-in KMS key for SSE-S3. */
    kmsKey: string;
}

export const endpointOf = (spec: Pick<MinioServerSpec, "port">) => `http://127.0.0.1:${spec.port}`;

export async function startMinio(spec: MinioServerSpec): Promise<number> {
    return startService({
        label: spec.label,
        command: minioBin(),
        args: [
            "server",
            `${spec.dir}/data`,
            "--address",
            `127.0.0.1:${spec.port}`,
            "--console-address",
            `127.0.0.1:${spec.consolePort}`,
            "--quiet",
        ],
        dir: spec.dir,
        port: spec.port,
        env: {
            MINIO_ROOT_USER: spec.rootUser,
            MINIO_ROOT_PASSWORD: spec.rootPassword,
            MINIO_KMS_SECRET_KEY: `cellplane:${spec.kmsKey}`,
            MINIO_BROWSER: "off",
        },
    });
}

/** Running means the process lives and MinIO's liveness probe answers. */
export async function minioRunning(spec: MinioServerSpec): Promise<boolean> {
    if (!runningPid(spec.dir)) return false;
    try {
        return (await fetch(`${endpointOf(spec)}/minio/health/live`, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
        return false;
    }
}

export async function stopMinio(spec: MinioServerSpec): Promise<void> {
    await stopService(spec.dir);
}

export async function destroyMinio(spec: MinioServerSpec): Promise<void> {
    await destroyService(spec.dir);
}
