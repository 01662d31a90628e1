/**
 * `saferoads run` when Kafka cannot be reached: at start (a wrong address: one line, exit 1 after the
 * reach timeout), and mid-stream (the broker of this file's own, halted: the outage logged once when
 * it begins and once when it ends, and exit 1 after --max-broker-outage when it does not end).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JvmBroker, startJvmBroker } from '../../src/kafka/local/jvm-broker.js';
import { built } from '../kafka/local/processes.js';
import { saferoads } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'saferoads-broker-loss-'));
const points = join(dir, 'points.csv');
writeFileSync(points, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,70\nP2,WS1,straight,90\n');

/** A `saferoads run` child process whose stderr is collected. */
class RunProcess {
  readonly child: ChildProcess;
  stderr = '';
  code: number | null | undefined;
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [built('src/cli/main.js'), 'run', ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.code = code;
        resolve(code);
      }),
    );
  }

  /** Lines of stderr matching `pattern`. */
  lines(pattern: RegExp): string[] {
    return this.stderr.split('\n').filter((l) => pattern.test(l));
  }

  /** Waits until stderr has a line matching `pattern` (or the process ended, or `timeoutMs` passed). */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.code === undefined) {
      if (this.lines(pattern).length > 0) return true;
      await sleep(100);
    }
    return this.lines(pattern).length > 0;
  }

  async kill(): Promise<void> {
    if (this.code !== undefined) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

const UNREACHABLE = /Kafka at \S+ unreachable since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(no answer for \d+ s[^)]*\): retrying/;
const REACHABLE_AGAIN = /Kafka at \S+ reachable again after \d+ s/;
const CONSUMING = /consuming \S+ \+ \S+ → \S+/;

describe('saferoads run: Kafka cannot be reached', () => {
  it('at start (nothing listens at --brokers): exit 1 with one line naming the cause and the fix, after the reach timeout', async () => {
    const began = performance.now();
    const result = await saferoads(['run', '--points', points, '--brokers', '127.0.0.1:1', '--http', 'off', '--max-broker-outage', '3']);
    const seconds = (performance.now() - began) / 1000;
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^saferoads run: cannot reach Kafka at 127\.0\.0\.1:1: connection refused; check --brokers .*\(retried for 3 s\)$/);
    // The first connection gives up after min(30 s, --max-broker-outage): 3 s, plus the start of Node.
    expect(seconds).toBeLessThan(20);
  });

  it.each([
    [['--max-broker-outage', '0'], {}, /^saferoads run: --max-broker-outage must be a positive integer \(got "0"\)$/],
    [[], { SAFEROADS_MAX_BROKER_OUTAGE: '5m' }, /^saferoads run: SAFEROADS_MAX_BROKER_OUTAGE must be a positive integer \(got "5m"\)$/],
  ])('%j %j → exit 2 with one line, before connecting', async (args, env, message) => {
    const result = await saferoads(['run', '--points', points, '--brokers', '127.0.0.1:1', '--http', 'off', ...args], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
  });

  describe('mid-stream (a broker of its own, halted)', () => {
    let broker: JvmBroker | undefined;
    const processes: RunProcess[] = [];

    beforeAll(async () => {
      broker = await startJvmBroker();
    }, 120_000);

    afterAll(async () => {
      for (const p of processes) await p.kill();
      if (process.env.SAFEROADS_DUMP) for (const [i, p] of processes.entries()) writeFileSync(`/tmp/broker-loss-${i}.log`, p.stderr);
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    const run = (group: string, outageS: number) => {
      const p = new RunProcess([
        ...['--points', points, '--brokers', broker!.bootstrap, '--http', 'off', '--shards', '1', '--partitions', '1'],
        ...['--group-id', group, '--car-topic', `${group}-car`, '--weather-topic', `${group}-weather`, '--output-topic', `${group}-risk`],
        ...['--car-dlq-topic', `${group}-car.dlq`, '--weather-dlq-topic', `${group}-weather.dlq`],
        ...['--max-broker-outage', String(outageS)],
      ]);
      processes.push(p);
      return p;
    };

    it('a broker back within --max-broker-outage: the service goes on, the outage logged once as it begins and once as it ends', async () => {
      const svc = run('loss-back', 40);
      expect(await svc.waitFor(CONSUMING, 60_000), svc.stderr).toBe(true);
      await broker!.halt('SIGKILL');
      // Noticed after 10 s without an answer (at most half the limit).
      expect(await svc.waitFor(UNREACHABLE, 30_000), svc.stderr).toBe(true);
      await broker!.resume();
      expect(await svc.waitFor(REACHABLE_AGAIN, 30_000), svc.stderr).toBe(true);
      await sleep(2_000);
      expect(svc.code, svc.stderr).toBeUndefined();
      expect(svc.lines(UNREACHABLE), svc.stderr).toHaveLength(1);
      expect(svc.lines(REACHABLE_AGAIN), svc.stderr).toHaveLength(1);
      // kafkajs's own lines about the lost connections (one per attempt of each client) stay out.
      expect(svc.lines(/kafkajs|ECONNREFUSED|KafkaJS\w+Error/), svc.stderr).toEqual([]);
      await svc.kill();
    }, 120_000);

    it('a broker gone for longer than --max-broker-outage: exit 1 after about that long, one clear last line, the outage logged once', async () => {
      const outageS = 8;
      const svc = run('loss-gone', outageS);
      expect(await svc.waitFor(CONSUMING, 60_000), svc.stderr).toBe(true);
      const haltedAt = performance.now();
      await broker!.halt('SIGKILL');
      const code = await Promise.race([svc.exited, sleep(60_000).then(() => 'still running')]);
      const seconds = (performance.now() - haltedAt) / 1000;
      expect(code, svc.stderr).toBe(1);
      // About the limit (counted from the last answer, just before the halt); generous for stopping.
      expect(seconds, svc.stderr).toBeGreaterThan(outageS - 2);
      expect(seconds, svc.stderr).toBeLessThan(outageS + 30);
      const lines = svc.stderr.trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(
        new RegExp(`^saferoads run: Kafka at ${broker!.bootstrap.replace(/\./g, '\\.')} unreachable for \\d+ s \\(since [^)]+\\), longer than --max-broker-outage ${outageS} s: giving up`),
      );
      expect(svc.lines(UNREACHABLE), svc.stderr).toHaveLength(1);
      expect(svc.lines(/kafkajs|ECONNREFUSED|KafkaJS\w+Error|^\s+at /), svc.stderr).toEqual([]);
    }, 120_000);
  });
});
