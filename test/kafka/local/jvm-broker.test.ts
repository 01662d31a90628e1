import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { BrokerStartError, ConfigError } from '../../../src/errors.js';
import { KafkaClient, probeCluster } from '../../../src/kafka/client.js';
import { clusterId, startJvmBroker } from '../../../src/kafka/local/jvm-broker.js';
import { built, isAlive, kafkaBrokerPids, waitUntil } from './processes.js';

function psField(pid: number, field: 'pgid' | 'ppid'): number {
  try {
    return Number(execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8' }).trim());
  } catch {
    return NaN; // gone meanwhile
  }
}
const processGroupOf = (pid: number) => psField(pid, 'pgid');
const parentOf = (pid: number) => psField(pid, 'ppid');

async function expectOneLineStartError(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerStartError);
  const message = (error as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
  return message;
}

describe('the local Apache Kafka broker on Java', () => {
  it('draws cluster ids the storage tool takes: 22 URL-safe characters, never a leading "-"', () => {
    for (let i = 0; i < 2_000; i++) expect(clusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('starts, answers metadata, and leaves nothing behind when stopped', async () => {
    const broker = await startJvmBroker();
    expect(broker.bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(isAlive(broker.pid)).toBe(true);
    expect(existsSync(broker.workDir)).toBe(true);
    expect(await probeCluster([broker.bootstrap], 5_000)).toBe(true);
    await broker.stop();
    await broker.stop(); // idempotent
    expect(isAlive(broker.pid)).toBe(false);
    expect(existsSync(broker.workDir)).toBe(false);
    expect(await probeCluster([broker.bootstrap], 1_000)).toBe(false);
  });

  it('halts (the JVM dies, data and port stay) and resumes as the same broker with its data', async () => {
    const broker = await startJvmBroker();
    try {
      const client = new KafkaClient({ brokers: [broker.bootstrap], logLevel: 'nothing' });
      await client.ensureTopics([{ topic: 'kept', partitions: 2 }]);
      const producer = await client.producer();
      await producer.send('kept', [{ key: 'k', value: 'before the outage' }]);
      await producer.close();
      await client.close();

      const firstPid = broker.pid;
      await broker.halt();
      expect(broker.halted).toBe(true);
      expect(isAlive(firstPid)).toBe(false);
      expect(existsSync(broker.workDir)).toBe(true);
      expect(await probeCluster([broker.bootstrap], 1_000)).toBe(false);

      await broker.resume();
      expect(broker.halted).toBe(false);
      expect(broker.pid).not.toBe(firstPid);
      expect(isAlive(broker.pid)).toBe(true);
      const again = new KafkaClient({ brokers: [broker.bootstrap], logLevel: 'nothing' });
      const got: string[] = [];
      const reader = await again.read({
        topic: 'kept',
        until: await again.endOffsets('kept'),
        follow: false,
        onBatch: async (records) => void got.push(...records.map((r) => r.value!.toString())),
      });
      await reader.caughtUp;
      await reader.close();
      await again.close();
      expect(got).toEqual(['before the outage']);
    } finally {
      const pid = broker.pid;
      await broker.stop();
      expect(isAlive(pid)).toBe(false);
      expect(existsSync(broker.workDir)).toBe(false);
    }
  });

  it('a halted broker\'s data is removed by its watchdog when the process that started it is killed', async () => {
    const script = `import(${JSON.stringify(built('src/kafka/local/jvm-broker.js'))}).then(async (m) => {
      const b = await m.startJvmBroker();
      const pid = b.pid;
      await b.halt();
      console.log(JSON.stringify({ pid, workDir: b.workDir }));
    });`;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => createInterface({ input: owner.stdout! }).once('line', resolve));
    const { pid, workDir } = JSON.parse(line) as { pid: number; workDir: string };
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(workDir)).toBe(true);
    owner.kill('SIGKILL');
    expect(await waitUntil(() => !existsSync(workDir), 10_000)).toBe(true);
  });

  it('is stopped by its watchdog when the process that started it is killed with SIGKILL', async () => {
    const script = `import(${JSON.stringify(built('src/kafka/local/jvm-broker.js'))}).then(async (m) => {
      const b = await m.startJvmBroker();
      console.log(JSON.stringify({ pid: b.pid, workDir: b.workDir }));
    });`;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => createInterface({ input: owner.stdout! }).once('line', resolve));
    const { pid, workDir } = JSON.parse(line) as { pid: number; workDir: string };
    expect(isAlive(pid)).toBe(true);
    owner.kill('SIGKILL');
    expect(await waitUntil(() => !isAlive(pid), 20_000)).toBe(true);
    expect(await waitUntil(() => !existsSync(workDir), 5_000)).toBe(true);
  });

  it('npm run kafka prints a usable bootstrap address and stops the broker on Ctrl-C', async () => {
    const cli = spawn(process.execPath, [built('src/cli/kafka.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, KAFKA_BROKERS: '' },
      // A process group of its own, as a shell gives a foreground job: Ctrl-C signals the group.
      detached: true,
    });
    const lines = createInterface({ input: cli.stdout! });
    const first = await new Promise<string>((resolve) => lines.once('line', resolve));
    const bootstrap = /^Kafka bootstrap: (\S+)$/.exec(first)?.[1];
    expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await probeCluster([bootstrap!], 5_000)).toBe(true);
    // The broker JVM is in a group of its own: the terminal's Ctrl-C reaches the command, which
    // stops the broker itself (after whatever else it runs), not the broker behind its back.
    const [brokerPid] = kafkaBrokerPids().filter((pid) => parentOf(pid) === cli.pid && processGroupOf(pid) !== processGroupOf(cli.pid!));
    expect(brokerPid).toBeDefined();
    const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve));
    process.kill(-cli.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(await probeCluster([bootstrap!], 1_000)).toBe(false);
    expect(isAlive(brokerPid!)).toBe(false);
  });

  it('refuses SASL_SSL users that cannot go into the storage tool\'s --add-scram, before starting anything', async () => {
    const error = await startJvmBroker({ saslSsl: { keystorePem: '/x.pem', users: [{ name: 'alice', password: 'a,b]' }] } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('options.saslSsl user names and passwords must be A-Z a-z 0-9 . _ ~ - (user "alice")');
  });

  it('names a missing Java and the fix, in one line', async () => {
    await expectOneLineStartError(startJvmBroker({ javaPath: '/nonexistent/bin/java' }), /Java \(.*\) not found: install Java 17/);
  });

  it('names a taken port and the fix', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await expectOneLineStartError(startJvmBroker({ port }), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken.*SAFEROADS_KAFKA_PORT`));
    } finally {
      server.close();
    }
  });

  it('names a failed Maven fetch and the fix, without a half-filled cache', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'saferoads-cache-'));
    const emptyRepo = mkdtempSync(join(tmpdir(), 'saferoads-m2-'));
    try {
      await expectOneLineStartError(
        startJvmBroker({ cacheDir, mavenArgs: ['-o', `-Dmaven.repo.local=${emptyRepo}`] }),
        /Maven could not fetch org\.apache\.kafka:kafka_2\.13:4\.1\.1.*Maven Central/,
      );
      expect(existsSync(join(cacheDir, '4.1.1', 'libs'))).toBe(false);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
      rmSync(emptyRepo, { recursive: true, force: true });
    }
  });

  it('gives up after the start timeout and leaves no broker process', async () => {
    const before = new Set(kafkaBrokerPids());
    await expectOneLineStartError(startJvmBroker({ startTimeoutMs: 1 }), /did not become ready within 1 ms.*SAFEROADS_KAFKA_START_TIMEOUT_MS/);
    const leftover = kafkaBrokerPids().filter((pid) => !before.has(pid));
    expect(leftover).toEqual([]);
  });
});
