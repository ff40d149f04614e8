/**
 * Stand-ins for the `random` and `tls` provider plugins in the API server test, which no registry here serves (the
 * Go proxy refuses both providers' modules, and the Terraform providers they bridge keep their code internal). They
 * do for real, on this machine, exactly what the kubernetes target asks of them: a random password of letters and
 * digits, an ECDSA P-256 key, a self-signed CA and a server certificate signed by it (OpenSSL). Anything else is
 * refused by name, so the program cannot come to lean on them unnoticed. Pulumi runs a plugin found on PATH
 * (`pulumi-resource-<name>`) before any installed one; the test puts these there.
 *
 * Usage: tsx standInProviders.ts random|tls <engine address>
 */
import { execFileSync } from "child_process";
import { generateKeyPairSync, randomInt } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CreateResult, DiffResult, Provider } from "@pulumi/pulumi/provider";
import { main } from "@pulumi/pulumi/provider";

type Props = Record<string, unknown>;
type Create = (inputs: Props) => Props;

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomPassword(inputs: Props): Props {
    const unsupported = Object.keys(inputs).filter((key) => !["length", "special"].includes(key));
    if (inputs.special !== false || unsupported.length > 0)
        throw new Error(
            `the stand-in RandomPassword makes letters and digits only (special: false); it was asked for ${JSON.stringify(inputs)}`,
        );
    const length = Number(inputs.length);
    return { result: Array.from({ length }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join("") };
}

function privateKey(inputs: Props): Props {
    if (inputs.algorithm !== "ECDSA" || inputs.ecdsaCurve !== "P256")
        throw new Error(`the stand-in PrivateKey makes ECDSA P256 keys only; it was asked for ${JSON.stringify(inputs)}`);
    const { privateKey: key, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    return {
        privateKeyPem: key.export({ type: "sec1", format: "pem" }),
        privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }),
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }),
    };
}

/** X.509 key usages as the tls provider names them, as OpenSSL's extension values. */
const USAGES: Record<string, { key?: string; extended?: string }> = {
    cert_signing: { key: "keyCertSign" },
    crl_signing: { key: "cRLSign" },
    digital_signature: { key: "digitalSignature" },
    key_encipherment: { key: "keyEncipherment" },
    server_auth: { extended: "serverAuth" },
};

function extensions(inputs: Props, dnsNames: string[]): string {
    const uses = (inputs.allowedUses as string[]).map((use) => {
        if (!USAGES[use]) throw new Error(`the stand-in tls provider does not know the use "${use}"`);
        return USAGES[use];
    });
    const list = (field: "key" | "extended") => uses.flatMap((u) => (u[field] ? [u[field]] : [])).join(", ");
    return [
        `basicConstraints = critical, CA:${inputs.isCaCertificate ? "TRUE" : "FALSE"}`,
        list("key") && `keyUsage = critical, ${list("key")}`,
        list("extended") && `extendedKeyUsage = ${list("extended")}`,
        dnsNames.length > 0 && `subjectAltName = ${dnsNames.map((name) => `DNS:${name}`).join(", ")}`,
    ]
        .filter(Boolean)
        .join("\n");
}

/** Runs OpenSSL in a folder of its own, with the named files written first; returns what it printed. */
function openssl(files: Record<string, string>, args: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-stand-in-tls-"));
    try {
        for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        return execFileSync("openssl", args, { cwd: dir, encoding: "utf8" });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const subjectOf = (inputs: Props) => `/CN=${(inputs.subject as { commonName: string }).commonName}`;
const days = (inputs: Props) => String(Math.ceil(Number(inputs.validityPeriodHours) / 24));
/** An OpenSSL config whose section `v3` holds the extensions. */
const config = (v3: string) => `[req]\ndistinguished_name = dn\n[dn]\n[v3]\n${v3}\n`;

const selfSignedCert: Create = (inputs) => ({
    certPem: openssl(
        { "key.pem": String(inputs.privateKeyPem), "req.cnf": config(`${extensions(inputs, [])}\nsubjectKeyIdentifier = hash`) },
        [
            "req",
            "-new",
            "-x509",
            "-key",
            "key.pem",
            "-subj",
            subjectOf(inputs),
            "-days",
            days(inputs),
            "-config",
            "req.cnf",
            "-extensions",
            "v3",
        ],
    ),
});

const certRequest: Create = (inputs) => ({
    certRequestPem: openssl(
        {
            "key.pem": String(inputs.privateKeyPem),
            "req.cnf": config(`subjectAltName = ${(inputs.dnsNames as string[]).map((n) => `DNS:${n}`).join(", ")}`),
        },
        ["req", "-new", "-key", "key.pem", "-subj", subjectOf(inputs), "-config", "req.cnf", "-reqexts", "v3"],
    ),
});

/** Signs the request with the CA for its subject and names (as the tls provider, which copies the request's names). */
const locallySignedCert: Create = (inputs) => {
    const request = String(inputs.certRequestPem);
    const text = openssl({ "req.pem": request }, ["req", "-in", "req.pem", "-noout", "-text"]);
    const dnsNames = [...text.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]);
    const files = {
        "req.pem": request,
        "ca.pem": String(inputs.caCertPem),
        "ca-key.pem": String(inputs.caPrivateKeyPem),
        "ext.cnf": config(extensions(inputs, dnsNames)),
    };
    return {
        certPem: openssl(files, [
            "x509",
            "-req",
            "-in",
            "req.pem",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            days(inputs),
            "-extfile",
            "ext.cnf",
            "-extensions",
            "v3",
        ]),
    };
};

const PACKAGES: Record<string, Record<string, Create>> = {
    random: { "random:index/randomPassword:RandomPassword": randomPassword },
    tls: {
        "tls:index/privateKey:PrivateKey": privateKey,
        "tls:index/selfSignedCert:SelfSignedCert": selfSignedCert,
        "tls:index/certRequest:CertRequest": certRequest,
        "tls:index/locallySignedCert:LocallySignedCert": locallySignedCert,
    },
};

/** Pulumi's marker of a secret value on the wire (the engine sends secrets as such, unwrapped here). */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
const unwrapped = (props: Props): Props =>
    Object.fromEntries(
        Object.entries(props).map(([key, value]) => [
            key,
            value !== null && typeof value === "object" && SECRET_SIGNATURE in value
                ? (value as unknown as { value: unknown }).value
                : value,
        ]),
    );

const typeOfUrn = (urn: string) => urn.split("::")[2].split("$").pop()!;

function standIn(name: string): Provider {
    const creators = PACKAGES[name];
    if (!creators) throw new Error(`no stand-in provider "${name}": there are ${Object.keys(PACKAGES).join(" and ")}`);
    let serial = 0;
    return {
        // The version the program's SDK asks for, so the engine takes the stand-in without a warning.
        version: (JSON.parse(fs.readFileSync(require.resolve(`@pulumi/${name}/package.json`), "utf8")) as { version: string }).version,
        async create(urn: string, inputs: Props): Promise<CreateResult> {
            const create = creators[typeOfUrn(urn)];
            if (!create) throw new Error(`the stand-in ${name} provider makes ${Object.keys(creators).join(", ")}, not ${typeOfUrn(urn)}`);
            // The inputs go back as they came, secrets still marked, beside what was made.
            return {
                id: `${typeOfUrn(urn).split(":").pop()}-${process.pid}-${++serial}`,
                outs: { ...inputs, ...create(unwrapped(inputs)) },
            };
        },
        // Every input of these resources is fixed at creation, as in the real providers: a change replaces.
        async diff(_id: string, _urn: string, olds: Props, news: Props): Promise<DiffResult> {
            const replaces = Object.keys(news).filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
            return { changes: replaces.length > 0, replaces };
        },
        async read(id: string, _urn: string, props?: Props) {
            return { id, props };
        },
        async delete() {},
    };
}

const [name, ...engine] = process.argv.slice(2);
void main(standIn(name), engine);
