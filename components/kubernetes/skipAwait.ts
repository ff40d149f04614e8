import * as pulumi from "@pulumi/pulumi";

/** The Kubernetes provider's documented annotation: create or update the object without waiting for it to be ready. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

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
 * A stack transform (`cellplane:kubernetesSkipAwait`) for a control plane without nodes, where no pod ever becomes
 * ready: every Kubernetes object carries the provider's skip-await annotation, and Helm releases skip Helm's wait
 * (an atomic install would wait regardless, so they are not atomic).
 */
export function skipKubernetesAwait(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (!args.custom || !args.type.startsWith("kubernetes:")) return undefined;
    if (args.type === HELM_RELEASE) return { props: { ...args.props, skipAwait: true, atomic: false }, opts: args.opts };
    return { props: { ...args.props, metadata: annotated(args.props.metadata) }, opts: args.opts };
}
