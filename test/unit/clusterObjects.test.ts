import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { clusterObjects, PATCH_FORCE_ANNOTATION, SKIP_AWAIT_ANNOTATION } from "../../components/kubernetes/clusterObjects";

/** A Kubernetes object's inputs carry its apiVersion and kind, as the SDK's classes set them; they come back out. */
const transform = (type: string, props: pulumi.Inputs, opts: pulumi.ResourceOptions = {}, settings = { skipAwait: true }) => {
    const [apiVersion, kind] = type.replace(/^kubernetes:/, "").split(":");
    const object = type.startsWith("kubernetes:") && !type.includes("yaml") ? { apiVersion, kind } : {};
    const result = clusterObjects(settings)({
        type,
        name: "x",
        props: { ...object, ...props },
        opts,
        resource: {} as pulumi.Resource,
    });
    if (!result) return result;
    const { apiVersion: _version, kind: _kind, ...rest } = result.props;
    return { ...result, props: rest };
};

const resolved = <T>(input: pulumi.Input<T>): Promise<T> =>
    new Promise((resolve) => pulumi.output(input).apply((value) => resolve(value as T)));

/** What every object gets with `kubernetesSkipAwait`: both annotations. */
const ADDED = { [PATCH_FORCE_ANNOTATION]: "true", [SKIP_AWAIT_ANNOTATION]: "true" };

describe("the cell's Kubernetes objects, as the stack transformation applies them", () => {
    test("reclaim their fields at every up; skip the readiness await and Helm's waits only with kubernetesSkipAwait", () => {
        const normal = { skipAwait: false };
        const service = transform("kubernetes:core/v1:Service", { metadata: { name: "api" } }, {}, normal)!;
        expect(service.props.metadata).toEqual({ name: "api", annotations: { [PATCH_FORCE_ANNOTATION]: "true" } });
        expect(transform("kubernetes:helm.sh/v3:Release", { chart: "seaweedfs", atomic: true }, {}, normal)).toBeUndefined();
    });

    test("adds the provider's annotation to any object's own annotations, and keeps a plain name plain", () => {
        fc.assert(
            fc.property(
                fc.dictionary(fc.stringMatching(/^[a-z0-9./-]{1,30}$/), fc.string()),
                fc.string({ minLength: 1 }),
                (annotations, name) => {
                    const result = transform("kubernetes:apps/v1:StatefulSet", { metadata: { name, annotations }, spec: { replicas: 3 } })!;
                    expect(result.props.metadata).toEqual({ name, annotations: { ...annotations, ...ADDED } });
                    expect(result.props.spec).toEqual({ replicas: 3 });
                },
            ),
        );
    });

    test("annotates metadata given as an output, or annotations given as one, once they resolve", async () => {
        const fromOutput = transform("kubernetes:core/v1:Service", { metadata: pulumi.output({ name: "api", annotations: { a: "1" } }) })!;
        expect(await resolved(fromOutput.props.metadata)).toEqual({
            name: "api",
            annotations: { a: "1", ...ADDED },
        });
        const outputAnnotations = transform("kubernetes:core/v1:Service", {
            metadata: { name: "api", annotations: pulumi.output({ a: "1" }) },
        })!;
        expect(outputAnnotations.props.metadata.name).toBe("api");
        expect(await resolved(outputAnnotations.props.metadata.annotations)).toEqual({ a: "1", ...ADDED });
        expect(transform("kubernetes:core/v1:Namespace", {})!.props.metadata).toEqual({ annotations: { ...ADDED } });
    });

    test("makes a Helm release wait for nothing: no wait, not atomic (whose install waits regardless), no hooks (Jobs)", () => {
        const release = transform("kubernetes:helm.sh/v3:Release", { chart: "seaweedfs", atomic: true })!;
        expect(release.props).toEqual({ chart: "seaweedfs", atomic: false, skipAwait: true, disableWebhooks: true, disableCRDHooks: true });
    });

    test("leaves components, reads and other providers' resources alone", () => {
        expect(
            transform("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", {}, { id: "kafkas.kafka.strimzi.io" }),
        ).toBeUndefined();
        expect(transform("kubernetes:yaml/v2:ConfigGroup", { files: ["a.yaml"] })).toBeUndefined();
        expect(transform("random:index/randomPassword:RandomPassword", { length: 32 })).toBeUndefined();
        expect(transform("pulumi:providers:kubernetes", { context: "x" })).toBeUndefined();
    });
});
