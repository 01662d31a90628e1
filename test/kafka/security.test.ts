import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, exitCodeFor, KafkaError } from '../../src/errors.js';
import { checkBrokerCertificates } from '../../src/kafka/client.js';
import { describeSecurity, type KafkaSecurityOptions, resolveKafkaSecurity, Secret, tlsConnectionOptions } from '../../src/kafka/security.js';
import { makeCa, makeServerCertificate, makeTestCertificates, type TestCertificates } from './local/certificates.js';

let dir: string;
let certs: TestCertificates;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'saferoads-security-'));
  certs = makeTestCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configError(options: KafkaSecurityOptions): string {
  try {
    resolveKafkaSecurity(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(error)).toBe(2);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveKafkaSecurity: the one place the connection settings are checked', () => {
  it('is plaintext without options', () => {
    const s = resolveKafkaSecurity({});
    expect(s.protocol).toBe('plaintext');
    expect(s.tls).toBeUndefined();
    expect(s.sasl).toBeUndefined();
  });

  it('derives sasl_ssl from a mechanism (never a password in clear by default) and ssl from a TLS file', () => {
    expect(resolveKafkaSecurity({ saslMechanism: 'scram-sha-256', saslUsername: 'u', saslPassword: 'p' }).protocol).toBe('sasl_ssl');
    expect(resolveKafkaSecurity({ tlsCa: certs.caPem }).protocol).toBe('ssl');
    const plain = resolveKafkaSecurity({ securityProtocol: 'sasl_plaintext', saslMechanism: 'plain', saslUsername: 'u', saslPassword: 'p' });
    expect(plain.tls).toBeUndefined();
    expect(plain.warnings.join()).toMatch(/sends the password unencrypted/);
  });

  it('reads the files at start: the CA, a client certificate and key, a password file without its trailing newline', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 's3cret\n');
    const s = resolveKafkaSecurity({
      saslMechanism: 'scram-sha-512',
      saslUsername: 'alice',
      saslPasswordFile: file,
      tlsCa: certs.caPem,
      tlsCert: certs.clientCert,
      tlsKey: certs.clientKey,
    });
    expect(s.protocol).toBe('sasl_ssl');
    expect(s.sasl?.password.reveal()).toBe('s3cret');
    expect(s.tls?.ca).toBe(readFileSync(certs.caPem, 'utf8'));
    expect(s.tls?.verifyHostname).toBe(true);
    const node = tlsConnectionOptions(s.tls!);
    expect(node.rejectUnauthorized).toBe(true);
    expect(node.checkServerIdentity).toBeUndefined();
    expect(node.cert).toContain('BEGIN CERTIFICATE');
    expect(describeSecurity(s)).toBe(`sasl_ssl, SCRAM-SHA-512 as alice, CA ${certs.caPem}, client certificate`);
  });

  it('--tls-no-verify-hostname keeps the chain check, skips the name check, and warns loudly', () => {
    const s = resolveKafkaSecurity({ tlsCa: certs.caPem, tlsNoVerifyHostname: true });
    expect(s.protocol).toBe('ssl');
    const node = tlsConnectionOptions(s.tls!);
    expect(node.rejectUnauthorized).toBe(true);
    expect(node.checkServerIdentity?.('other.example', {} as never)).toBeUndefined();
    expect(s.warnings.join()).toMatch(/^WARNING: --tls-no-verify-hostname/);
  });

  it.each<[string, KafkaSecurityOptions, RegExp]>([
    ['a mechanism without credentials', { saslMechanism: 'scram-sha-256' }, /^--sasl-mechanism needs --sasl-username and a password \(SAFEROADS_SASL_PASSWORD or --sasl-password-file\)$/],
    ['a mechanism without a password', { saslMechanism: 'plain', saslUsername: 'u' }, /^--sasl-mechanism needs --sasl-username and a password/],
    ['a sasl protocol without a mechanism', { securityProtocol: 'sasl_ssl' }, /^--security-protocol sasl_ssl needs --sasl-mechanism \(plain, scram-sha-256, scram-sha-512\)$/],
    ['a mechanism over plaintext', { securityProtocol: 'plaintext', saslMechanism: 'plain', saslUsername: 'u', saslPassword: 'p' }, /^--sasl-mechanism needs --security-protocol sasl_ssl or sasl_plaintext \(got plaintext\)$/],
    ['a user name alone', { saslUsername: 'u' }, /^--sasl-username needs --sasl-mechanism/],
    ['a password alone', { saslPassword: 'p' }, /^SAFEROADS_SASL_PASSWORD is set but no --sasl-mechanism is/],
    ['a password twice', { saslMechanism: 'plain', saslUsername: 'u', saslPassword: 'p', saslPasswordFile: '/x' }, /^--sasl-password-file and SAFEROADS_SASL_PASSWORD are both set/],
    ['a CA without TLS', { securityProtocol: 'sasl_plaintext', saslMechanism: 'plain', saslUsername: 'u', saslPassword: 'p', tlsCa: '/x' }, /^--tls-ca needs TLS: --security-protocol ssl or sasl_ssl \(got sasl_plaintext\)$/],
    ['a certificate without its key', { tlsCert: '/x' }, /^--tls-cert needs --tls-key too/],
    ['a missing CA file', { tlsCa: '/nonexistent/ca.pem' }, /^--tls-ca cannot be read: \/nonexistent\/ca\.pem \(ENOENT\)$/],
    ['a missing password file', { saslMechanism: 'plain', saslUsername: 'u', saslPasswordFile: '/nonexistent/pw' }, /^--sasl-password-file cannot be read: \/nonexistent\/pw \(ENOENT\)$/],
    ['an unknown protocol', { securityProtocol: 'tls' as never }, /^--security-protocol must be one of plaintext, ssl, sasl_plaintext, sasl_ssl/],
  ])('%s → one line naming the flag', (_, options, message) => {
    expect(configError(options)).toMatch(message);
  });

  it('refuses an empty password file, a CA file that is not PEM, and a key that does not belong to the certificate', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(configError({ saslMechanism: 'plain', saslUsername: 'u', saslPasswordFile: empty })).toMatch(/^--sasl-password-file is empty/);
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    expect(configError({ tlsCa: notPem })).toMatch(/^--tls-ca must be a PEM file with a certificate \(none in .*not\.pem\)$/);
    const broker = join(dir, 'broker.key');
    expect(configError({ tlsCa: certs.caPem, tlsCert: certs.clientCert, tlsKey: broker })).toMatch(/^--tls-key does not belong to --tls-cert/);
  });
});

describe('Secret: the password prints as [redacted]', () => {
  it('in template strings, JSON and util.inspect (console.log, error dumps) of whole settings', () => {
    const s = resolveKafkaSecurity({ saslMechanism: 'plain', saslUsername: 'u', saslPassword: 'hunter2-xyz' });
    expect(`${s.sasl!.password}`).toBe('[redacted]');
    expect(JSON.stringify(s)).not.toContain('hunter2-xyz');
    expect(inspect(s, { depth: 10, showHidden: true })).not.toContain('hunter2-xyz');
    expect(new Secret('x').reveal()).toBe('x');
  });
});

describe('checkBrokerCertificates: an untrusted broker fails at once, with the fix', () => {
  let tlsServer: TlsServer;
  let tcpServer: TcpServer;
  let tlsPort: number;
  let tcpPort: number;

  beforeAll(async () => {
    // A server whose certificate names only another host, signed by the test CA.
    const other = makeServerCertificate(dir, 'elsewhere', 'DNS:elsewhere.example');
    tlsServer = createTlsServer({ cert: readFileSync(other.cert), key: readFileSync(other.key) }, (socket) => socket.end());
    tlsServer.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    tlsPort = (tlsServer.address() as { port: number }).port;
    // A port that answers, but not with TLS (a PLAINTEXT listener).
    tcpServer = createTcpServer((socket) => socket.end('not tls at all\n'.repeat(20)));
    await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcpServer.address() as { port: number }).port;
  });
  afterAll(() => {
    tlsServer.close();
    tcpServer.close();
  });

  const tls = (options: KafkaSecurityOptions) => resolveKafkaSecurity(options).tls!;

  async function failure(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaError);
    expect(exitCodeFor(error)).toBe(1);
    return (error as Error).message;
  }

  it('a certificate from another CA names --tls-ca', async () => {
    const otherCa = makeCa(mkdtempSync(join(dir, 'other-')), 'other');
    expect(await failure(checkBrokerCertificates([`127.0.0.1:${tlsPort}`], tls({ tlsCa: otherCa }), 2_000))).toMatch(
      /^cannot connect to Kafka at 127\.0\.0\.1:\d+ over TLS: its certificate is not trusted by the CA in --tls-ca .*other\.pem \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    );
  });

  it('a certificate for another host fails by default and passes with --tls-no-verify-hostname', async () => {
    expect(await failure(checkBrokerCertificates([`127.0.0.1:${tlsPort}`], tls({ tlsCa: certs.caPem }), 2_000))).toMatch(
      /over TLS: its certificate does not name this host \(ERR_TLS_CERT_ALTNAME_INVALID: .*\); connect by a name the certificate lists/,
    );
    expect(await checkBrokerCertificates([`127.0.0.1:${tlsPort}`], tls({ tlsCa: certs.caPem, tlsNoVerifyHostname: true }), 2_000)).toBe(true);
  });

  it('a port that does not speak TLS says so', async () => {
    expect(await failure(checkBrokerCertificates([`127.0.0.1:${tcpPort}`], tls({ tlsCa: certs.caPem }), 2_000))).toMatch(
      /over TLS: the port does not speak TLS \(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\); is it a PLAINTEXT or SASL_PLAINTEXT listener\? check --security-protocol and the port$/,
    );
  });

  it('brokers that cannot be reached are left to the connect retries', async () => {
    expect(await checkBrokerCertificates(['127.0.0.1:1'], tls({ tlsCa: certs.caPem }), 1_000)).toBe(false);
  });
});
