/**
 * How saferoads connects to a secured Kafka cluster: TLS (a CA, a client certificate and key,
 * hostname verification) and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). One options type as the
 * user gives it (flags or SAFEROADS_* variables, file paths), checked in one place
 * (resolveKafkaSecurity), which reads the files at start and gives the settings KafkaClient uses.
 * Mistakes are ConfigErrors naming the flag (exit 2), before anything connects.
 *
 * The password comes from the environment (SAFEROADS_SASL_PASSWORD) or a file, never from the
 * command line (ps and shell history would show it), and travels as a Secret that prints as
 * "[redacted]" wherever an options object ends up in a log line.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { inspect } from 'node:util';
import { ConfigError } from '../errors.js';

export const SECURITY_PROTOCOLS = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The connection settings as given: every field optional, files as paths (read by resolveKafkaSecurity). */
export interface KafkaSecurityOptions {
  /** Default: sasl_ssl with a SASL mechanism (managed clusters; never a password in clear by accident), ssl with a --tls-* file, else plaintext. */
  securityProtocol?: SecurityProtocol;
  saslMechanism?: SaslMechanism;
  saslUsername?: string;
  /** The password itself: from the environment (SAFEROADS_SASL_PASSWORD) only. */
  saslPassword?: string | Secret;
  /** A file holding the password (one trailing newline is dropped). */
  saslPasswordFile?: string;
  /** PEM file of the CA(s) that signed the brokers' certificates; default: Node's public CAs. */
  tlsCa?: string;
  /** PEM client certificate (mutual TLS); needs tlsKey. */
  tlsCert?: string;
  /** PEM private key of tlsCert, unencrypted. */
  tlsKey?: string;
  /** Accept a broker certificate that does not name the host connected to (the chain is still verified). */
  tlsNoVerifyHostname?: boolean;
}

/** A password: its value only through reveal(); printed, logged or serialised it is "[redacted]". */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

export interface SaslSettings {
  mechanism: SaslMechanism;
  username: string;
  password: Secret;
}

export interface TlsSettings {
  /** PEM text of the CA file, undefined for Node's public CAs. */
  ca?: string;
  cert?: string;
  key?: string;
  verifyHostname: boolean;
  /** Where the CA came from, for messages. */
  caFile?: string;
}

/** The resolved settings: files read, every combination checked. */
export interface KafkaSecurity {
  readonly protocol: SecurityProtocol;
  readonly tls?: Readonly<TlsSettings>;
  readonly sasl?: Readonly<SaslSettings>;
  /** Lines to print once at start (an insecure choice the user made on purpose). */
  readonly warnings: readonly string[];
}

/** No TLS, no SASL: what a local development broker speaks. */
export const PLAINTEXT_SECURITY: KafkaSecurity = Object.freeze({ protocol: 'plaintext', warnings: Object.freeze([]) as readonly string[] });

const PASSWORD_SOURCES = 'SAFEROADS_SASL_PASSWORD or --sasl-password-file';

/** Reads a file named by `flag`, or a ConfigError naming the flag and the reason (never the content). */
function readNamed(flag: string, path: string, read: (path: string) => string): string {
  try {
    return read(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(flag, `cannot be read: ${path} (${code ?? (error instanceof Error ? error.message : String(error))})`, { cause: error });
  }
}

function requirePem(flag: string, path: string, pem: string, marker: RegExp, what: string): string {
  if (!marker.test(pem)) throw new ConfigError(flag, `must be a PEM file with ${what} (none in ${path})`);
  return pem;
}

/**
 * Checks `options` and reads the files they name. Every mistake is a ConfigError naming the flag at
 * fault and the fix, e.g. "--sasl-mechanism needs --sasl-username and a password
 * (SAFEROADS_SASL_PASSWORD or --sasl-password-file)". `read` is for tests.
 */
export function resolveKafkaSecurity(
  options: KafkaSecurityOptions = {},
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): KafkaSecurity {
  const o = options;
  const tlsFlags = (['tlsCa', 'tlsCert', 'tlsKey'] as const).filter((k) => o[k] !== undefined);
  const flagOf = { tlsCa: '--tls-ca', tlsCert: '--tls-cert', tlsKey: '--tls-key' } as const;
  const saslGiven = o.saslMechanism !== undefined;
  if (o.securityProtocol !== undefined && !(SECURITY_PROTOCOLS as readonly string[]).includes(o.securityProtocol)) {
    throw new ConfigError('--security-protocol', `must be one of ${SECURITY_PROTOCOLS.join(', ')} (got ${JSON.stringify(o.securityProtocol)})`);
  }
  if (o.saslMechanism !== undefined && !(SASL_MECHANISMS as readonly string[]).includes(o.saslMechanism)) {
    throw new ConfigError('--sasl-mechanism', `must be one of ${SASL_MECHANISMS.join(', ')} (got ${JSON.stringify(o.saslMechanism)})`);
  }
  // SASL without an explicit protocol goes over TLS: managed clusters want it, and a password must
  // not go out in clear because a flag was forgotten. sasl_plaintext has to be asked for.
  const protocol: SecurityProtocol =
    o.securityProtocol ?? (saslGiven ? 'sasl_ssl' : tlsFlags.length > 0 || o.tlsNoVerifyHostname ? 'ssl' : 'plaintext');
  const usesTls = protocol === 'ssl' || protocol === 'sasl_ssl';
  const usesSasl = protocol === 'sasl_plaintext' || protocol === 'sasl_ssl';

  if (!usesTls) {
    const first = tlsFlags[0];
    if (first !== undefined) throw new ConfigError(flagOf[first], `needs TLS: --security-protocol ssl or sasl_ssl (got ${protocol})`);
    if (o.tlsNoVerifyHostname) throw new ConfigError('--tls-no-verify-hostname', `needs TLS: --security-protocol ssl or sasl_ssl (got ${protocol})`);
  }
  const hasPassword = o.saslPassword !== undefined || o.saslPasswordFile !== undefined;
  if (usesSasl && !saslGiven) {
    throw new ConfigError('--security-protocol', `${protocol} needs --sasl-mechanism (${SASL_MECHANISMS.join(', ')})`);
  }
  if (!usesSasl) {
    if (saslGiven) throw new ConfigError('--sasl-mechanism', `needs --security-protocol sasl_ssl or sasl_plaintext (got ${protocol})`);
    if (o.saslUsername !== undefined) throw new ConfigError('--sasl-username', `needs --sasl-mechanism (${SASL_MECHANISMS.join(', ')})`);
    if (o.saslPasswordFile !== undefined) throw new ConfigError('--sasl-password-file', `needs --sasl-mechanism (${SASL_MECHANISMS.join(', ')})`);
    if (o.saslPassword !== undefined) throw new ConfigError('SAFEROADS_SASL_PASSWORD', `is set but no --sasl-mechanism is (${SASL_MECHANISMS.join(', ')}); unset it or add the mechanism`);
  }
  const warnings: string[] = [];

  let sasl: SaslSettings | undefined;
  if (usesSasl) {
    if (o.saslUsername === undefined || o.saslUsername === '' || !hasPassword) {
      throw new ConfigError('--sasl-mechanism', `needs --sasl-username and a password (${PASSWORD_SOURCES})`);
    }
    if (o.saslPassword !== undefined && o.saslPasswordFile !== undefined) {
      throw new ConfigError('--sasl-password-file', 'and SAFEROADS_SASL_PASSWORD are both set: give the password one way');
    }
    let password: string;
    if (o.saslPasswordFile !== undefined) {
      // One trailing newline is what `echo pw > file` and most secret mounts leave; it is not part of it.
      password = readNamed('--sasl-password-file', o.saslPasswordFile, read).replace(/\r?\n$/, '');
      if (password === '') throw new ConfigError('--sasl-password-file', `is empty: ${o.saslPasswordFile}`);
    } else {
      const given = o.saslPassword!;
      password = typeof given === 'string' ? given : given.reveal();
      if (password === '') throw new ConfigError('SAFEROADS_SASL_PASSWORD', 'is empty');
    }
    sasl = { mechanism: o.saslMechanism!, username: o.saslUsername, password: new Secret(password) };
    if (protocol === 'sasl_plaintext' && sasl.mechanism === 'plain') {
      warnings.push('WARNING: --sasl-mechanism plain over --security-protocol sasl_plaintext sends the password unencrypted; use sasl_ssl');
    }
  }

  let tls: TlsSettings | undefined;
  if (usesTls) {
    if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
      throw new ConfigError(o.tlsCert === undefined ? '--tls-key' : '--tls-cert', `needs ${o.tlsCert === undefined ? '--tls-cert' : '--tls-key'} too (a client certificate and its key)`);
    }
    tls = { verifyHostname: !o.tlsNoVerifyHostname };
    if (o.tlsCa !== undefined) {
      tls.ca = requirePem('--tls-ca', o.tlsCa, readNamed('--tls-ca', o.tlsCa, read), /-----BEGIN CERTIFICATE-----/, 'a certificate');
      tls.caFile = o.tlsCa;
    }
    if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
      tls.cert = requirePem('--tls-cert', o.tlsCert, readNamed('--tls-cert', o.tlsCert, read), /-----BEGIN CERTIFICATE-----/, 'a certificate');
      const key = requirePem('--tls-key', o.tlsKey, readNamed('--tls-key', o.tlsKey, read), /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key');
      if (/ENCRYPTED/.test(key)) {
        throw new ConfigError('--tls-key', `is encrypted (${o.tlsKey}): give an unencrypted PEM key (openssl pkey -in KEY -out PLAIN_KEY), readable by this user only`);
      }
      tls.key = key;
    }
    // Parsing the PEM now turns a damaged file or a key that does not belong to the certificate into
    // a configuration error at start, not a handshake failure later.
    try {
      createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      const flag = tls.cert === undefined ? '--tls-ca' : /key values mismatch/i.test(why) ? '--tls-key' : '--tls-cert';
      const what = /key values mismatch/i.test(why) ? 'does not belong to --tls-cert' : 'cannot be used';
      throw new ConfigError(flag, `${what} (${why})`, { cause: error });
    }
    if (!tls.verifyHostname) {
      warnings.push(
        'WARNING: --tls-no-verify-hostname: broker certificates are not checked against the host name, so anyone with a certificate from the same CA can impersonate the brokers; use it only while fixing the certificates',
      );
    }
  }
  return Object.freeze({ protocol, tls: tls && Object.freeze(tls), sasl: sasl && Object.freeze(sasl), warnings: Object.freeze(warnings) });
}

/** Node TLS options for a connection to a broker (kafkajs's `ssl` and the pre-flight handshake). */
export function tlsConnectionOptions(tls: Readonly<TlsSettings>): ConnectionOptions {
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
    rejectUnauthorized: true,
    // The chain is still verified; only the name check is skipped.
    ...(tls.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}

/** One line describing the settings, without secrets: "sasl_ssl, SCRAM-SHA-256 as alice, CA ca.pem". */
export function describeSecurity(security: KafkaSecurity): string {
  const parts: string[] = [security.protocol];
  if (security.sasl) parts.push(`${security.sasl.mechanism.toUpperCase()} as ${security.sasl.username}`);
  if (security.tls) {
    parts.push(security.tls.caFile ? `CA ${security.tls.caFile}` : 'public CAs');
    if (security.tls.cert) parts.push('client certificate');
    if (!security.tls.verifyHostname) parts.push('host names NOT verified');
  }
  return parts.join(', ');
}
