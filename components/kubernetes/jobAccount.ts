import * as core from "@pulumi/kubernetes/core/v1";
import * as rbac from "@pulumi/kubernetes/rbac/v1";
import type * as k8s from "@pulumi/kubernetes/types/input";
import * as pulumi from "@pulumi/pulumi";

export interface JobAccountArgs {
    /** The ServiceAccount's name, and its Role's and RoleBinding's. */
    account: string;
    namespace: pulumi.Input<string>;
    labels: Record<string, string>;
    /** What a cloud binds its identity with (AKS workload identity's client id). */
    annotations?: Record<string, pulumi.Input<string>>;
    /** What the job's API caller does in its namespace: the core API's resources it reaches, with every verb it needs. */
    resources: string[];
    verbs: string[];
}

/**
 * The ServiceAccount a job's pods run as, which mounts no token by default (only the pod that calls the API turns it
 * on), and a Role on its own namespace bound to it. Returns the binding, which the job waits for.
 */
export function jobAccount(name: string, args: JobAccountArgs, parent: pulumi.Resource): rbac.RoleBinding {
    const metadata = { name: args.account, namespace: args.namespace, labels: args.labels };
    new core.ServiceAccount(
        `${name}-service-account`,
        { metadata: { ...metadata, annotations: args.annotations }, automountServiceAccountToken: false },
        { parent },
    );
    const rules: k8s.rbac.v1.PolicyRule[] = [{ apiGroups: [""], resources: args.resources, verbs: args.verbs }];
    const role = new rbac.Role(`${name}-role`, { metadata, rules }, { parent });
    return new rbac.RoleBinding(
        `${name}-role-binding`,
        {
            metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: args.account, namespace: args.namespace }],
        },
        { parent },
    );
}
