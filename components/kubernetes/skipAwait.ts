import * as pulumi from "@pulumi/pulumi";

/** The Kubernetes provider's documented annotation: create or update the object without waiting for it to be ready. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
/**
 * Helm waits for its objects unless told to skip, always for an atomic install, and always for its hooks (Jobs, which
 * need pods): without nodes a release skips all three. The provider reads an install's hooks from `disableWebhooks`
 * and an upgrade's from `disableCRDHooks`.
 */
const RELEASE_WITHOUT_WAITS = { skipAwait: true, atomic: false, disableWebhooks: true, disableCRDHooks: true };

type Annotations = Record<string, pulumi.Input<string>>;

const withSkipAwait = (annotations: Annotations | undefined): Annotations => ({ ...annotations, [SKIP_AWAIT_ANNOTATION]: "true" });

/** An input whose fields can be read now: not an output or a promise. */
const isPlain = <T>(input: pulumi.Input<T> | undefined): input is T | undefined =>
    !pulumi.Output.isInstance(input) && !(input instanceof Promise);

/** Adds the annotation without turning a plain object's known fields (its name) into one unknown output. */
function annotated(metadata: pulumi.Input<Record<string, unknown>> | undefined): pulumi.Input<Record<string, unknown>> {
    if (!isPlain(metadata))
        return pulumi.output(metadata).apply((m) => ({ ...m, annotations: withSkipAwait(m.annotations as Annotations) }));
    const annotations = metadata?.annotations as pulumi.Input<Annotations> | undefined;
    return {
        ...metadata,
        annotations: isPlain(annotations) ? withSkipAwait(annotations) : pulumi.output(annotations).apply(withSkipAwait),
    };
}

/**
 * A stack transformation (`cellplane:kubernetesSkipAwait`) for a control plane without nodes, where no pod ever
 * becomes ready: every Kubernetes object carries the provider's skip-await annotation, and Helm releases wait for
 * nothing; reads are left alone. A transformation, not
 * a transform: it runs in the program, where the engine's transform callbacks end the program with an unhandled
 * rejection on this engine.
 */
export function skipKubernetesAwait(args: pulumi.ResourceTransformationArgs): pulumi.ResourceTransformationResult | undefined {
    if (!args.type.startsWith("kubernetes:") || args.opts.id !== undefined) return undefined;
    if (args.type === HELM_RELEASE) return { props: { ...args.props, ...RELEASE_WITHOUT_WAITS }, opts: args.opts };
    // A Kubernetes object says its apiVersion and kind; the provider's components (yaml, charts) do not.
    if (args.props.apiVersion === undefined || args.props.kind === undefined) return undefined;
    return { props: { ...args.props, metadata: annotated(args.props.metadata) }, opts: args.opts };
}
