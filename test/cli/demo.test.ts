/**
 * `npm start` (saferoads demo) as a new user runs it: its own broker, readable scores with a legend,
 * the dashboard's address with the demo's points on it,
 * and Ctrl-C — sent to the whole process group, as a terminal does — ending it with one summary line,
 * none of the Kafka client's errors, no broker and no temporary folder left behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { built, kafkaBrokerPids, waitUntil } from '../kafka/local/processes.js';
import { DEFAULT_MODEL_PATH, loadRiskModel } from '../../src/model/risk-model.js';

describe('saferoads demo', () => {
  it('prints the legend and readable scores, serves its dashboard; Ctrl-C to the process group stops everything cleanly', async () => {
    // A temporary folder of its own (os.tmpdir() honours TMPDIR): other tests' directories do not count.
    const tmp = mkdtempSync(join(tmpdir(), 'saferoads-demo-test-'));
    const child = spawn(process.execPath, [built('src/cli/main.js'), 'demo', '--http', '127.0.0.1:0'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp, SAFEROADS_KAFKA_MODE: 'jvm' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own, as a shell gives a foreground job.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // The backfill's windows come out as soon as the service reads them.
      const scored = await waitUntil(() => stdout.split('\n').length > 6, 90_000);
      expect(scored, `no scores printed:\n${stderr}`).toBe(true);
      // It says where its dashboard is, and the page there shows the demo's eight points.
      const url = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1];
      expect(url, stderr).toBeDefined();
      const page = await fetch(url!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="tiles"');
      const now = (await (await fetch(`${url}api/now`)).json()) as { point_id: string }[];
      expect(now.map((r) => r.point_id).sort()).toEqual(['P0001', 'P0002', 'P0003', 'P0004', 'P0005', 'P0006', 'P0007', 'P0008']);
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);

      const [legendLine, ...lines] = stdout.trimEnd().split('\n');
      // The shipped model's own bands (its file's levels).
      const { elevated, high } = loadRiskModel(DEFAULT_MODEL_PATH).levels!;
      expect(legendLine.startsWith(`risk: LOW < ${elevated} <= ELEVATED < ${high} <= HIGH; `)).toBe(true);
      expect(legendLine).toMatch(/not a crash probability/);
      for (const line of lines) expect(line).toMatch(/^\d\d:\d\d \S+ +P\d{4} +(LOW|ELEVATED|HIGH) +\d\.\d\d  .+ · +\d+ veh\/min/);

      const logged = stderr.trimEnd().split('\n');
      expect(logged.filter((l) => /Crash|ECONNREFUSED|ECONNRESET|kafkajs/.test(l)), stderr).toEqual([]);
      expect(logged.filter((l) => l.includes('stopped; ')), stderr).toHaveLength(1);
      expect(await waitUntil(() => kafkaBrokerPids(tmp).length === 0, 10_000)).toBe(true);
      expect(readdirSync(tmp).filter((name) => name.startsWith('saferoads-'))).toEqual([]);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      for (const pid of kafkaBrokerPids(tmp)) process.kill(pid, 'SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 150_000);
});
