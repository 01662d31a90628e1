/**
 * `saferoads run` as operators see it: structured logs on stderr (JSON lines when it is not a
 * terminal, --log-level / SAFEROADS_LOG_LEVEL), and Ctrl-C (SIGINT) at any stage — one summary
 * line, none of the Kafka client's errors, and nothing left behind of a broker it started itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brokers, serviceTopics, uniqueTopic } from '../kafka/helpers.js';
import { built, kafkaBrokerPids, waitUntil } from '../kafka/local/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'saferoads-run-logs-'));
const points = join(dir, 'points.csv');
writeFileSync(points, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,70\nP2,WS1,straight,100\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts the built CLI with `args`; only PATH, HOME and `env` in its environment; stderr is a pipe (not a terminal). */
function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [built('src/cli/main.js'), ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

function runArgs(extra: readonly string[] = []): string[] {
  const t = serviceTopics(uniqueTopic('logs'));
  return [
    'run', '--points', points, '--brokers', brokers().join(','), '--http', 'off', '--shards', '1',
    '--car-topic', t.car, '--weather-topic', t.weather, '--output-topic', t.output,
    '--car-dlq-topic', t.carDlq, '--weather-dlq-topic', t.weatherDlq, '--group-id', t.group, '--partitions', '1',
    ...extra,
  ];
}

type LogRecord = { level: string; msg: string; time: string; component?: string; namespace?: string } & Record<string, unknown>;

/** Every stderr line as a log record (a line that is not JSON fails the test). */
function records(stderr: string): LogRecord[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      let record: LogRecord;
      expect(() => (record = JSON.parse(line) as LogRecord), `not a JSON line: ${line}`).not.toThrow();
      return record!;
    });
}

/** SIGINT once it is consuming; resolves to the exit code and the records. */
async function interruptOnceConsuming(running: Running): Promise<{ code: number | null; logged: LogRecord[] }> {
  const consuming = await waitUntil(() => running.stderr().includes('"msg":"consuming '), 45_000);
  expect(consuming, `never said it is consuming:\n${running.stderr()}`).toBe(true);
  running.child.kill('SIGINT');
  const code = await running.exited;
  return { code, logged: records(running.stderr()) };
}

describe('saferoads run: logs', () => {
  it('writes JSON lines with level and msg when stderr is not a terminal; SIGINT: exit 0, one summary line, no Kafka client errors', async () => {
    const { code, logged } = await interruptOnceConsuming(start(runArgs()));
    expect(code).toBe(0);
    for (const r of logged) {
      expect(['fatal', 'error', 'warn', 'info']).toContain(r.level);
      expect(typeof r.msg).toBe('string');
    }
    // The assignment as fields, not only as text.
    expect(logged.find((r) => r.msg.startsWith('group '))).toMatchObject({ level: 'info', partitions: [0] });
    const summaries = logged.filter((r) => r.msg.startsWith('stopped;'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ level: 'info', carRecords: 0, riskRecords: expect.any(Number) });
    expect(logged.at(-1)).toBe(summaries[0]);
    const text = JSON.stringify(logged);
    expect(text).not.toContain('Crash');
    expect(text).not.toContain('ECONNREFUSED');
    expect(logged.filter((r) => r.component === 'kafkajs')).toEqual([]);
  });

  it('--log-level debug adds the Kafka client records (component kafkajs, with its namespace)', async () => {
    const { code, logged } = await interruptOnceConsuming(start(runArgs(['--log-level', 'debug'])));
    expect(code).toBe(0);
    const kafkajs = logged.filter((r) => r.component === 'kafkajs');
    expect(kafkajs.length).toBeGreaterThan(0);
    expect(kafkajs.filter((r) => typeof r.namespace !== 'string')).toEqual([]);
    expect(kafkajs.some((r) => r.level === 'debug')).toBe(true);
    expect(new Set(kafkajs.map((r) => r.namespace))).toContain('Connection');
    expect(logged.filter((r) => r.msg.startsWith('stopped;'))).toHaveLength(1);
  });

  it('SAFEROADS_LOG_LEVEL=warn hides the info records (the summary too)', async () => {
    const running = start(runArgs(), { SAFEROADS_LOG_LEVEL: 'warn' });
    // Nothing at info says it is consuming: give it time to start, then stop it.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);
    const logged = records(running.stderr());
    expect(logged.filter((r) => r.level === 'info' || r.level === 'debug')).toEqual([]);
  });

  it('a bad --log-level stops it before it starts (exit 2, one line naming the flag)', async () => {
    const running = start(runArgs(['--log-level', 'verbose']));
    expect(await running.exited).toBe(2);
    expect(running.stderr().trimEnd()).toMatch(/^saferoads run: --log-level must be one of fatal, error, warn, info, debug/);
  });
});

describe('saferoads run: SIGINT while its own local broker starts', () => {
  it('stops the start-up: exit 0, no saferoads-* directory left in the temporary folder, no broker left running', async () => {
    // A temporary folder of its own (os.tmpdir() honours TMPDIR): other tests' directories do not count.
    const tmp = mkdtempSync(join(tmpdir(), 'saferoads-sigint-'));
    try {
      // No --brokers and no KAFKA_BROKERS: it starts Apache Kafka on this machine's Java.
      const running = start(['run', '--points', points, '--http', 'off', '--shards', '1'], { TMPDIR: tmp, SAFEROADS_KAFKA_MODE: 'jvm' });
      const starting = await waitUntil(() => readdirSync(tmp).some((name) => name.startsWith('saferoads-kafka-')), 30_000);
      expect(starting, `the broker never started:\n${running.stderr()}`).toBe(true);
      running.child.kill('SIGINT');
      expect(await running.exited).toBe(0);
      const logged = records(running.stderr());
      expect(logged.map((r) => r.msg)).toContain('stopped during start-up');
      expect(readdirSync(tmp).filter((name) => name.startsWith('saferoads-'))).toEqual([]);
      expect(kafkaBrokerPids(tmp)).toEqual([]);
    } finally {
      for (const pid of kafkaBrokerPids(tmp)) process.kill(pid, 'SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
