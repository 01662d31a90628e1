/**
 * The ground the fault cases stand on: the fault-free run of a dataset is reproducible. Two runs of
 * the same input — one with everything produced before the service starts, one paced while it runs —
 * publish exactly the same rows, byte for byte, each once.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { brokers } from '../kafka/helpers.js';
import { diffRuns, formatReport } from './compare.js';
import { CHAOS_MODE, chaosDataset, pick, rowKey, runBaseline } from './harness.js';

describe(`fault suite (${CHAOS_MODE}): the fault-free run`, () => {
  it(
    'is reproducible: pre-produced and paced runs of the same input publish identical rows',
    async () => {
      const d = chaosDataset({ points: 24, partitions: 3, minutes: pick(10, 30), ratePerSecond: 10, seed: 11 });
      const first = await runBaseline('repro-a', brokers(), d);
      const second = await runBaseline('repro-b', brokers(), d, { minutesPerSecond: pick(2, 3) });

      const report = diffRuns({ label: 'reproducible', baseline: first.rows, faulty: second.rows });
      expect(report.counts, formatReport(report)).toMatchObject({ missing: 0, extra: 0, differing: 0, identicalDuplicates: 0 });
      const canonical = (rows: typeof first.rows) =>
        rows.map((r) => [rowKey(r.pointId, r.windowEnd), r.key, r.value].join('\t')).sort();
      expect(canonical(second.rows)).toEqual(canonical(first.rows));
      expect(first.rows.length).toBe(d.expectedKeys.size);
      for (const dir of [first.dir, second.dir]) rmSync(dir, { recursive: true, force: true });
      process.stdout.write(`[chaos] reproducible (${pick('short', 'full')}): ${first.rows.length} rows identical in both runs (${first.wallMs} ms pre-produced, ${second.wallMs} ms paced)\n`);
    },
    pick(180_000, 600_000),
  );
});
