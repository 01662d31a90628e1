/**
 * The connection-security options every command that talks to Kafka shares (run, generate, replay,
 * demo): spread SECURITY_OPTIONS into a command's options and pass its values to kafkaSecurityOf.
 * Each is a flag and a SAFEROADS_* variable like every option; the password is a variable
 * (SAFEROADS_SASL_PASSWORD) or a file, never a flag. The checks live in src/kafka/security.ts.
 */
import { ConfigError } from '../errors.js';
import { type KafkaSecurity, PLAINTEXT_SECURITY, resolveKafkaSecurity, SASL_MECHANISMS, SECURITY_PROTOCOLS } from '../kafka/security.js';
import { choice, flag, option, text } from './args.js';

export const SECURITY_OPTIONS = {
  securityProtocol: option({
    schema: choice(SECURITY_PROTOCOLS),
    valueName: 'PROTOCOL',
    help: 'plaintext, ssl, sasl_plaintext or sasl_ssl; default: sasl_ssl with --sasl-mechanism, ssl with a --tls-* option, else plaintext',
  }),
  saslMechanism: option({ schema: choice(SASL_MECHANISMS), valueName: 'MECHANISM', help: 'SASL login: plain, scram-sha-256 or scram-sha-512 (needs --sasl-username and a password)' }),
  saslUsername: option({ schema: text(), valueName: 'NAME', help: 'SASL user name' }),
  saslPassword: option({
    schema: text(),
    valueName: 'PASSWORD',
    help: 'SASL password (or --sasl-password-file)',
    envOnly:
      'is refused: a password on the command line shows in ps and the shell history; set SAFEROADS_SASL_PASSWORD or use --sasl-password-file FILE',
  }),
  saslPasswordFile: option({ schema: text(), valueName: 'FILE', help: 'file holding the SASL password (one trailing newline is ignored)' }),
  tlsCa: option({ schema: text(), valueName: 'FILE', help: "PEM CA certificate(s) to trust for the brokers' certificates; default: Node's public CAs" }),
  tlsCert: option({ schema: text(), valueName: 'FILE', help: 'PEM client certificate (mutual TLS; needs --tls-key)' }),
  tlsKey: option({ schema: text(), valueName: 'FILE', help: 'PEM private key of --tls-cert, unencrypted' }),
  tlsNoVerifyHostname: flag("INSECURE: accept broker certificates that do not name the host (the CA is still checked)"),
};

export type SecurityValues = {
  securityProtocol?: (typeof SECURITY_PROTOCOLS)[number];
  saslMechanism?: (typeof SASL_MECHANISMS)[number];
  saslUsername?: string;
  saslPassword?: string;
  saslPasswordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsNoVerifyHostname: boolean;
};

/** The settings of a command's parsed SECURITY_OPTIONS: files read, combinations checked (ConfigError, exit 2). */
export function kafkaSecurityOf(values: SecurityValues): KafkaSecurity {
  return resolveKafkaSecurity({
    securityProtocol: values.securityProtocol,
    saslMechanism: values.saslMechanism,
    saslUsername: values.saslUsername,
    saslPassword: values.saslPassword,
    saslPasswordFile: values.saslPasswordFile,
    tlsCa: values.tlsCa,
    tlsCert: values.tlsCert,
    tlsKey: values.tlsKey,
    tlsNoVerifyHostname: values.tlsNoVerifyHostname,
  });
}

/**
 * Refuses security settings for a broker saferoads starts itself (no --brokers or KAFKA_BROKERS):
 * it speaks plaintext only, so they could only be a forgotten --brokers.
 */
export function checkSecurityNeedsBrokers(security: KafkaSecurity, brokersGiven: boolean): void {
  if (brokersGiven || security.protocol === PLAINTEXT_SECURITY.protocol) return;
  throw new ConfigError(
    '--brokers',
    `(or KAFKA_BROKERS) is needed for a ${security.protocol} connection: without it saferoads starts a local broker that speaks plaintext only`,
  );
}

/**
 * The flags that give `values` to a child `saferoads` command (demo → generate). The password is
 * never among them: a child inherits SAFEROADS_SASL_PASSWORD from the environment, or reads the file.
 */
export function securityArgs(values: SecurityValues): string[] {
  const args: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) args.push(name, value);
  };
  add('--security-protocol', values.securityProtocol);
  add('--sasl-mechanism', values.saslMechanism);
  add('--sasl-username', values.saslUsername);
  add('--sasl-password-file', values.saslPasswordFile);
  add('--tls-ca', values.tlsCa);
  add('--tls-cert', values.tlsCert);
  add('--tls-key', values.tlsKey);
  if (values.tlsNoVerifyHostname) args.push('--tls-no-verify-hostname');
  return args;
}
