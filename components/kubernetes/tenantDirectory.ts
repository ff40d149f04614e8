import { ConfigMap } from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";
import { TENANT_DIRECTORY_CONFIGMAP, TENANT_DIRECTORY_KEY, TenantDirectory } from "../../model/tenantDirectory";

/** The tenant directory as a ConfigMap in the cell, where the policy pack checks every tenant's route and each cell's load. */
export function tenantDirectoryConfigMap(
    context: CellContext,
    namespace: pulumi.Input<string>,
    directory: TenantDirectory,
    opts: pulumi.CustomResourceOptions,
): ConfigMap {
    return new ConfigMap(
        `${context.cell.id}-tenant-directory`,
        {
            metadata: { name: TENANT_DIRECTORY_CONFIGMAP, namespace, labels: context.labels.kubernetes },
            data: { [TENANT_DIRECTORY_KEY]: JSON.stringify(directory, null, 2) },
        },
        opts,
    );
}
