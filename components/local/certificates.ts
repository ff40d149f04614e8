import { execFileSync } from "child_process";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A certificate and its private key (PKCS#8), both PEM. */
export interface KeyPair {
    cert: string;
    key: string;
}

/** A server's certificate, with the CA that signed it, as a local server is given it. */
export interface ServerTls extends KeyPair {
    ca: string;
}

const CA_DAYS = 3650;
const SERVER_DAYS = 397;
/** Every local server listens on loopback, and clients name it by address or as localhost. */
const LOOPBACK_NAMES = "IP:127.0.0.1,DNS:localhost";

function openssl(args: string[], dir: string): void {
    try {
        execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    } catch (error) {
        throw new Error(`openssl ${args[0]} failed: ${(error as { stderr?: Buffer }).stderr?.toString().trim() ?? error}`, {
            cause: error,
        });
    }
}

/** A common name as `-subj` takes it, where `/` and `=` would start another field. */
const subject = (commonName: string) => `/CN=${commonName.replace(/[/=\\]/g, "-")}`;

function inScratch<T>(fn: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-tls-"));
    try {
        return fn(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const readPair = (dir: string, name: string): KeyPair => ({
    cert: fs.readFileSync(path.join(dir, `${name}.crt`), "utf8"),
    key: fs.readFileSync(path.join(dir, `${name}.key`), "utf8"),
});

/** A stack's own CA (P-256), which signs its local servers' certificates and nothing else. */
export function newCertificateAuthority(commonName: string): KeyPair {
    return inScratch((dir) => {
        openssl(
            [
                ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"],
                ...["-keyout", "ca.key", "-out", "ca.crt", "-days", String(CA_DAYS), "-subj", subject(commonName)],
                ...["-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ],
            dir,
        );
        return readPair(dir, "ca");
    });
}

/** A server certificate for the loopback names, signed by `ca`. */
export function issueServerCertificate(ca: KeyPair, commonName: string): KeyPair {
    return inScratch((dir) => {
        fs.writeFileSync(path.join(dir, "ca.crt"), ca.cert);
        fs.writeFileSync(path.join(dir, "ca.key"), ca.key, { mode: 0o600 });
        fs.writeFileSync(
            path.join(dir, "server.ext"),
            `subjectAltName=${LOOPBACK_NAMES}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n`,
        );
        openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "server.key"], dir);
        openssl(["req", "-new", "-key", "server.key", "-subj", subject(commonName), "-out", "server.csr"], dir);
        openssl(
            [
                ...["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
                ...["-days", String(SERVER_DAYS), "-extfile", "server.ext", "-out", "server.crt"],
            ],
            dir,
        );
        return readPair(dir, "server");
    });
}

/** Whether `pair` is a certificate `ca` signed (when given), valid for at least `days` more days. */
export function stillValid(pair: KeyPair, ca?: KeyPair, days = 30): boolean {
    try {
        const certificate = new X509Certificate(pair.cert);
        const signedByCa = !ca || certificate.verify(new X509Certificate(ca.cert).publicKey);
        return signedByCa && new Date(certificate.validTo).getTime() > Date.now() + days * 86_400_000;
    } catch {
        return false;
    }
}
