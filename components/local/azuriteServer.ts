import * as fs from "fs";
import * as path from "path";
import type { ServerTls } from "./certificates";
import { answersWith } from "./loopbackHttp";
import { assertPortFree, runningPid, startService, writePrivateFile } from "./supervisor";
import { azuriteBlobMain, nodeBin } from "./tools";

/**
 * A local cell's object store in Azure's flavour: Azurite's Blob service over HTTPS, with one storage account of
 * the cell's own (no well-known development account), as Azure cells keep their exports in Blob.
 */
export interface AzuriteServerSpec {
    label: string;
    dir: string;
    port: number;
    account: string;
    /** The account's shared key (base64), which signs every request. */
    accountKey: string;
    tls: ServerTls;
}

/** The account's Blob endpoint, as Azure names it `https://<account>.blob.core.windows.net/`. */
export const blobEndpointOf = (spec: Pick<AzuriteServerSpec, "port" | "account">) => `https://127.0.0.1:${spec.port}/${spec.account}`;

export async function startAzurite(spec: AzuriteServerSpec): Promise<number> {
    const running = runningPid(spec.dir);
    if (running) return running;
    await assertPortFree(spec.port, spec.label);
    fs.mkdirSync(path.join(spec.dir, "data"), { recursive: true });
    return startService({
        label: spec.label,
        command: nodeBin(),
        args: [
            azuriteBlobMain(),
            ...["--blobHost", "127.0.0.1", "--blobPort", String(spec.port), "--location", path.join(spec.dir, "data")],
            ...["--cert", writePrivateFile(path.join(spec.dir, "server.crt"), spec.tls.cert)],
            ...["--key", writePrivateFile(path.join(spec.dir, "server.key"), spec.tls.key)],
            // ClickHouse's Azure client sends API versions Azurite has not caught up with; no telemetry leaves the machine.
            ...["--skipApiVersionCheck", "--disableTelemetry", "--silent"],
        ],
        dir: spec.dir,
        port: spec.port,
        // In the environment, not the arguments, so the key shows in no process list.
        env: { AZURITE_ACCOUNTS: `${spec.account}:${spec.accountKey}` },
    });
}

/** Running means the process lives and the Blob service answers (an unsigned request is refused: 403). */
export async function azuriteRunning(spec: AzuriteServerSpec): Promise<boolean> {
    return (
        runningPid(spec.dir) !== undefined && answersWith(`${blobEndpointOf(spec)}?comp=list`, 403, { ca: spec.tls.ca, timeoutMs: 2_000 })
    );
}
