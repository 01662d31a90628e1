import { describe, expect, it } from 'vitest';
import { windowSpec } from '../../../src/kernel/window-spec.js';
import { labelRows, timeBlockedFolds } from '../../../src/model/train/dataset.js';
import type { HistoryRows } from '../../../src/model/train/history.js';
import { anyIn, type Labels } from '../../../src/model/train/labels.js';

/** Rows of `points` points, one per minute from t0 for `minutes`, every one reliable. */
function history(points: number, t0: number, minutes: number, unreliable: (r: number) => boolean = () => false): HistoryRows {
  const count = points * minutes;
  const h = {
    count,
    point: new Int32Array(count),
    windowEnd: new Float64Array(count),
    features: new Float64Array(0),
    extras: new Float64Array(0),
    reliable: new Uint8Array(count),
    firstEventS: t0 - 60,
    lastEventS: t0 + minutes * 60,
    events: 0,
    outside: 0,
    refused: {},
    badLines: { events: { count: 0, first: [] }, weather: { count: 0, first: [] } },
  };
  for (let m = 0, r = 0; m < minutes; m++) {
    for (let p = 0; p < points; p++, r++) {
      h.point[r] = p;
      h.windowEnd[r] = t0 + m * 60;
      h.reliable[r] = unreliable(r) ? 0 : 1;
    }
  }
  return h;
}

const T0 = 1_800_000_000 - (1_800_000_000 % 3600);
const spec = windowSpec();

describe('labels', () => {
  it('an incident counts for the window ends in [t − horizon, t): (T, T + horizon] holds it', () => {
    const times = Float64Array.from([100, 200]);
    expect(anyIn(times, 99.9, 100)).toBe(true);
    expect(anyIn(times, 100, 150)).toBe(false);
    expect(anyIn(times, 150, 200)).toBe(true);
    expect(anyIn(times, 200, 1000)).toBe(false);
    expect(anyIn(new Float64Array(0), 0, 1e9)).toBe(false);
  });

  it('labels rows, leaving out the warm-up, the unobserved horizon and implausible rows', () => {
    const h = history(2, T0, 120, (r) => r === 100);
    // Point 1: an incident 5 minutes after the end of minute 60.
    const labels: Labels = { byPoint: [new Float64Array(0), Float64Array.from([T0 + 60 * 60 + 300])], total: 1, kinds: {}, unknownPoints: 0 };
    const rows = labelRows(h, labels, spec, { horizonS: 600 });
    // Warm-up: ends before the first event + 10 min; horizon: ends after the last event − 10 min.
    expect(rows.leftOut.warmUp).toBe(2 * 9);
    expect(rows.leftOut.unobservedHorizon).toBe(2 * 9);
    expect(rows.leftOut.unreliable).toBe(1);
    expect(rows.index.length).toBe(240 - 36 - 1);
    // The incident at T0 + 65 min: ends T0 + 55 … 64 min of point 1 have it within their next 10 minutes.
    const positive = [...rows.index].filter((_, k) => rows.label[k] === 1).map((r) => [h.point[r], (h.windowEnd[r] - T0) / 60]);
    expect(positive.every(([p]) => p === 1)).toBe(true);
    expect(positive.map(([, m]) => m)).toEqual([55, 56, 57, 58, 59, 60, 61, 62, 63, 64]);
    expect(rows.positives).toBe(10);
  });
});

describe('timeBlockedFolds', () => {
  it('deals whole hours to folds, tests each row once, and embargoes training rows near the test period', () => {
    const h = history(3, T0, 6 * 60);
    const labels: Labels = { byPoint: [new Float64Array(0), new Float64Array(0), new Float64Array(0)], total: 0, kinds: {}, unknownPoints: 0 };
    const rows = labelRows(h, labels, spec, { horizonS: 600 });
    const folds = timeBlockedFolds(h, rows, 3, 3600, 1200);
    expect(folds).toHaveLength(3);
    const seen = new Uint8Array(rows.index.length);
    for (const f of folds) {
      expect(f.fromS % 3600).toBe(0);
      expect(f.toS % 3600).toBe(0);
      for (const k of f.test) {
        seen[k]++;
        const end = h.windowEnd[rows.index[k]];
        expect(end >= f.fromS && end < f.toS).toBe(true);
      }
      for (const k of f.train) {
        const end = h.windowEnd[rows.index[k]];
        expect(end <= f.fromS - 1200 || end >= f.toS + 1200).toBe(true);
      }
      expect(f.train.length + f.test.length + f.embargoed).toBe(rows.index.length);
    }
    expect([...seen].every((n) => n === 1)).toBe(true);
    expect(() => timeBlockedFolds(h, rows, 10, 3600, 0)).toThrow(/10 folds need at least 10 blocks/);
  });
});
