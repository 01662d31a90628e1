import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineCommand, helpText, parseCommand } from '../../src/cli/args.js';
import { kafkaSecurityOf, SECURITY_OPTIONS, securityArgs } from '../../src/cli/security.js';
import { ConfigError } from '../../src/errors.js';
import { saferoads } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'saferoads-cli-security-'));
const points = join(dir, 'points.csv');
writeFileSync(points, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,70\n');
const SECRET = 'hunter2-do-not-print';

const CMD = defineCommand({ name: 'x', summary: 'test', options: { ...SECURITY_OPTIONS } });

describe('the security options', () => {
  it('come from flags and SAFEROADS_* variables; the password only from the environment', () => {
    const parsed = parseCommand(CMD, ['--sasl-mechanism', 'scram-sha-256', '--sasl-username', 'alice'], {
      SAFEROADS_SASL_PASSWORD: SECRET,
      SAFEROADS_TLS_NO_VERIFY_HOSTNAME: 'false',
      SAFEROADS_SECURITY_PROTOCOL: 'sasl_ssl',
    });
    const security = kafkaSecurityOf(parsed.values);
    expect(security.protocol).toBe('sasl_ssl');
    expect(security.sasl?.password.reveal()).toBe(SECRET);
    expect(securityArgs(parsed.values)).toEqual(['--security-protocol', 'sasl_ssl', '--sasl-mechanism', 'scram-sha-256', '--sasl-username', 'alice']);
  });

  it.each([[['--sasl-password', SECRET]], [[`--sasl-password=${SECRET}`]], [['--sasl-password']]])('refuses %j without repeating the value', (argv) => {
    let error: unknown;
    try {
      parseCommand(CMD, argv, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      '--sasl-password is refused: a password on the command line shows in ps and the shell history; set SAFEROADS_SASL_PASSWORD or use --sasl-password-file FILE',
    );
  });

  it('--help shows the password as an environment variable only', () => {
    const help = helpText(CMD);
    expect(help).toMatch(/SAFEROADS_SASL_PASSWORD=PASSWORD\s+SASL password \(or --sasl-password-file\) \(environment only\)/);
    expect(help).not.toMatch(/--sasl-password PASSWORD/);
    for (const f of ['--security-protocol', '--sasl-mechanism', '--sasl-username', '--sasl-password-file', '--tls-ca', '--tls-cert', '--tls-key', '--tls-no-verify-hostname']) {
      expect(help).toContain(f);
    }
  });
});

describe('every command that talks to Kafka: security mistakes exit 2 with one line, before connecting', () => {
  // An unreachable broker: reaching "connect" would fail with exit 1, not 2.
  const env = { KAFKA_BROKERS: '127.0.0.1:1' };
  const commands: Array<[string, string[]]> = [
    ['run', ['run', '--points', points]],
    ['generate', ['generate', '--duration', '60']],
    ['replay', ['replay', points, '--topic', 't']],
    ['demo', ['demo']],
  ];

  it.each(commands)('%s refuses --sasl-password on the command line', async (command, args) => {
    const result = await saferoads([...args, '--sasl-password', SECRET], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `saferoads ${command}: --sasl-password is refused: a password on the command line shows in ps and the shell history; set SAFEROADS_SASL_PASSWORD or use --sasl-password-file FILE\n`,
    );
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it.each([
    [['--sasl-mechanism', 'scram-sha-256'], {}, /^saferoads run: --sasl-mechanism needs --sasl-username and a password \(SAFEROADS_SASL_PASSWORD or --sasl-password-file\)$/],
    [['--sasl-mechanism', 'plain', '--sasl-username', 'u', '--sasl-password-file', join(dir, 'missing')], {}, /^saferoads run: --sasl-password-file cannot be read: .*missing \(ENOENT\)$/],
    [['--tls-ca', join(dir, 'missing.pem')], {}, /^saferoads run: --tls-ca cannot be read: .*missing\.pem \(ENOENT\)$/],
    [['--sasl-mechanism', 'md5'], {}, /^saferoads run: --sasl-mechanism must be one of plain, scram-sha-256, scram-sha-512/],
    [['--sasl-mechanism', 'plain', '--sasl-username', 'u'], { KAFKA_BROKERS: '', SAFEROADS_SASL_PASSWORD: SECRET }, /^saferoads run: --brokers \(or KAFKA_BROKERS\) is needed for a sasl_ssl connection/],
  ] as const)('run %j → exit 2', async (args, extraEnv, message) => {
    const result = await saferoads(['run', '--points', points, ...args], { ...env, ...extraEnv });
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
    expect(result.stderr).not.toContain(SECRET);
  });
});
