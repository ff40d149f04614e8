/**
 * Runs the stack program offline: Pulumi mocks stand in for the engine and the clouds, so the whole resource
 * graph of any stack can be built, inspected and checked on a machine without cloud credentials. Tests, the
 * policy harness and `npm run synth` use it.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { verifyKubernetesCells } from "../components/kubernetes/clusterRegion";
import { stackFileConfig, stackNamesIn } from "../model/stackFiles";
import { loadStackConfig } from "../stacks/load";
import { cellplane } from "../stacks/program";
import type { ResourceProps } from "../model/resourceProps";

/** A resource the program registered, with the inputs it gave and where it sits in the tree. */
export interface MockedResource {
    urn: string;
    type: string;
    name: string;
    /** Undefined for components, which have no id. */
    id?: string;
    /** Read from the cloud (`Resource.get`), not managed: the engine hands reads to no policy. */
    read: boolean;
    inputs: ResourceProps;
    /** Outputs as the engine would report them after `up`: the inputs and what the cloud computed; a component's registered outputs. */
    state: ResourceProps;
    /** URN of the parent resource. */
    parent?: string;
    /** Created with the `protect` option. */
    protect: boolean;
    /** Provider reference (`urn::id`) for custom resources that name one explicitly or inherit one. */
    provider?: string;
    /** Types of the ancestors, outermost first (the stack excluded). */
    ancestors: string[];
    /**
     * The URN the engine gives it, whose type names every ancestor's (the mocks' `urn` names the parent's only):
     * what `pulumi stack export`, `--target` and the policy reports show.
     */
    engineUrn: string;
    /** Names of the resources it was created after (its `dependsOn` option). */
    dependsOn: string[];
    /** Name of the enclosing `Cell`, if any. */
    cell?: string;
}

/** The stack's outputs as `pulumi stack output` shows them. */
export type StackOutputs = pulumi.Unwrap<ReturnType<typeof cellplane>>;

export interface ProgramRun {
    resources: MockedResource[];
    outputs: StackOutputs;
    /** The program's return value before Pulumi resolved it (to inspect Output secrecy). */
    program: ReturnType<typeof cellplane>;
}

/** The stacks checked in as `Pulumi.<stack>.yaml`. */
export function stackNames(): string[] {
    return stackNamesIn(path.join(__dirname, ".."));
}

/** Reads `Pulumi.<stack>.yaml` as the flat `cellplane:*` config map Pulumi would hand the program. */
export function stackConfig(stack: string): Record<string, unknown> {
    const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`stack "${stack}": ${file} does not exist. Stacks: ${stackNames().join(", ")}`);
    return stackFileConfig(parseYaml(fs.readFileSync(file, "utf8")).config);
}

/** The account the offline AWS provider answers as (AWS's documentation example account). */
export const OFFLINE_AWS_ACCOUNT = "123456789012";
/** Every generated password starts with this, so tests can find one wherever it leaks. */
export const SECRET_MARKER = "secret-value-of-";

/** Values the clouds compute on create, for the outputs the program reads back. */
function computed(type: string, name: string, inputs: ResourceProps): Record<string, unknown> {
    switch (type) {
        case "aws:rds/instance:Instance":
            return { address: `${name}.c0ffee.${"rds.amazonaws.com"}`, port: 5432 };
        case "aws:msk/cluster:Cluster":
            return {
                bootstrapBrokersSaslIam: `b-1.${name}.kafka.amazonaws.com:9098,b-2.${name}.kafka.amazonaws.com:9098`,
                // As MSK names its clusters, so the ARNs of their topics and groups derive from it.
                arn: `arn:aws:kafka:eu-central-1:000000000000:cluster/${name}/00000000-0000-0000-0000-000000000000-1`,
            };
        case "aws:msk/configuration:Configuration":
            return { latestRevision: 1 };
        case "aws:eks/cluster:Cluster":
            return {
                name: inputs.name ?? name,
                endpoint: `https://${inputs.name ?? name}.eks.amazonaws.com`,
                certificateAuthority: { data: "Y2VydA==" },
            };
        case "aws:s3/bucket:Bucket":
            return { bucket: name };
        case "aws:kms/key:Key":
            return { keyId: `${name}-key-id` };
        case "aws:acm/certificate:Certificate":
            // ACM asks for one CNAME per name it certifies.
            return {
                arn: `arn:aws:acm:eu-central-1:${OFFLINE_AWS_ACCOUNT}:certificate/${name}`,
                domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].map((domainName: string) => ({
                    domainName,
                    resourceRecordName: `_0ffee.${domainName}.`,
                    resourceRecordType: "CNAME",
                    resourceRecordValue: `_c0ffee.acm-validations.aws.`,
                })),
            };
        case "aws:route53/record:Record":
            return { fqdn: inputs.name };
        case "kubernetes:networking.k8s.io/v1:Ingress":
            return { status: { loadBalancer: { ingress: [{ hostname: `k8s-${name}.eu-central-1.elb.amazonaws.com` }] } } };
        case "azure-native:network:PublicIPAddress":
            return { ipAddress: "203.0.113.10", name };
        case "azure-native:dbforpostgresql:Server":
            return { fullyQualifiedDomainName: `${name}.postgres.database.azure.com` };
        case "azure-native:keyvault:Key":
            return { keyUriWithVersion: `https://${inputs.vaultName}.vault.azure.net/keys/${inputs.keyName}/0123456789abcdef` };
        case "azure-native:containerservice:ManagedCluster":
            return { oidcIssuerProfile: { enabled: true, issuerURL: `https://${inputs.location}.oic.prod-aks.azure.com/${name}/` } };
        case "azure-native:managedidentity:UserAssignedIdentity":
            return { principalId: `${name}-principal`, clientId: `${name}-client` };
        case "azure-native:storage:StorageAccount":
            return { primaryEndpoints: { blob: `https://${inputs.accountName}.blob.core.windows.net/` } };
        case "random:index/randomPassword:RandomPassword":
            return { result: `${SECRET_MARKER}${name}` };
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: `${SECRET_MARKER}${name}` };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${name}\n-----END CERTIFICATE REQUEST-----\n` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n` };
        case "pulumi-nodejs:dynamic/cellplane:LocalObject":
            if (inputs.kind === "secret") return { value: `${SECRET_MARKER}${name}`, intact: true };
            if (inputs.kind === "certificateAuthority" || inputs.kind === "serverCertificate")
                return {
                    value: JSON.stringify({
                        cert: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`,
                        key: `${SECRET_MARKER}${name}`,
                    }),
                    intact: true,
                };
            return { intact: true };
        case "pulumi-nodejs:dynamic/cellplane:RoutingRevision":
            return { serial: 1 };
        case "random:index/randomString:RandomString":
            // Its own per resource, as a real one is: names built from it stay distinct.
            return {
                result: createHash("sha256")
                    .update(name)
                    .digest("hex")
                    .slice(0, inputs.length ?? 6),
            };
        default:
            return {};
    }
}

/**
 * A region's zones as one account sees them. us-east-1 lists use1-az3 first, where EKS cannot run, and us-west-1 has
 * two zones, as in AWS; elsewhere three. The invoke's `state`, `excludeZoneIds` and opt-in filter apply.
 */
function availabilityZones(region: string | undefined, inputs: ResourceProps) {
    const ids: Record<string, string[]> = {
        "us-east-1": ["use1-az3", "use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az5"],
        "us-west-1": ["usw1-az1", "usw1-az3"],
    };
    const zoneIds = ids[region ?? ""] ?? ["az1", "az2", "az3"].map((az) => `${region}-${az}`);
    const zones = zoneIds
        .map((zoneId, i) => ({ zoneId, name: `${region}${"abcdef"[i]}` }))
        .filter((z) => !(inputs.excludeZoneIds ?? []).includes(z.zoneId));
    return { id: region, names: zones.map((z) => z.name), zoneIds: zones.map((z) => z.zoneId), groupNames: [region] };
}

/** Resources whose name input is not called after their type. */
const AZURE_NAME_INPUTS: Record<string, string> = { NamespaceAuthorizationRule: "authorizationRuleName", StorageAccount: "accountName" };

/** The `name` every Azure resource reports, from its `xxxName` input as the real provider does. */
function azureName(type: string, name: string, inputs: ResourceProps): string {
    const resource = type.split(":")[2] ?? "";
    const key = `${resource[0].toLowerCase()}${resource.slice(1)}Name`;
    return inputs[key] ?? inputs[AZURE_NAME_INPUTS[resource]] ?? name;
}

/**
 * Runs a Cellplane stack program under Pulumi mocks with the given `cellplane:*` config (keys without
 * namespace) and returns every registered resource with its inputs, ancestry and provider.
 */
export async function runStack(config: Record<string, unknown>, stack = "test"): Promise<ProgramRun> {
    const registrations = new Map<
        string,
        { id: string; read: boolean; custom: boolean; inputs: ResourceProps; state: ResourceProps; provider?: string }
    >();
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const state = {
                    ...args.inputs,
                    name: args.type.startsWith("azure-native:")
                        ? azureName(args.type, args.name, args.inputs)
                        : (args.inputs.name ?? args.name),
                    arn: `arn:aws:mock:::${args.name}`,
                    // A read object is named by its id, as the provider reads it.
                    ...(args.type.startsWith("kubernetes:") ? { metadata: { name: args.id ?? args.name, ...args.inputs.metadata } } : {}),
                    ...computed(args.type, args.name, args.inputs),
                };
                // Providers get their own name as id so references read `urn::<name>`; an S3 bucket's id is its name.
                const id = args.id
                    ? args.id
                    : args.type.startsWith("pulumi:providers:")
                      ? args.name
                      : args.type === "aws:s3/bucket:Bucket"
                        ? state.bucket
                        : `${args.name}-id`;
                registrations.set(`${args.type}::${args.name}`, {
                    id,
                    read: Boolean(args.id),
                    custom: args.custom ?? true,
                    inputs: args.inputs,
                    state,
                    provider: args.provider,
                });
                return { id, state };
            },
            call(args) {
                if (args.token === "azure-native:authorization:getClientConfig") {
                    return {
                        tenantId: "00000000-0000-0000-0000-00000000cafe",
                        subscriptionId: "00000000-0000-0000-0000-0000000000ab",
                        clientId: "offline",
                        objectId: "offline",
                    };
                }
                if (args.token === "azure-native:containerservice:listManagedClusterUserCredentials") {
                    return {
                        kubeconfigs: [{ name: "clusterUser", value: Buffer.from("apiVersion: v1\nkind: Config\n").toString("base64") }],
                    };
                }
                if (args.token === "azure-native:features:getSubscriptionFeatureRegistration") {
                    return { properties: { state: "Registered", featureName: args.inputs.featureName } };
                }
                if (args.token === "azure-native:eventhub:listNamespaceKeys") {
                    const { namespaceName, authorizationRuleName } = args.inputs;
                    return {
                        primaryConnectionString: `Endpoint=sb://${namespaceName}.servicebus.windows.net/;SharedAccessKeyName=${authorizationRuleName};SharedAccessKey=${SECRET_MARKER}${authorizationRuleName}`,
                    };
                }
                if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") {
                    return {
                        accountId: OFFLINE_AWS_ACCOUNT,
                        arn: `arn:aws:iam::${OFFLINE_AWS_ACCOUNT}:user/offline`,
                        userId: "offline",
                        id: OFFLINE_AWS_ACCOUNT,
                    };
                }
                if (args.token === "aws:route53/getZone:getZone") {
                    // The public hosted zone of the stack's cellplane:dnsZone, as Route 53 answers for it.
                    return { zoneId: "Z0OFFLINE0ZONE", name: args.inputs.name, privateZone: false };
                }
                if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones") {
                    const providerName = args.provider?.split("::").pop() ?? "";
                    const region = registrations.get(`pulumi:providers:aws::${providerName}`)?.inputs.region;
                    return availabilityZones(region, args.inputs);
                }
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        "cellplane",
        stack,
        false,
    );
    pulumi.runtime.setAllConfig(
        Object.fromEntries(
            Object.entries(config)
                .filter(([, value]) => value !== undefined)
                // Keys of another namespace (`aws:profile`) are the stack's settings of that provider.
                .map(([key, value]) => [
                    key.includes(":") ? key : `cellplane:${key}`,
                    typeof value === "string" ? value : JSON.stringify(value),
                ]),
        ),
    );

    // As in stacks/index.ts: validation comes before the first resource.
    const validated = loadStackConfig();
    await verifyKubernetesCells(validated.cells, () => undefined);
    let program: ReturnType<typeof cellplane> | undefined;
    const parents = new Map<string, { type: string; name: string } | undefined>();
    const protectedResources = new Set<string>();
    const dependencies = new Map<string, string[]>();
    const outputs = await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            const parent = args.opts.parent as (pulumi.Resource & { __pulumiType: string; __name: string }) | undefined;
            parents.set(`${args.type}::${args.name}`, parent ? { type: parent.__pulumiType, name: parent.__name } : undefined);
            if (args.opts.protect) protectedResources.add(`${args.type}::${args.name}`);
            const dependsOn = [args.opts.dependsOn ?? []].flat() as unknown as { __name?: string }[];
            dependencies.set(
                `${args.type}::${args.name}`,
                dependsOn.flatMap((d) => (d?.__name ? [d.__name] : [])),
            );
            return undefined;
        });
        return (program = cellplane(validated));
    });
    // Wait until every registration, not just those the outputs depend on, has reached the mocks.
    await pulumi.runtime.disconnect();
    const cellOf = (type: string, name: string): string | undefined => {
        if (type === "cellplane:index:Cell") return name;
        const parent = parents.get(`${type}::${name}`);
        return parent ? cellOf(parent.type, parent.name) : undefined;
    };
    const qualifiedTypeOf = (type: string, name: string): string => {
        const parent = parents.get(`${type}::${name}`);
        return parent && parent.type !== "pulumi:pulumi:Stack" ? `${qualifiedTypeOf(parent.type, parent.name)}$${type}` : type;
    };

    // The mock monitor keeps every registration; the engine's own monitor has no such list.
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        getRegisteredResources(): Map<string, { state?: { toJavaScript?(): ResourceProps } }>;
    };
    const registered = monitor.getRegisteredResources();
    const urns = [...registered.keys()];
    const urnOf = new Map(
        urns.map((urn) => {
            const [, , qualifiedType, name] = urn.split("::");
            return [`${qualifiedType.split("$").pop()}::${name}`, urn];
        }),
    );
    const resources = urns.map((urn): MockedResource => {
        const [, , qualifiedType, name] = urn.split("::");
        const chain = qualifiedType.split("$");
        const type = chain[chain.length - 1];
        const key = `${type}::${name}`;
        const parent = parents.get(key);
        const registration = registrations.get(key);
        return {
            urn,
            type,
            name,
            id: registration?.id,
            read: registration?.read ?? false,
            inputs: registration?.inputs ?? {},
            // A component's outputs reach the monitor through registerOutputs, as a protobuf Struct.
            state: registration?.custom === false ? (registered.get(urn)?.state?.toJavaScript?.() ?? {}) : (registration?.state ?? {}),
            provider: registration?.provider,
            parent: parent && urnOf.get(`${parent.type}::${parent.name}`),
            protect: protectedResources.has(key),
            ancestors: chain.slice(0, -1).filter((t) => t !== "pulumi:pulumi:Stack"),
            engineUrn: `urn:pulumi:${stack}::cellplane::${qualifiedTypeOf(type, name)}::${name}`,
            dependsOn: dependencies.get(key) ?? [],
            cell: cellOf(type, name),
        };
    });
    return { resources, outputs: outputs as StackOutputs, program: program! };
}

/** A stack run with the config of one checked-in stack file. */
export function runStackFile(stack: string, overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    return runStack({ ...stackConfig(stack), ...overrides }, stack);
}
