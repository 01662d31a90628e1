import { ConfigError } from '../../errors.js';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths.js';

/** How the project's own single-node Apache Kafka (KRaft) broker is provisioned and run. */
export interface LocalBrokerOptions {
  /** Apache Kafka version of the org.apache.kafka:kafka_2.13 jars fetched from Maven Central. */
  kafkaVersion: string;
  /** Where the jars are cached (git-ignored). One sub-folder per version. */
  cacheDir: string;
  /** Broker (client) port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Java heap (-Xmx), e.g. `512m`. */
  heap: string;
  /** How long the broker may take to answer metadata requests once launched, milliseconds. */
  startTimeoutMs: number;
  /** How long Maven may take to fetch the jars on a cold cache, milliseconds. */
  fetchTimeoutMs: number;
  /** Java executable; default `$JAVA_HOME/bin/java`, else `java` on PATH. */
  javaPath: string;
  /** Maven executable. */
  mavenPath: string;
  /** Extra Maven arguments (e.g. `-o` for offline, `-Dmaven.repo.local=...`). */
  mavenArgs: readonly string[];
  /** A SASL_SSL listener next to the PLAINTEXT one (tests of secured connections); none by default. */
  saslSsl?: SaslSslListenerOptions;
}

/**
 * A SASL_SSL listener on 127.0.0.1 (a free port) that offers SCRAM-SHA-256, SCRAM-SHA-512 and
 * PLAIN. The PLAINTEXT listener stays: readiness checks, the controller and inter-broker traffic use
 * it.
 */
export interface SaslSslListenerOptions {
  /**
   * PEM file holding the broker's certificate chain and its unencrypted (PKCS#8) private key, as
   * Kafka's PEM keystore reads it. The certificate must name 127.0.0.1 (subjectAltName IP) for
   * clients that verify host names.
   */
  keystorePem: string;
  /**
   * Who may log in, with every mechanism: SCRAM credentials are created when the storage is
   * formatted, PLAIN logins are listed in the listener's JAAS config. Names and passwords are
   * limited to A-Z a-z 0-9 . _ ~ - (they go unquoted into the storage tool's --add-scram). Test
   * credentials only: that command line (visible to ps for a second) and the work dir's
   * server.properties hold them in clear.
   */
  users: readonly { name: string; password: string }[];
}

export const DEFAULT_LOCAL_BROKER_OPTIONS: Readonly<LocalBrokerOptions> = Object.freeze({
  kafkaVersion: '4.1.1',
  cacheDir: join(PACKAGE_ROOT, '.cache', 'kafka'),
  port: 0,
  heap: '512m',
  startTimeoutMs: 60_000,
  fetchTimeoutMs: 600_000,
  javaPath: process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java',
  mavenPath: 'mvn',
  mavenArgs: Object.freeze([]) as readonly string[],
});

/** Options from `SAFEROADS_KAFKA_*` environment variables, validated. */
export function localBrokerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<LocalBrokerOptions> {
  const out: Partial<LocalBrokerOptions> = {};
  if (env.SAFEROADS_KAFKA_VERSION) out.kafkaVersion = env.SAFEROADS_KAFKA_VERSION;
  if (env.SAFEROADS_KAFKA_CACHE) out.cacheDir = env.SAFEROADS_KAFKA_CACHE;
  if (env.SAFEROADS_KAFKA_PORT) out.port = Number(env.SAFEROADS_KAFKA_PORT);
  if (env.SAFEROADS_KAFKA_HEAP) out.heap = env.SAFEROADS_KAFKA_HEAP;
  if (env.SAFEROADS_KAFKA_START_TIMEOUT_MS) out.startTimeoutMs = Number(env.SAFEROADS_KAFKA_START_TIMEOUT_MS);
  return validateLocalBrokerOptions(out, 'SAFEROADS_KAFKA_');
}

const ENV_NAMES: Record<string, string> = {
  kafkaVersion: 'VERSION',
  cacheDir: 'CACHE',
  port: 'PORT',
  heap: 'HEAP',
  startTimeoutMs: 'START_TIMEOUT_MS',
  fetchTimeoutMs: 'FETCH_TIMEOUT_MS',
};

/** Checks each given option; `prefix` selects how fields are named in messages (`options.` or env). */
export function validateLocalBrokerOptions(
  options: Partial<LocalBrokerOptions>,
  prefix = 'options.',
): Partial<LocalBrokerOptions> {
  const name = (field: string) =>
    prefix.endsWith('_') ? `${prefix}${ENV_NAMES[field] ?? field.toUpperCase()}` : `${prefix}${field}`;
  if (options.kafkaVersion !== undefined && !/^\d+\.\d+\.\d+$/.test(options.kafkaVersion)) {
    throw new ConfigError(name('kafkaVersion'), `must be a Kafka release like 4.1.1 (got ${options.kafkaVersion})`);
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new ConfigError(name('port'), `must be an integer port 0..65535, 0 for a free one (got ${options.port})`);
  }
  if (options.heap !== undefined && !/^\d+[kmg]$/i.test(options.heap)) {
    throw new ConfigError(name('heap'), `must be a Java heap size like 512m or 1g (got ${options.heap})`);
  }
  if (options.saslSsl !== undefined) {
    const { keystorePem, users } = options.saslSsl;
    if (typeof keystorePem !== 'string' || keystorePem === '') throw new ConfigError(name('saslSsl'), 'needs keystorePem: a PEM file with the certificate chain and the key');
    if (!Array.isArray(users) || users.length === 0) throw new ConfigError(name('saslSsl'), 'needs at least one user');
    for (const u of users) {
      if (!/^[A-Za-z0-9._~-]+$/.test(u.name) || !/^[A-Za-z0-9._~-]+$/.test(u.password)) {
        throw new ConfigError(name('saslSsl'), `user names and passwords must be A-Z a-z 0-9 . _ ~ - (user ${JSON.stringify(u.name)})`);
      }
    }
  }
  for (const field of ['startTimeoutMs', 'fetchTimeoutMs'] as const) {
    const v = options[field];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) {
      throw new ConfigError(name(field), `must be a positive integer of milliseconds (got ${v})`);
    }
  }
  return options;
}

export function resolveLocalBrokerOptions(options: Partial<LocalBrokerOptions> = {}): Readonly<LocalBrokerOptions> {
  return Object.freeze({ ...DEFAULT_LOCAL_BROKER_OPTIONS, ...validateLocalBrokerOptions(options) });
}
