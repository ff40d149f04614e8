import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

export interface ServerCertificateArgs {
    namespace: pulumi.Input<string>;
    /** The Secret's name in the namespace. */
    secretName: string;
    /** The names clients reach the server by; the first is its common name. */
    dnsNames: pulumi.Input<string>[];
    labels: Record<string, string>;
    /** Whose CA this is, for its common name. */
    owner: string;
}

const HOURS_PER_DAY = 24;
const CA_DAYS = 3650;
/** The longest validity public CAs may issue; the cell's CA follows it. */
const SERVER_DAYS = 397;
/** A `pulumi up` this close to expiry issues a new certificate. */
const RENEW_DAYS = 30;

/**
 * A server's TLS identity inside a cell's cluster: a CA of the cell's own, and a certificate it signs for the
 * server's Service names, in a `kubernetes.io/tls` Secret (with `ca.crt`) the server mounts. Keys live in the state
 * as secrets only. `pulumi up --replace` on the CA rotates both.
 */
export class ServerCertificate extends pulumi.ComponentResource {
    readonly secretName: pulumi.Output<string>;
    /** What clients trust. Not a secret. */
    readonly caCertificate: pulumi.Output<string>;

    constructor(name: string, args: ServerCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:ServerCertificate", name, {}, opts);
        const parent = { parent: this };
        const key = (keyName: string) => new tls.PrivateKey(keyName, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);

        const caKey = key(`${name}-ca-key`);
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                validityPeriodHours: CA_DAYS * HOURS_PER_DAY,
                allowedUses: ["cert_signing", "crl_signing"],
                subject: { commonName: `Cellplane ${args.owner} CA` },
            },
            parent,
        );
        const serverKey = key(`${name}-key`);
        const request = new tls.CertRequest(
            `${name}-request`,
            { privateKeyPem: serverKey.privateKeyPem, subject: { commonName: args.dnsNames[0] }, dnsNames: args.dnsNames },
            parent,
        );
        const certificate = new tls.LocallySignedCert(
            `${name}-certificate`,
            {
                certRequestPem: request.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.certPem,
                validityPeriodHours: SERVER_DAYS * HOURS_PER_DAY,
                earlyRenewalHours: RENEW_DAYS * HOURS_PER_DAY,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            parent,
        );
        const secret = new core.Secret(
            `${name}-secret`,
            {
                metadata: { name: args.secretName, namespace: args.namespace, labels: args.labels },
                type: "kubernetes.io/tls",
                stringData: { "tls.crt": certificate.certPem, "tls.key": serverKey.privateKeyPem, "ca.crt": ca.certPem },
            },
            parent,
        );
        this.secretName = secret.metadata.name;
        this.caCertificate = pulumi.unsecret(ca.certPem);
        this.registerOutputs({ secretName: this.secretName, caCertificate: this.caCertificate });
    }
}
