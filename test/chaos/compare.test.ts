/**
 * The fault suite's own checks, without a broker: the comparison detects every kind of difference
 * on hand-made row sets, and the dataset has the properties the determinism of the cases rests on.
 */
import { describe, expect, it } from 'vitest';
import { keyPartition } from '../../src/kafka/client.js';
import {
  diffRuns,
  type DlqRecord,
  type ExpectedDeadLetter,
  expectCompleteBaseline,
  expectMatchesBaseline,
  formatReport,
  jsonDifferences,
  type OutputRow,
  outputRow,
  PROVENANCE,
} from './compare.js';
import { ADVANCE_S, chaosDataset, GRACE_S, garbage, recordsPerPartition, rowKey, unknownPointRecords } from './dataset.js';
import { distribution, firstProgressMs } from './figures.js';
import { ALONE_BYTES, chunkEnd } from './kafka-io.js';
import type { ExitRecord } from './service-process.js';

function value(point: string, end: number, score = 0.25, count = 3): string {
  return JSON.stringify({ point_id: point, window_end: end, short: { count }, risk: { score, model: 'm' } });
}

let offset = 0;
function row(point: string, end: number, v = value(point, end), key: string | null = point, timestampMs = 0): OutputRow {
  return outputRow({ key: key === null ? null : Buffer.from(key), value: Buffer.from(v), partition: 0, offset: BigInt(offset++), timestampMs });
}

const base = [row('P1', 60), row('P2', 60), row('P1', 120), row('P2', 120)];
const clean = { label: 'unit', baseline: base };

function exit(requested: ExitRecord['requested'], code: number | null, signal: NodeJS.Signals | null = null, forced?: boolean): ExitRecord {
  return { who: 'svc#1', pid: 1, code, signal, requested, forced, atMs: 0, stderrTail: 'last words' };
}

function dead(partition: number, offset: bigint, v: string, headers: Partial<Record<string, string>> = {}, key: string | null = 'X'): DlqRecord {
  return {
    partition: 0,
    offset: '0',
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(v),
    headers: {
      [PROVENANCE.topic]: 'car',
      [PROVENANCE.partition]: String(partition),
      [PROVENANCE.offset]: offset.toString(),
      [PROVENANCE.reason]: 'UNKNOWN_POINT_ID',
      ...headers,
    } as Record<string, string>,
  };
}

describe('the fault-suite comparison', () => {
  it('passes the same rows, in any order, with identical duplicates (at-least-once)', () => {
    const r = diffRuns({ ...clean, faulty: [base[3]!, base[0]!, base[1]!, base[2]!, row('P1', 60), row('P2', 120)] });
    expect(r.ok).toBe(true);
    expect(r.counts).toMatchObject({ missing: 0, extra: 0, differing: 0, identicalDuplicates: 2, distinctFaulty: 4 });
    expect(() => expectMatchesBaseline({ ...clean, faulty: base })).not.toThrow();
  });

  it('reports a missing (point, window end)', () => {
    const r = diffRuns({ ...clean, faulty: base.slice(1) });
    expect(r.ok).toBe(false);
    expect(r.counts.missing).toBe(1);
    expect(r.missing).toEqual(['P1@60']);
    expect(formatReport(r)).toMatch(/missing 1,[\s\S]*P1@00:01\(60\)/);
  });

  it('reports a (point, window end) beyond the fault-free set', () => {
    const r = diffRuns({ ...clean, faulty: [...base, row('P1', 180), row('P3', 60)] });
    expect(r.counts.extra).toBe(2);
    expect(r.extra.map((x) => rowKey(x.pointId, x.windowEnd))).toEqual(['P1@180', 'P3@60']);
  });

  it('reports a duplicate that differs from the fault-free row, naming the fields', () => {
    const r = diffRuns({ ...clean, faulty: [...base, row('P2', 120, value('P2', 120, 0.5, 2))] });
    expect(r.counts).toMatchObject({ differing: 1, missing: 0, identicalDuplicates: 0 });
    expect(r.differing[0]!.fields).toEqual(['short.count: 3 → 2', 'risk.score: 0.25 → 0.5']);
    expect(formatReport(r)).toContain('differing fields: short.count×1, risk.score×1');
  });

  it('reports a single row that differs (no duplicate needed), and byte differences of the same JSON', () => {
    const reordered = JSON.stringify({ window_end: 60, point_id: 'P1', short: { count: 3 }, risk: { score: 0.25, model: 'm' } });
    const r = diffRuns({ ...clean, faulty: [row('P1', 60, reordered), base[1]!, base[2]!, base[3]!] });
    expect(r.counts.differing).toBe(1);
    expect(r.differing[0]!.fields).toEqual(['(same JSON, different bytes)']);
  });

  it('reports a row whose Kafka key is not its point_id, and a record that is no risk record', () => {
    const r = diffRuns({ ...clean, faulty: [...base, row('P1', 60, undefined, 'P2'), row('?', 0, 'not json', 'P1')] });
    expect(r.counts).toMatchObject({ keyMismatch: 1, unparsable: 1 });
  });

  it('car.dlq: none expected means empty; injected ones must all be there with provenance, key and value', () => {
    expect(diffRuns({ ...clean, faulty: base, carDlq: [dead(0, 5n, 'x')] }).counts.dlqUnexpected).toBe(1);

    const expected: ExpectedDeadLetter[] = [
      { partition: 0, offset: 5n, key: 'X', value: Buffer.from('a'), reason: 'UNKNOWN_POINT_ID' },
      { partition: 1, offset: 7n, key: 'X', value: Buffer.from('b'), reason: /./ },
      { partition: 2, offset: 9n, key: 'X', value: Buffer.from('c') },
    ];
    const ok = diffRuns({ ...clean, faulty: base, carTopic: 'car', expectedCarDlq: expected, carDlq: [dead(0, 5n, 'a'), dead(1, 7n, 'b'), dead(2, 9n, 'c'), dead(0, 5n, 'a')] });
    expect(ok.ok).toBe(true);
    expect(ok.counts.dlqDuplicates).toBe(1);

    const bad = diffRuns({
      ...clean,
      faulty: base,
      carTopic: 'car',
      expectedCarDlq: expected,
      carDlq: [dead(0, 5n, 'a', { [PROVENANCE.reason]: 'LATE' }), dead(1, 7n, 'B'), dead(2, 9n, 'c', { [PROVENANCE.topic]: 'other' })],
    });
    expect(bad.counts).toMatchObject({ dlqBad: 3, dlqMissing: 0, dlqUnexpected: 0 });
    expect(bad.dlqBad.map((b) => b.problems.join())).toEqual([
      expect.stringMatching(/saferoads-reason is "LATE", expected UNKNOWN_POINT_ID/),
      expect.stringMatching(/value differs/),
      expect.stringMatching(/saferoads-source-topic is "other"/),
    ]);

    const missing = diffRuns({ ...clean, faulty: base, carTopic: 'car', expectedCarDlq: expected, carDlq: [dead(0, 5n, 'a'), dead(1, 7n, 'b')] });
    expect(missing.counts.dlqMissing).toBe(1);
    expect(missing.dlqMissing[0]!.offset).toBe(9n);

    const big = Buffer.from('0123456789');
    const cut = diffRuns({
      ...clean,
      faulty: base,
      expectedCarDlq: [{ partition: 0, offset: 1n, key: 'X', value: big }, { partition: 0, offset: 2n, key: 'X', value: big }, { partition: 0, offset: 3n, key: 'X', value: big }],
      carDlq: [
        dead(0, 1n, '0123', { [PROVENANCE.truncated]: 'true', [PROVENANCE.valueBytes]: '10' }),
        dead(0, 2n, '0124', { [PROVENANCE.truncated]: 'true', [PROVENANCE.valueBytes]: '10' }),
        dead(0, 3n, '0123', { [PROVENANCE.truncated]: 'true', [PROVENANCE.valueBytes]: '4' }),
      ],
    });
    expect(cut.dlqBad.map((b) => b.problems.join())).toEqual([expect.stringMatching(/not a prefix/), expect.stringMatching(/saferoads-value-bytes is "4"/)]);

    const noHeaders = diffRuns({ ...clean, faulty: base, expectedCarDlq: expected, carDlq: [{ ...dead(0, 5n, 'a'), headers: {} }] });
    expect(noHeaders.counts.dlqUnexpected).toBe(1);
  });

  it('weather.dlq must stay empty', () => {
    expect(diffRuns({ ...clean, faulty: base, weatherDlq: [dead(0, 1n, 'w')] }).counts.weatherDlq).toBe(1);
  });

  it('exits: our SIGKILLs are fine; exiting by itself, or non-zero / hanging after a graceful stop, is not', () => {
    const r = diffRuns({
      ...clean,
      faulty: base,
      exits: [exit('SIGKILL', null, 'SIGKILL'), exit('SIGTERM', 0), exit('SIGINT', 0), exit(undefined, 0), exit(undefined, 1), exit('SIGTERM', 1), exit('SIGTERM', null, 'SIGKILL', true)],
    });
    expect(r.counts.badExits).toBe(4);
    expect(formatReport(r)).toMatch(/exited by itself[\s\S]*\| last words/);
  });

  it('expectMatchesBaseline fails with the summary', () => {
    expect(() => expectMatchesBaseline({ ...clean, faulty: base.slice(0, 3) })).toThrow(/missing 1, extra 0, differing 0/);
  });

  it('expectCompleteBaseline wants each expected row exactly once', () => {
    const keys = new Set(['P1@60', 'P2@60', 'P1@120', 'P2@120']);
    expect(() => expectCompleteBaseline(base, keys, 'unit')).not.toThrow();
    expect(() => expectCompleteBaseline([...base, row('P1', 60)], keys, 'unit')).toThrow(/repeated P1@00:01/);
    expect(() => expectCompleteBaseline(base.slice(1), keys, 'unit')).toThrow(/missing P1@00:01/);
    expect(() => expectCompleteBaseline([...base, row('P9', 60)], keys, 'unit')).toThrow(/extra P9@00:01/);
  });

  it('jsonDifferences names nested paths, nulls and missing fields', () => {
    expect(jsonDifferences({ a: { b: 1, c: null }, d: [1, 2] }, { a: { b: 1, c: 0 }, d: [1, 3], e: true })).toEqual([
      'a.c: null → 0',
      'd.1: 2 → 3',
      'e: undefined → true',
    ]);
  });
});

describe('the fault-suite producer chunks', () => {
  it('sends a large record alone, others in chunks of at most `max`', () => {
    const small = { value: 'x' };
    const big = { value: Buffer.alloc(ALONE_BYTES) };
    const list = [small, small, small, big, small, small];
    expect(chunkEnd(list, 0, 2)).toBe(2);
    expect(chunkEnd(list, 2, 10)).toBe(3);
    expect(chunkEnd(list, 3, 10)).toBe(4);
    expect(chunkEnd(list, 4, 10)).toBe(6);
    expect(chunkEnd(list, 0, 10, 1)).toBe(1);
    expect(chunkEnd(list, 6, 10)).toBe(6);
  });
});

describe('the fault-suite figures', () => {
  it('first progress after a restart: the first row newer than anything before the kill', () => {
    const rows = [row('P1', 60, undefined, 'P1', 1000), row('P1', 120, undefined, 'P1', 2000), row('P1', 60, undefined, 'P1', 5000), row('P1', 180, undefined, 'P1', 6500)];
    // killed at 3000, restarted at 4000: the replayed 60 at 5000 is not progress, 180 at 6500 is.
    expect(firstProgressMs(rows, 3000, 4000)).toBe(2500);
    expect(firstProgressMs(rows, 7000, 7000)).toBeUndefined();
    // ... but not if it came after the next kill (at 6000).
    expect(firstProgressMs(rows, 3000, 4000, undefined, 6000)).toBeUndefined();
    expect(firstProgressMs(rows, 3000, 4000, new Set(['P2']))).toBeUndefined();
    expect(distribution([300, 100, 200, 400])).toEqual({ samples: [100, 200, 300, 400], p50: 200, max: 400 });
  });
});

describe('the fault-suite dataset', () => {
  const d = chaosDataset({ points: 24, partitions: 6, minutes: 12, ratePerSecond: 10, seed: 7 }, Date.UTC(2026, 0, 5, 12, 0, 30));

  it('every partition owns a point and starts at T_start and ends at T_end, other events strictly between', () => {
    expect(recordsPerPartition(d.records, 6).every((n) => n >= 2)).toBe(true);
    for (let p = 0; p < 6; p++) {
      const mine = d.records.filter((r) => r.partition === p);
      expect(mine[0]!.t).toBe(d.tStart);
      expect(mine.at(-1)!.t).toBe(d.tEnd);
      expect(mine.slice(1, -1).every((r) => r.t > d.tStart && r.t < d.tEnd)).toBe(true);
      expect(keyPartition(d.anchors[p]!, 6)).toBe(p);
    }
    expect(d.tEnd - d.tStart).toBe(12 * 60);
    expect(d.tEnd * 1000).toBeLessThan(Date.UTC(2026, 0, 5, 12, 0, 30) - 30 * 60_000);
  });

  it('is in event-time order, keyed by point_id, and the same for the same seed', () => {
    expect(d.records.every((r, i) => i === 0 || r.t >= d.records[i - 1]!.t)).toBe(true);
    expect(d.records.every((r) => JSON.parse(r.value as string).point_id === r.key)).toBe(true);
    const again = chaosDataset({ points: 24, partitions: 6, minutes: 12, ratePerSecond: 10, seed: 7 }, Date.UTC(2026, 0, 5, 12, 0, 30));
    expect(again.records).toEqual(d.records);
    expect(again.weather).toEqual(d.weather);
  });

  it('expects every point at every window end from the first (T_start − grace) to the last (T_end − grace)', () => {
    expect(d.firstEnd).toBe((Math.floor((d.tStart - GRACE_S) / ADVANCE_S) + 1) * ADVANCE_S);
    expect(d.lastEnd).toBe(Math.floor((d.tEnd - GRACE_S) / ADVANCE_S) * ADVANCE_S);
    expect(d.expectedKeys.size).toBe(24 * ((d.lastEnd - d.firstEnd) / 60 + 1));
    expect(d.weather.every((w) => w.timestamp < d.tEnd + 10 * 60)).toBe(true);
    expect(Math.min(...d.weather.map((w) => w.timestamp))).toBeLessThanOrEqual(d.firstEnd - 600);
  });

  it('refuses a point count that leaves a partition without a point', () => {
    expect(() => chaosDataset({ points: 1, partitions: 6, minutes: 2, ratePerSecond: 1, seed: 1 })).toThrow(/no point of 1 hashes to partition/);
  });

  it('bad records: unknown point ids keyed by themselves, and garbage that is neither JSON nor FlatBuffers', () => {
    const bad = unknownPointRecords(d, 100);
    expect(new Set(bad.map((r) => r.partition)).size).toBe(6);
    expect(bad.every((r) => r.key.startsWith('UNKNOWN-') && JSON.parse(r.value as string).point_id === r.key)).toBe(true);
    const g = garbage(1_048_000, 3);
    expect(g.length).toBe(1_048_000);
    expect(g.equals(garbage(1_048_000, 3))).toBe(true);
    expect(() => JSON.parse(g.toString('utf8'))).toThrow();
  });
});
