import * as http from "http";
import * as https from "https";

export interface LoopbackAnswer {
    status: number;
    text: string;
}

/**
 * An HTTP(S) request to a server of this machine, trusting `ca` for HTTPS (the stack's CA: `fetch` cannot be given
 * one). A server that does not answer within `timeoutMs` is an error.
 */
export function loopbackRequest(
    url: string,
    options: { method?: string; headers?: Record<string, string>; body?: string; ca?: string; timeoutMs?: number } = {},
): Promise<LoopbackAnswer> {
    const { method = "GET", headers = {}, body, ca, timeoutMs = 30_000 } = options;
    const client = url.startsWith("https:") ? https : http;
    return new Promise((resolve, reject) => {
        const request = client.request(url, { method, headers, ca, timeout: timeoutMs }, (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
            response.on("error", reject);
        });
        request.on("timeout", () => request.destroy(new Error(`${url} did not answer in ${timeoutMs} ms`)));
        request.on("error", reject);
        request.end(body);
    });
}

/** Whether the server answers `url` with `status`; no answer, or another, is false. */
export function answersWith(url: string, status: number, options: Parameters<typeof loopbackRequest>[1] = {}): Promise<boolean> {
    return loopbackRequest(url, options).then(
        (answer) => answer.status === status,
        () => false,
    );
}
