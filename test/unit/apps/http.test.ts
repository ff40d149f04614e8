import { X509Certificate } from "crypto";
import { Registry } from "prom-client";
import { issueServerCertificate, newCertificateAuthority } from "../../../components/local/certificates";
import { metricsRoute, serviceApp } from "../../../apps/shared/http";

describe("every service's metrics", () => {
    test("an HTTPS app exposes when the certificate it serves expires, for the certificate alert", async () => {
        const served = issueServerCertificate(newCertificateAuthority("test CA"), "app.cell.test");
        const metrics = new Registry();
        const app = serviceApp({ tls: served, metrics });
        metricsRoute(app, metrics);
        const text = (await app.inject({ method: "GET", url: "/metrics" })).body;
        const expiry = Number(/^tls_certificate_expiry_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
        expect(expiry).toBe(Date.parse(new X509Certificate(served.cert).validTo) / 1000);
        expect(expiry * 1000).toBeGreaterThan(Date.now() + 30 * 86_400_000);
        await app.close();
    });

    test("a plain-HTTP app has no certificate to expose", async () => {
        const metrics = new Registry();
        const app = serviceApp({ metrics });
        metricsRoute(app, metrics);
        expect((await app.inject({ method: "GET", url: "/metrics" })).body).not.toContain("tls_certificate_expiry");
        await app.close();
    });
});
