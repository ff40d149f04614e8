import * as fc from "fast-check";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { SIGNATURE_HEADER, signWebhook, webhookSignatureHolds } from "../../../model/webhook";
import { DRIFT_EXIT, DriftReport, DriftedResource, exitCodeOf, StackDrift } from "../../../scripts/ops/drift";
import { causesOf } from "../../../scripts/ops/driftCauses";
import { classifyStack, classOfChange, GONE } from "../../../scripts/ops/driftClasses";
import { globMatches, IgnoreRule, loadIgnoreRules } from "../../../scripts/ops/driftIgnore";
import { driftMetrics, sendDriftWebhook } from "../../../scripts/ops/driftSignals";

const change = (property: string, old: unknown = 1, next: unknown = 2) => ({ property, old, new: next });
const classOf = (type: string, property: string, next: unknown = "x") => classOfChange(type, change(property, "y", next)).class;

describe("drift classes", () => {
    test.each([
        ["aws:s3/bucketV2:BucketV2", "region"],
        ["pulumi:providers:aws", "region"],
        ["azure-native:resources:ResourceGroup", "location"],
        ["aws:msk/cluster:Cluster", "brokerNodeGroupInfo.availabilityZones[1]"],
        ["aws:s3/bucketReplicationConfig:BucketReplicationConfig", "rules[0].destination.bucket"],
        ["azure-native:dbforpostgresql:Server", "backup.geoRedundantBackup"],
        ["aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "peerVpcId"],
        ["aws:rds/instance:Instance", "publiclyAccessible"],
        ["azure-native:storage:StorageAccount", "allowBlobPublicAccess"],
        ["aws:ec2/securityGroup:SecurityGroup", "ingress[0].cidrBlocks[0]"],
        ["aws:rds/instance:Instance", "storageEncrypted"],
        ["aws:rds/instance:Instance", "kmsKeyId"],
        ["azure-native:storage:StorageAccount", "minimumTlsVersion"],
        ["aws:iam/role:Role", "permissionsBoundary"],
        ["pulumi-nodejs:dynamic/cellplane:LocalObject", "observed.encrypted"],
        ["kubernetes:core/v1:Namespace", "metadata.labels.cellplane.io/residency"],
    ])("%s %s is residency drift", (type, property) => {
        expect(classOf(type, property)).toBe("residency");
    });

    test("a storage SKU that copies data to a paired region is residency drift; a local one is not", () => {
        expect(classOf("azure-native:storage:StorageAccount", "sku.name", "Standard_RAGZRS")).toBe("residency");
        expect(classOf("azure-native:storage:StorageAccount", "sku.name", "Standard_GRS")).toBe("residency");
        expect(classOf("azure-native:storage:StorageAccount", "sku.name", "Standard_ZRS")).toBe("runtime");
    });

    test("any change of a guardrail is residency drift, whatever the property", () => {
        expect(classOf("kubernetes:networking.k8s.io/v1:NetworkPolicy", "spec.podSelector")).toBe("residency");
        expect(classOf("azure-native:authorization:PolicyAssignment", "enforcementMode")).toBe("residency");
    });

    test.each([
        ["tags.team", "cosmetic"],
        ["tagsAll.cost-center", "cosmetic"],
        ["metadata.annotations.note", "cosmetic"],
        ["description", "cosmetic"],
        ["observed.tags.team", "cosmetic"],
        ["running", "runtime"],
        ["intact", "runtime"],
        ["spec.replicas", "runtime"],
        ["instanceClass", "runtime"],
        ["publicKeyPem", "runtime"],
    ])("%s is %s drift", (property, expected) => {
        expect(classOf("some:type:Thing", property)).toBe(expected);
    });

    test("every property that names encryption, a region or public access is residency drift, wherever it sits in the path", () => {
        const segment = fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,8}$/);
        fc.assert(
            fc.property(
                fc.array(segment, { maxLength: 3 }),
                fc.constantFrom("encryption", "kmsKeyArn", "region", "location", "publicAccess", "replicationFactorPolicy"),
                fc.array(segment, { maxLength: 2 }),
                (before, word, after) => classOf("some:type:Thing", [...before, word, ...after].join(".")) === "residency",
            ),
        );
    });
});

describe("ignore rules", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-ignore-"));
    const fileWith = (rules: unknown) => {
        const file = path.join(dir, `${Math.random()}.json`);
        fs.writeFileSync(file, JSON.stringify(rules));
        return file;
    };
    const valid = { property: "tags.*", reason: "the FinOps tool adds cost tags", owner: "finops", expires: "2027-06-30" };
    const today = new Date("2026-11-27T12:00:00Z");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("a valid file gives its rules, in order, with their index", () => {
        expect(loadIgnoreRules(fileWith([valid, { ...valid, property: undefined, type: "*Server" }]), today)).toEqual([
            { ...valid, index: 0 },
            { ...valid, property: undefined, type: "*Server", index: 1 },
        ]);
    });

    test("an expired rule, a rule without a reason or a glob, and a file that is no array refuse the whole check, naming each", () => {
        const refused = (rules: unknown) => () => loadIgnoreRules(fileWith(rules), today);
        expect(refused([valid, { ...valid, expires: "2026-11-26" }])).toThrow(
            /\[1\] \(owner finops\) expired on 2026-11-26: fix the drift, or renew the rule with a new date/,
        );
        expect(refused([{ ...valid, reason: "tags" }])).toThrow(/\[0\]\.reason: must say why this drift is expected/);
        expect(refused([{ reason: valid.reason, owner: "finops", expires: "2027-01-01" }])).toThrow(
            /\[0\]: names nothing to ignore: give a urn, type or property glob/,
        );
        expect(refused([{ ...valid, approver: "x" }])).toThrow(/\[0\]: Unrecognized key: "approver"/);
        expect(refused({ rules: [valid] })).toThrow(/must be a JSON array of rules/);
        expect(() => loadIgnoreRules(path.join(dir, "none.json"), today)).toThrow(/none.json: no such file/);
    });

    test("a glob without wildcards matches only itself; `*` anything; other characters are literal", () => {
        fc.assert(
            fc.property(fc.string(), fc.string(), (glob, value) => {
                const literal = glob.replace(/[*?]/g, "");
                expect(globMatches(literal, value)).toBe(literal === value);
                expect(globMatches(`*${literal}*`, `${value}${literal}${value}`)).toBe(true);
            }),
        );
        expect(globMatches("urn:pulumi:*::local-us-*", "urn:pulumi:e2e::cellplane::x$y::local-us-kafka-server")).toBe(true);
        expect(globMatches("tags.?eam", "tags.team")).toBe(true);
        expect(globMatches("a.b", "aXb")).toBe(false);
    });
});

const urnOf = (name: string, type = "pulumi-nodejs:dynamic/cellplane:LocalObject") =>
    `urn:pulumi:e2e::cellplane::cellplane:index:Cell$${type}::${name}`;
const resource = (name: string, changes: DriftedResource["changes"], over: Partial<DriftedResource> = {}): DriftedResource => ({
    urn: urnOf(name),
    name,
    type: "pulumi-nodejs:dynamic/cellplane:LocalObject",
    op: "update",
    changes,
    ...over,
});
const stackOf = (drifted: DriftedResource[], over: Partial<StackDrift> = {}): StackDrift => ({
    stack: "e2e",
    status: drifted.length > 0 ? "drifted" : "clean",
    checked: 50,
    drifted,
    policies: { evaluated: 44, resources: 50, findings: [] },
    seconds: 1.5,
    ...over,
});
const rule = (fields: Partial<IgnoreRule>, index = 0): IgnoreRule => ({
    reason: "expected during the migration",
    owner: "ops",
    expires: "2099-01-01",
    index,
    ...fields,
});

describe("a stack's drift classified", () => {
    const bucket = resource("local-eu-object-store-exports", [change("intact", true, false), change("observed.encrypted", true, false)]);
    const tags = resource("local-eu-app-ingest", [change("tags.team", "a", "b"), change("running", true, false)]);
    const gone = resource("local-us-object-store-exports", [], { op: "delete" });

    test("a resource takes the worst class of its changes; one that is gone is runtime", () => {
        const classified = classifyStack(stackOf([bucket, tags, gone]), []);
        expect(classified.drifted.map((r) => [r.name, r.class])).toEqual([
            ["local-eu-object-store-exports", "residency"],
            ["local-eu-app-ingest", "runtime"],
            ["local-us-object-store-exports", "runtime"],
        ]);
        expect(classified.drifted[0].changes.map((c) => [c.property, c.class, c.concern])).toEqual([
            ["intact", "runtime", "restorable"],
            ["observed.encrypted", "residency", "encryption"],
        ]);
        expect(classified.drifted[2].changes).toEqual([
            { property: GONE, old: "present", new: "gone", class: "runtime", concern: "restorable" },
        ]);
    });

    test("an ignore rule silences only what it names, and a stack whose drift is all ignored is clean", () => {
        const classified = classifyStack(stackOf([tags, gone]), [rule({ property: "tags.*" }), rule({ urn: "*local-us-*" }, 1)]);
        expect(classified.drifted.map((r) => [r.name, r.changes.map((c) => c.property)])).toEqual([["local-eu-app-ingest", ["running"]]]);
        expect(classified.ignored.map((r) => r.name)).toEqual(["local-us-object-store-exports"]);
        expect(classified.status).toBe("drifted");
        const quiet = classifyStack(stackOf([tags]), [rule({ urn: "*app-ingest" })]);
        expect(quiet).toMatchObject({ status: "clean", drifted: [] });
        expect(quiet.ignored[0].ignored.map((c) => c.rule)).toEqual([
            "ignore rule [0] of ops: expected during the migration",
            "ignore rule [0] of ops: expected during the migration",
        ]);
    });

    test("a rule that names a property does not silence a resource that is gone", () => {
        expect(classifyStack(stackOf([gone]), [rule({ property: "*" })]).drifted.map((r) => r.name)).toEqual([
            "local-us-object-store-exports",
        ]);
    });

    test("residency drift is never ignored: the rule is named as refused", () => {
        const classified = classifyStack(stackOf([bucket]), [rule({ property: "observed.*", owner: "dev" })]);
        expect(classified.drifted[0].changes.map((c) => c.property)).toEqual(["intact", "observed.encrypted"]);
        expect(classified.refusedIgnores).toEqual([
            "ignore rule [0] of dev: expected during the migration matches residency drift (encryption) of local-eu-object-store-exports observed.encrypted, which is never ignored",
        ]);
    });

    test("for any drift and any rules, each change is kept or ignored exactly once, and no residency change is ignored", () => {
        const property = fc.constantFrom("intact", "running", "tags.team", "observed.encrypted", "region", "spec.replicas", "description");
        const arbitraryResource = fc.record({
            name: fc.constantFrom("local-eu-a", "local-us-b", "local-eu-c"),
            op: fc.constantFrom("update" as const, "delete" as const),
            changes: fc.uniqueArray(property, { maxLength: 4 }).map((ps) => ps.map((p) => change(p))),
        });
        const arbitraryRule = fc.record({
            urn: fc.option(fc.constantFrom("*", "*local-eu-*", "*-b"), { nil: undefined }),
            property: fc.option(fc.constantFrom("*", "tags.*", "observed.*", "region", "intact"), { nil: undefined }),
        });
        fc.assert(
            fc.property(
                fc.uniqueArray(arbitraryResource, { selector: (r) => r.name }),
                fc.array(arbitraryRule, { maxLength: 3 }),
                (drifted, rules) => {
                    const input = drifted.map((r) => resource(r.name, r.op === "delete" ? [] : r.changes, { op: r.op }));
                    const classified = classifyStack(
                        stackOf(input),
                        rules.map((r, i) => rule(r, i)),
                    );
                    const all = [...classified.drifted, ...classified.ignored];
                    for (const r of input) {
                        const out = all.filter((c) => c.name === r.name);
                        expect(out).toHaveLength(1);
                        const seen = [...out[0].changes, ...out[0].ignored].map((c) => c.property).sort();
                        expect(seen).toEqual(r.op === "delete" ? [GONE] : r.changes.map((c) => c.property).sort());
                        expect(out[0].ignored.filter((c) => c.class === "residency")).toEqual([]);
                    }
                    expect(classified.status).toBe(classified.drifted.length > 0 ? "drifted" : "clean");
                },
            ),
        );
    });

    test("mandatory findings over the live state keep the stack drifted, with the class of their policy", () => {
        const finding = {
            policy: "local-bucket-encrypted",
            level: "mandatory" as const,
            status: "violation" as const,
            resource: "b",
            urn: "u",
            message: "m",
        };
        const advisory = { ...finding, policy: "kafka-replication-factor", level: "advisory" as const };
        const classified = classifyStack(stackOf([], { policies: { evaluated: 44, resources: 50, findings: [finding, advisory] } }), []);
        expect(classified.status).toBe("drifted");
        expect(classified.policyFindings).toEqual([{ ...finding, class: "residency" }]);
    });
});

describe("drift across cells", () => {
    const killed = (cell: string) =>
        resource(`${cell}-kafka-server`, [change("running", true, false)], {
            cell,
            type: "pulumi-nodejs:dynamic/cellplane:LocalKafkaServer",
        });
    const unencrypted = (cell: string) =>
        resource(
            `${cell}-object-store-exports`,
            [change("observed.encrypted", true, false), change("spec.bucket", `${cell}-exports`, `${cell}-exports`)],
            { cell },
        );

    test("identical drift in several cells is one cause with every place, worst class first", () => {
        const eu = classifyStack(stackOf([killed("local-eu"), unencrypted("local-eu")]), []);
        const us = classifyStack({ ...stackOf([killed("local-us"), unencrypted("local-us")]), stack: "other" }, []);
        const causes = causesOf([eu, us]);
        expect(causes.map((c) => [c.class, c.part, c.where.map((w) => `${w.stack}/${w.cell}`)])).toEqual([
            ["residency", "{cell}-object-store-exports", ["e2e/local-eu", "other/local-us"]],
            ["runtime", "{cell}-kafka-server", ["e2e/local-eu", "other/local-us"]],
        ]);
        expect(causes[0].changes).toContainEqual({ property: "spec.bucket", old: "{cell}-exports", new: "{cell}-exports" });
    });

    test("the same part changed differently is two causes", () => {
        const other = resource("local-us-kafka-server", [change("running", true, "restarting")], {
            cell: "local-us",
            type: "pulumi-nodejs:dynamic/cellplane:LocalKafkaServer",
        });
        expect(causesOf([classifyStack(stackOf([killed("local-eu"), other]), [])])).toHaveLength(2);
    });
});

const reportOf = (stacks: StackDrift[], rules: IgnoreRule[] = []): DriftReport => {
    const classified = stacks.map((s) => classifyStack(s, rules));
    return { env: "local", checkedAt: "2026-11-27T10:00:00.000Z", seconds: 3, stacks: classified, causes: causesOf(classified) };
};

describe("drift's exit code", () => {
    const residency = stackOf([resource("b", [change("region", "eu-west-1", "us-east-1")])]);
    const runtime = stackOf([resource("s", [change("running", true, false)])]);
    const unreachable = stackOf([], { stack: "ghost", status: "unreachable", policies: undefined });

    test("residency drift outranks everything with --classify, and is plain drift without", () => {
        expect(exitCodeOf(reportOf([residency, unreachable]), { classify: true })).toBe(DRIFT_EXIT.residency);
        expect(exitCodeOf(reportOf([residency, unreachable]), { classify: false })).toBe(DRIFT_EXIT.error);
        expect(exitCodeOf(reportOf([residency]), { classify: false })).toBe(DRIFT_EXIT.drifted);
        expect(exitCodeOf(reportOf([runtime]), { classify: true })).toBe(DRIFT_EXIT.drifted);
        expect(exitCodeOf(reportOf([runtime], [rule({ property: "running" })]), { classify: true })).toBe(DRIFT_EXIT.clean);
    });
});

describe("drift as metrics", () => {
    const sampleLine = /^[a-z_]+\{(?:[a-z]+="(?:[^"\\\n]|\\["\\n])*",?)+\} -?\d+(\.\d+)?(e[+-]?\d+)?$/;

    test("gauges per stack and class, the time of the check, and whether it could run", () => {
        const text = driftMetrics(
            reportOf([
                stackOf([resource("b", [change("region")]), resource("s", [change("running")]), resource("t", [change("running")])]),
                stackOf([], { stack: "ghost", status: "unreachable", policies: undefined }),
            ]),
        );
        expect(text).toContain('cellplane_drift_resources{env="local",stack="e2e",class="residency"} 1\n');
        expect(text).toContain('cellplane_drift_resources{env="local",stack="e2e",class="runtime"} 2\n');
        expect(text).toContain('cellplane_drift_resources{env="local",stack="ghost",class="cosmetic"} 0\n');
        expect(text).toContain('cellplane_drift_check_success{env="local",stack="ghost"} 0\n');
        expect(text).toContain(
            `cellplane_drift_last_check_timestamp_seconds{env="local",stack="e2e"} ${Date.parse("2026-11-27T10:00:00Z") / 1000}\n`,
        );
        expect(text.endsWith("\n")).toBe(true);
    });

    test("every line is a comment or a well-formed sample, whatever the stack is called", () => {
        fc.assert(
            fc.property(fc.string(), (stack) => {
                const lines = driftMetrics(reportOf([stackOf([], { stack })]))
                    .trimEnd()
                    .split("\n");
                for (const line of lines) expect(line.startsWith("# ") || sampleLine.test(line)).toBe(true);
            }),
        );
    });
});

describe("the signed drift webhook", () => {
    const secret = "a-secret-of-32-characters-at-least";

    test("a signature holds for its body and secret only, and only within the tolerance", () => {
        fc.assert(
            fc.property(fc.string(), fc.string({ minLength: 1 }), fc.string({ minLength: 16 }), (body, other, otherSecret) => {
                const now = Date.now();
                const header = signWebhook(secret, body, now);
                expect(webhookSignatureHolds(secret, header, body, now)).toBe(true);
                expect(webhookSignatureHolds(secret, header, body + other, now)).toBe(false);
                if (otherSecret !== secret) expect(webhookSignatureHolds(otherSecret, header, body, now)).toBe(false);
                expect(webhookSignatureHolds(secret, header, body, now + 301_000)).toBe(false);
            }),
        );
        expect(webhookSignatureHolds(secret, "t=1,v1=zz", "{}")).toBe(false);
        expect(webhookSignatureHolds(secret, "", "{}")).toBe(false);
    });

    test("the report is POSTed signed; a 5xx is retried, a 4xx is not", async () => {
        const received: { status: number; signed: boolean; body: string }[] = [];
        let answers = [503, 200];
        const server = http.createServer((request, response) => {
            let body = "";
            request.on("data", (chunk) => (body += chunk));
            request.on("end", () => {
                const status = answers.shift() ?? 200;
                received.push({ status, body, signed: webhookSignatureHolds(secret, String(request.headers[SIGNATURE_HEADER]), body) });
                response.writeHead(status).end();
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/drift?token=hidden`;
        try {
            const report = reportOf([stackOf([resource("b", [change("region")])])]);
            expect(await sendDriftWebhook(url, secret, report, 10)).toBe(200);
            expect(received.map((r) => [r.status, r.signed])).toEqual([
                [503, true],
                [200, true],
            ]);
            expect(JSON.parse(received[1].body)).toEqual(JSON.parse(JSON.stringify(report)));

            answers = [400];
            await expect(sendDriftWebhook(url, secret, report, 10)).rejects.toThrow(
                /^the drift webhook at http:\/\/127\.0\.0\.1:\d+ answered 400: the report was not delivered$/,
            );
            expect(received).toHaveLength(3);
        } finally {
            server.close();
        }
    });
});
