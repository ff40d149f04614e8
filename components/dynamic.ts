import type * as pulumi from "@pulumi/pulumi";

/**
 * A dynamic provider whose methods live in a TypeScript module of this repo. Pulumi serializes the provider into
 * the state and runs it in a process of its own; serializing an implementation's whole import graph is fragile
 * (native functions, client libraries), so the serialized provider only captures the module's path and loads it
 * with tsx when the engine calls it.
 */
export function moduleProvider(modulePath: string): pulumi.dynamic.ResourceProvider {
    // A plain require inside the serialized closure: Pulumi's serializer cannot capture an import binding.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = (): Required<pulumi.dynamic.ResourceProvider> => require("tsx/cjs/api").require(modulePath, modulePath);
    return {
        check: (olds, news) => load().check(olds, news),
        create: (inputs) => load().create(inputs),
        read: (id, props) => load().read(id, props),
        diff: (id, olds, news) => load().diff(id, olds, news),
        update: (id, olds, news) => load().update(id, olds, news),
        delete: (id, props) => load().delete(id, props),
    };
}
