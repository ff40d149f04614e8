import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { allowTokenFile, KAFKA_TOKEN_DIR, KAFKA_TOKEN_FILE } from "../../apps/lakehouse/entraToken";
import { bundleFile } from "../apps/bundle";
import type { AppIdentity } from "./appDeployment";
import { IMAGES } from "./charts";
import { RESTRICTED_CONTAINER } from "./nonRoot";

/** A cloud identity a job's pods take (AKS workload identity), and the Entra ID scope of its Kafka client's token. */
export interface JobIdentity extends AppIdentity {
    /** Absent where the job's Kafka takes no Entra ID token. */
    kafkaTokenScope?: pulumi.Input<string>;
}

/**
 * What a job's pod adds to take its Kafka token from the sidecar: the sidecar, its volumes, the job's mount, and the
 * JVM option that lets the job's Kafka client read the file.
 */
export interface EntraTokenSidecar {
    container: object;
    volumes: object[];
    mount: { name: string; mountPath: string; readOnly: true };
    javaOptions: string;
}

const CODE_DIR = "/opt/cellplane/entra-token";
const SCRIPT = "entra-token.js";
const TOKEN_VOLUME = "kafka-token";
/** The sidecar's bundle, built once per program run. */
let bundle: { file: string; hash: string } | undefined;

/**
 * The Kafka token of a job's pods on Event Hubs (`apps/lakehouse/entraTokenMain.ts`), as a native sidecar: an init
 * container that keeps running, which the kubelet starts first, waits for until the token file exists (its startup
 * probe), and stops once the job's containers end, so a batch pod still completes. The official Node image runs its
 * bundle, which arrives in an immutable ConfigMap named after its hash; the token lives in memory, never on a disk.
 */
export function entraTokenSidecar(
    name: string,
    /** `job` names the ConfigMap, so each job of a namespace has its own. */
    args: { job: string; namespace: pulumi.Input<string>; labels: Record<string, string>; scope: pulumi.Input<string> },
    parent: pulumi.Resource,
): EntraTokenSidecar {
    bundle ??= bundleFile(path.join(__dirname, "..", "..", "apps", "lakehouse", "entraTokenMain.ts"), "entra-token");
    const code = new core.ConfigMap(
        `${name}-entra-token`,
        {
            metadata: { name: `entra-token-${args.job}-${bundle.hash.toLowerCase()}`, namespace: args.namespace, labels: args.labels },
            immutable: true,
            data: { [SCRIPT]: fs.readFileSync(bundle.file, "utf8") },
        },
        { parent },
    );
    const resources = { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } };
    return {
        container: {
            name: "entra-token",
            image: IMAGES.node,
            restartPolicy: "Always",
            command: ["node", `${CODE_DIR}/${SCRIPT}`],
            env: [
                { name: "KAFKA_TOKEN_SCOPE", value: args.scope },
                { name: "KAFKA_TOKEN_FILE", value: KAFKA_TOKEN_FILE },
            ],
            startupProbe: {
                exec: { command: ["node", "-e", "require('fs').statSync(process.argv[1]).size || process.exit(1)", KAFKA_TOKEN_FILE] },
                periodSeconds: 2,
                failureThreshold: 60,
            },
            resources,
            securityContext: { ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true },
            volumeMounts: [
                { name: "entra-token-code", mountPath: CODE_DIR, readOnly: true },
                { name: TOKEN_VOLUME, mountPath: KAFKA_TOKEN_DIR },
            ],
        },
        volumes: [
            { name: "entra-token-code", configMap: { name: code.metadata.name } },
            { name: TOKEN_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
        ],
        mount: { name: TOKEN_VOLUME, mountPath: KAFKA_TOKEN_DIR, readOnly: true },
        javaOptions: allowTokenFile(),
    };
}
