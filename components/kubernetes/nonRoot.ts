/** Pod security context of every data pod a cell runs: non-root, no privilege escalation, default seccomp. */
export function nonRootPod(uid: number) {
    return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } };
}

export const RESTRICTED_CONTAINER = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
