import * as pulumi from "@pulumi/pulumi";

/** The Kubernetes provider's documented annotation: create or update the object without waiting for it to be ready. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";
/** Its annotation that applies the object's fields even where another field manager (a hand edit) has taken them. */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
/**
 * Helm waits for its objects unless told to skip, always for an atomic install, and always for its hooks (Jobs, which
 * need pods): without nodes a release skips all three. The provider reads an install's hooks from `disableWebhooks`
 * and an upgrade's from `disableCRDHooks`.
 */
const RELEASE_WITHOUT_WAITS = { skipAwait: true, atomic: false, disableWebhooks: true, disableCRDHooks: true };

type Annotations = Record<string, pulumi.Input<string>>;

/** An input whose fields can be read now: not an output or a promise. */
const isPlain = <T>(input: pulumi.Input<T> | undefined): input is T | undefined =>
    !pulumi.Output.isInstance(input) && !(input instanceof Promise);

/** Adds `added` to the object's annotations without turning a plain object's known fields (its name) into one output. */
function annotated(metadata: pulumi.Input<Record<string, unknown>> | undefined, added: Annotations): pulumi.Input<Record<string, unknown>> {
    const merge = (annotations: Annotations | undefined): Annotations => ({ ...annotations, ...added });
    if (!isPlain(metadata)) return pulumi.output(metadata).apply((m) => ({ ...m, annotations: merge(m.annotations as Annotations) }));
    const annotations = metadata?.annotations as pulumi.Input<Annotations> | undefined;
    return { ...metadata, annotations: isPlain(annotations) ? merge(annotations) : pulumi.output(annotations).apply(merge) };
}

/**
 * The stack transformation of every Kubernetes object the cells apply. Each reclaims its fields at `pulumi up`
 * (`pulumi.com/patchForce`): server-side apply otherwise refuses to repair a field a hand edit took over, so drift
 * would stay. With `cellplane:kubernetesSkipAwait`, for a control plane without nodes where no pod ever becomes
 * ready, each also skips the provider's readiness await, and Helm releases wait for nothing. Reads are left alone.
 * A transformation, not a transform: it runs in the program, where the engine's transform callbacks end the program
 * with an unhandled rejection on this engine.
 */
export function clusterObjects(settings: { skipAwait: boolean }) {
    const added: Annotations = { [PATCH_FORCE_ANNOTATION]: "true", ...(settings.skipAwait ? { [SKIP_AWAIT_ANNOTATION]: "true" } : {}) };
    return (args: pulumi.ResourceTransformationArgs): pulumi.ResourceTransformationResult | undefined => {
        if (!args.type.startsWith("kubernetes:") || args.opts.id !== undefined) return undefined;
        if (args.type === HELM_RELEASE)
            return settings.skipAwait ? { props: { ...args.props, ...RELEASE_WITHOUT_WAITS }, opts: args.opts } : undefined;
        // A Kubernetes object says its apiVersion and kind; the provider's components (yaml, charts) do not.
        if (args.props.apiVersion === undefined || args.props.kind === undefined) return undefined;
        return { props: { ...args.props, metadata: annotated(args.props.metadata, added) }, opts: args.opts };
    };
}
