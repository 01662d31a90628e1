import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  /** PEM of the CA that signed the broker's certificate (what clients pass as --tls-ca). */
  caPem: string;
  /** The broker's certificate chain and unencrypted PKCS#8 key in one PEM file (Kafka's PEM keystore). */
  keystorePem: string;
  /** A client certificate and key signed by the same CA (mutual TLS). */
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A fresh CA in `dir`: its certificate (ca.pem) and key (ca.key). */
export function makeCa(dir: string, name = 'ca'): string {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=saferoads test ${name}`]);
  return join(dir, `${name}.pem`);
}

/** A certificate for `subjectAltName` signed by the CA `ca` in `dir`; returns the cert and key paths. */
function signed(dir: string, ca: string, name: string, subjectAltName: string): { cert: string; key: string } {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/**
 * A CA, a broker certificate for 127.0.0.1 and localhost, and a client certificate, made with
 * openssl into `dir` (a test's temporary folder). About a second.
 */
export function makeTestCertificates(dir: string): TestCertificates {
  const caPem = makeCa(dir);
  const broker = signed(dir, 'ca', 'broker', 'IP:127.0.0.1,DNS:localhost');
  const keystorePem = join(dir, 'broker-keystore.pem');
  writeFileSync(keystorePem, readFileSync(broker.key, 'utf8') + readFileSync(broker.cert, 'utf8'));
  const client = signed(dir, 'ca', 'client', 'DNS:saferoads-client');
  return { caPem, keystorePem, clientCert: client.cert, clientKey: client.key };
}

/** A certificate for `subjectAltName` signed by the CA in `dir` (makeCa or makeTestCertificates first). */
export function makeServerCertificate(dir: string, name: string, subjectAltName: string): { cert: string; key: string } {
  return signed(dir, 'ca', name, subjectAltName);
}
