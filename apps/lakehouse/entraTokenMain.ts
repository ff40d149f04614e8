/**
 * A sidecar of the jobs' pods on Event Hubs cells: keeps an Entra ID token of the pod's workload identity in
 * KAFKA_TOKEN_FILE, where the JVM's Kafka client reads it (`entraToken.ts`). Its pod starts the job once the file
 * exists, and stops it with the job.
 */
import { runService } from "../shared/service";
import { entraTokenEnvironment, refreshDelayMs, requestEntraToken, retryDelayMs, writeTokenFile } from "./entraToken";

runService(async () => {
    const parsed = entraTokenEnvironment.safeParse(process.env);
    if (!parsed.success)
        throw new Error(`entra-token: ${parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ")}`);
    const config = parsed.data;
    const log = (line: string) => console.log(`[entra-token] ${line}`);
    let failures = 0;
    let timer: NodeJS.Timeout | undefined;

    const refresh = async () => {
        try {
            const token = await requestEntraToken(config);
            await writeTokenFile(config.KAFKA_TOKEN_FILE, token.accessToken);
            failures = 0;
            log(`a token of ${config.KAFKA_TOKEN_SCOPE} until ${token.expiresAt.toISOString()} is in ${config.KAFKA_TOKEN_FILE}`);
            timer = setTimeout(() => void refresh(), refreshDelayMs(token));
        } catch (error) {
            failures += 1;
            const wait = retryDelayMs(failures);
            log(`${(error as Error).message}; asking again in ${wait / 1000} s`);
            timer = setTimeout(() => void refresh(), wait);
        }
    };
    await refresh();
    return async () => clearTimeout(timer);
});
