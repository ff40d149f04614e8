import * as pulumi from "@pulumi/pulumi";
import type { KeyPair, ServerTls } from "./certificates";
import { LocalObject } from "./resources";

/**
 * The stack's CA and the certificates it issues to the local servers: generated on `up`, kept in the state as
 * secrets. `pulumi up --replace <the CA's URN>` rotates the CA, and every server gets a new certificate from it.
 */
export class LocalCertificates {
    private authority?: LocalObject;

    private ca(): LocalObject {
        this.authority ??= new LocalObject("local-ca", {
            kind: "certificateAuthority",
            spec: { name: `Cellplane local CA (${pulumi.getProject()}/${pulumi.getStack()})` },
        });
        return this.authority;
    }

    /** The CA's certificate: what every client of a local server trusts. Not a secret. */
    caCertificate(): pulumi.Output<string> {
        return pulumi.unsecret(this.ca().value.apply((value) => (JSON.parse(value) as KeyPair).cert));
    }

    /** A certificate for the server `name` (its key a secret), signed by the stack's CA. */
    serverTls(name: string, parent: pulumi.Resource): pulumi.Output<ServerTls> {
        const ca = this.ca();
        const certificate = new LocalObject(
            `${name}-certificate`,
            { kind: "serverCertificate", server: ca.value, spec: { name } },
            { parent },
        );
        return pulumi.secret(
            pulumi.all([ca.value, certificate.value]).apply(([authority, server]) => ({
                ...(JSON.parse(server) as KeyPair),
                ca: (JSON.parse(authority) as KeyPair).cert,
            })),
        );
    }
}
