/**
 * saferoads against a secured broker: a broker of its own (not the run's shared one) with a SASL_SSL
 * listener, its certificate signed by a CA made here with openssl, alice's SCRAM credentials created
 * when its storage is formatted. The commands run as child processes of the built CLI, as in
 * production; the password reaches them through the environment or a file, and must never show in
 * their output.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../src/kafka/client.js';
import { type JvmBroker, startJvmBroker } from '../../src/kafka/local/jvm-broker.js';
import { resolveKafkaSecurity } from '../../src/kafka/security.js';
import { Observability } from '../../src/observe/observability.js';
import { SaferoadsService } from '../../src/service/service.js';
import { type CliResult, saferoads } from '../cli/helpers.js';
import { makeCa, makeTestCertificates, type TestCertificates } from './local/certificates.js';
import { serviceTopics, uniqueTopic } from './helpers.js';

// Hex: within what the broker launcher accepts, and long enough not to appear by chance.
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const USER = 'alice';

let dir: string;
let certs: TestCertificates;
let otherCa: string;
let passwordFile: string;
let broker: JvmBroker | undefined;
/** Every CLI run of this file: none may print the password. */
const results: CliResult[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saferoads-sasl-ssl-'));
  certs = makeTestCertificates(dir);
  otherCa = makeCa(dir, 'other');
  passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  broker = await startJvmBroker({ saslSsl: { keystorePem: certs.keystorePem, users: [{ name: USER, password: PASSWORD }] } });
}, 120_000);

afterAll(async () => {
  // Also when a test failed: the CI script fails on a broker process left behind.
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with the test's environment: no HTTP server (tests run in parallel), the CA by variable. */
async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { ms: number }> {
  const began = performance.now();
  const result = await saferoads(args, { SAFEROADS_HTTP: 'off', ...env });
  results.push(result);
  return { ...result, ms: performance.now() - began };
}

function secureClient(mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'): KafkaClient {
  return new KafkaClient({
    brokers: [broker!.secureBootstrap!],
    clientId: 'saferoads-test-sasl-ssl',
    logLevel: 'nothing',
    security: resolveKafkaSecurity({ saslMechanism: mechanism, saslUsername: USER, saslPassword: PASSWORD, tlsCa: certs.caPem }),
  });
}

/** The one line a failed command ends with; every line before it is saferoads's own, none a stack frame. */
function failureLine(result: CliResult, command: string): string {
  const lines = result.stderr.trimEnd().split('\n');
  for (const line of lines) {
    // Log records (JSON lines: stderr is not a terminal) before the failure's own line.
    expect(line).toMatch(new RegExp(`^saferoads ${command}: |^\\{"level":"(info|warn)"`));
    expect(line).not.toMatch(/kafkajs|^\s+at /);
  }
  return lines.at(-1)!;
}

describe('saferoads over SASL_SSL (a broker of its own, SCRAM credentials from the storage format)', () => {
  it('generate (SCRAM-SHA-256, password from SAFEROADS_SASL_PASSWORD) and run --until-end (SCRAM-SHA-512, password file): read, publish, commit', async () => {
    const t = serviceTopics(uniqueTopic('sec'));
    const pointsPath = join(dir, 'points.csv');
    const topics = ['--car-topic', t.car, '--weather-topic', t.weather];
    const generated = await cli(
      ['generate', '--point-count', '3', '--duration', '300', '--seed', '5', '--points-out', pointsPath, ...topics,
        '--brokers', broker!.secureBootstrap!, '--sasl-mechanism', 'scram-sha-256', '--sasl-username', USER],
      { SAFEROADS_SASL_PASSWORD: PASSWORD, SAFEROADS_TLS_CA: certs.caPem },
    );
    expect(generated.stderr).toContain('Kafka connection: sasl_ssl, SCRAM-SHA-256 as alice');
    expect(generated.code, generated.stderr).toBe(0);

    const run = await cli([
      'run', '--points', pointsPath, '--until-end', '--shards', '1', '--http', 'off', '--group-id', t.group, ...topics,
      '--output-topic', t.output, '--car-dlq-topic', t.carDlq, '--weather-dlq-topic', t.weatherDlq,
      '--brokers', broker!.secureBootstrap!, '--security-protocol', 'sasl_ssl', '--sasl-mechanism', 'scram-sha-512',
      '--sasl-username', USER, '--sasl-password-file', passwordFile, '--tls-ca', certs.caPem,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const rows = Number(/(\d+) risk records/.exec(run.stderr)?.[1]);
    expect(rows).toBeGreaterThan(0);

    // Checked over a third mechanism: PLAIN (users in the listener's JAAS config).
    const client = secureClient('plain');
    try {
      const published = [...(await client.endOffsets(t.output)).values()].reduce((a, b) => a + b, 0n);
      expect(published).toBe(BigInt(rows));
      const ends = await client.endOffsets(t.car);
      const committed = await client.committedOffsets(t.group, t.car);
      expect(committed.map((c) => [c.partition, c.offset]).sort()).toEqual([...ends].sort());
    } finally {
      await client.close();
    }
  });

  it('a wrong password: exit 1 with one line naming the fix, within seconds (no retries)', async () => {
    const points = join(dir, 'one-point.csv');
    writeFileSync(points, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,70\n');
    const result = await cli(
      ['run', '--points', points, '--shards', '1', '--http', 'off', '--brokers', broker!.secureBootstrap!, '--sasl-mechanism', 'scram-sha-256', '--sasl-username', USER, '--tls-ca', certs.caPem],
      { SAFEROADS_SASL_PASSWORD: `${PASSWORD}-wrong` },
    );
    expect(result.code).toBe(1);
    expect(failureLine(result, 'run')).toMatch(
      /^saferoads run: Kafka at 127\.0\.0\.1:\d+ refused the SASL login of "alice" with SCRAM-SHA-256: .*invalid credentials.*; check --sasl-username, the password \(SAFEROADS_SASL_PASSWORD or --sasl-password-file\)/,
    );
    expect(result.stderr).not.toContain(`${PASSWORD}-wrong`);
    expect(result.ms).toBeLessThan(15_000);
  });

  it('a broker certificate from a CA not given: exit 1 with one line naming --tls-ca, within seconds', async () => {
    const points = join(dir, 'one-point.csv');
    writeFileSync(points, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,70\n');
    const result = await cli(
      ['run', '--points', points, '--shards', '1', '--http', 'off', '--brokers', broker!.secureBootstrap!, '--sasl-mechanism', 'scram-sha-256', '--sasl-username', USER, '--sasl-password-file', passwordFile],
      { SAFEROADS_TLS_CA: otherCa },
    );
    expect(result.code).toBe(1);
    expect(failureLine(result, 'run')).toMatch(
      /^saferoads run: cannot connect to Kafka at 127\.0\.0\.1:\d+ over TLS: its certificate is not trusted by the CA in --tls-ca .*other\.pem \(UNABLE_TO_VERIFY_LEAF_SIGNATURE.*\); give the CA/,
    );
    expect(result.ms).toBeLessThan(15_000);
  });

  it('SCRAM-SHA-256 and SCRAM-SHA-512 in process: produce and read back', async () => {
    for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
      const topic = uniqueTopic(`sec-${mechanism}`);
      const client = secureClient(mechanism);
      try {
        await client.ensureTopics([{ topic }]);
        const producer = await client.producer();
        await producer.send(topic, [{ key: 'k', value: mechanism }]);
        await producer.close();
        const got: string[] = [];
        const reader = await client.read({ topic, until: await client.endOffsets(topic), follow: false, onBatch: async (records) => void got.push(...records.map((r) => r.value!.toString())) });
        await reader.caughtUp;
        await reader.close();
        expect(got).toEqual([mechanism]);
      } finally {
        await client.close();
      }
    }
  });

  it('the service over SCRAM-SHA-512: /metrics, /readyz and /livez answer, and none of them shows the password', async () => {
    const t = serviceTopics(uniqueTopic('sec-http'));
    const pointsPath = join(dir, 'http-points.csv');
    writeFileSync(pointsPath, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,straight,100\n');
    const client = secureClient('scram-sha-512');
    const nowS = Math.floor(Date.now() / 1000) - 120;
    try {
      await client.ensureTopics([{ topic: t.car, partitions: 1 }, { topic: t.weather }]);
      const producer = await client.producer();
      await producer.send(t.weather, [{ key: 'WS1', value: JSON.stringify({ station: 'WS1', timestamp: nowS, temp: 3, snow: 0, rain: 0, pressure: 1010 }) }]);
      await producer.send(t.car, [
        { key: 'P1', value: JSON.stringify({ lane: 1, timestamp_in_1: nowS, timestamp_out_1: nowS + 0.2, timestamp_in_2: nowS + 0.7, timestamp_out_2: nowS + 0.9, speed: 90, gap_meters: 40, gap_seconds: 1.6, length: 4.5, point_id: 'P1' }) },
      ]);
      await producer.close();
    } finally {
      await client.close();
    }
    const observability = await Observability.start({ host: '127.0.0.1', port: 0 });
    const service = await SaferoadsService.start({
      brokers: [broker!.secureBootstrap!],
      security: resolveKafkaSecurity({ saslMechanism: 'scram-sha-512', saslUsername: USER, saslPassword: PASSWORD, tlsCa: certs.caPem }),
      pointsPath,
      shards: 1,
      groupId: t.group,
      carTopic: t.car,
      weatherTopic: t.weather,
      outputTopic: t.output,
      carDlqTopic: t.carDlq,
      weatherDlqTopic: t.weatherDlq,
      inputPartitions: 1,
      observer: observability,
      log: () => undefined,
    });
    const url = (path: string) => `http://127.0.0.1:${observability.address.port}${path}`;
    try {
      const deadline = Date.now() + 30_000;
      while ((await fetch(url('/readyz'))).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const bodies: string[] = [];
      for (const path of ['/metrics', '/readyz', '/livez']) {
        const response = await fetch(url(path));
        expect(response.status, path).toBe(200);
        bodies.push(await response.text());
      }
      expect(bodies[0]).toMatch(new RegExp(`saferoads_records_in_total\\{[^}]*topic="${t.car}"[^}]*\\} 1`));
      for (const body of bodies) expect(body).not.toContain(PASSWORD);
    } finally {
      await service.stop();
      await observability.close();
    }
  }, 90_000);

  it('never printed the password', () => {
    expect(results.length).toBeGreaterThanOrEqual(4);
    for (const r of results) {
      expect(r.stdout).not.toContain(PASSWORD);
      expect(r.stderr).not.toContain(PASSWORD);
    }
  });
});
