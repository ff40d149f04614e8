/** Dynamic provider of `RoutingRevision` (`revision.ts`): a serial that grows by one whenever the digest changes. */
import type * as pulumi from "@pulumi/pulumi";

export interface RevisionProps {
    digest: string;
    serial?: number;
}

export async function check(_olds: RevisionProps, news: RevisionProps): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: news };
}

export async function create(inputs: RevisionProps): Promise<pulumi.dynamic.CreateResult> {
    return { id: "revision", outs: { digest: inputs.digest, serial: 1 } };
}

export async function read(id: string, props: RevisionProps): Promise<pulumi.dynamic.ReadResult> {
    return { id, props };
}

export async function diff(_id: string, olds: RevisionProps, news: RevisionProps): Promise<pulumi.dynamic.DiffResult> {
    return { changes: olds.digest !== news.digest, replaces: [] };
}

export async function update(_id: string, olds: RevisionProps, news: RevisionProps): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: { digest: news.digest, serial: (olds.serial ?? 0) + 1 } };
}

export async function remove(): Promise<void> {}

export { remove as delete };
