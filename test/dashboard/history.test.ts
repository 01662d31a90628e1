import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { FIELDS, RecordHistory } from '../../src/dashboard/history.js';
import { record } from './records.js';

const A = 60;

describe('RecordHistory', () => {
  it('keeps 6 hours at the advance by default (360 ends at 60 s), configurable', () => {
    expect(new RecordHistory().capacity).toBe(360);
    expect(new RecordHistory({ advanceS: 300 }).capacity).toBe(72);
    expect(new RecordHistory({ hours: 1 }).capacity).toBe(60);
    expect(new RecordHistory({ ends: 5, advanceS: 300 }).capacity).toBe(5);
    const h = new RecordHistory();
    h.setAdvance(120);
    expect(h.capacity).toBe(180);
    expect(() => new RecordHistory({ ends: 0 })).toThrow(ConfigError);
    expect(() => new RecordHistory({ advanceS: -1 })).toThrow(ConfigError);
  });

  it('is a ring per point: the last N ends in time order, memory fixed at the first record', () => {
    const h = new RecordHistory({ ends: 3 });
    h.add(record('P1', 1 * A, 0.1));
    const bytes = h.ringBytes;
    // 8 bytes × (window_end + the fields + 2 contributions) × 3 ends
    expect(h.bytesPerEntry).toBe(8 * (1 + FIELDS.length + 2));
    expect(bytes).toBe(h.bytesPerEntry * 3);
    for (let k = 2; k <= 7; k++) h.add(record('P1', k * A, k / 10));
    expect(h.ringBytes).toBe(bytes);
    const s = h.history('P1')!;
    expect(s.window_end).toEqual([5 * A, 6 * A, 7 * A]);
    expect(s.series.score).toEqual([0.5, 0.6, 0.7]);
    expect(s.contributions.speed).toEqual([0.25, 0.3, 0.35]);
    expect(h.latest('P1')!.window_end).toBe(7 * A);
  });

  it('stores the level inputs, null where the record had none', () => {
    const h = new RecordHistory({ ends: 4 });
    h.add(record('P1', A, 0.4, { reliable: false }));
    h.add(record('P1', 2 * A, 0.2, { weather: false, speed: null }));
    const s = h.history('P1')!;
    expect(s.series.reliable).toEqual([0, 1]);
    expect(s.series.mean_speed_kmh).toEqual([80, null]);
    expect(s.series.v85_kmh).toEqual([90, null]);
    expect(s.series.occupancy).toEqual([0.1, null]);
    expect(s.series.flow_vph).toEqual([120, 120]);
    expect(s.series.count).toEqual([10, 10]);
    expect(s.series.temp).toEqual([-2, null]);
    expect(s.series.snow).toEqual([1.5, null]);
    expect(s.series.rain).toEqual([0, null]);
  });

  it('a record published again (same point and end) replaces its row, never duplicates it', () => {
    const h = new RecordHistory({ ends: 5 });
    for (let k = 1; k <= 4; k++) h.add(record('P1', k * A, k / 10));
    // A restart publishes from end 2 again, with (here) other scores, then goes on.
    for (let k = 2; k <= 5; k++) h.add(record('P1', k * A, k / 100));
    const s = h.history('P1')!;
    expect(s.window_end).toEqual([1, 2, 3, 4, 5].map((k) => k * A));
    expect(s.series.score).toEqual([0.1, 0.02, 0.03, 0.04, 0.05]);
    // The latest in full is the one of the greatest end, replaced too.
    h.add(record('P1', 5 * A, 0.9));
    expect(h.latest('P1')!.risk.score).toBe(0.9);
    expect(h.history('P1')!.window_end).toHaveLength(5);
    // An older end published again does not make it the latest.
    h.add(record('P1', 3 * A, 0.33));
    expect(h.latest('P1')!.window_end).toBe(5 * A);
  });

  it('an end older than everything kept is dropped; a missing one is inserted in order', () => {
    const h = new RecordHistory({ ends: 3 });
    for (const k of [4, 5, 7]) h.add(record('P1', k * A, k / 10));
    h.add(record('P1', 1 * A, 0.1));
    expect(h.history('P1')!.window_end).toEqual([4, 5, 7].map((k) => k * A));
    h.add(record('P1', 6 * A, 0.6));
    expect(h.history('P1')!.window_end).toEqual([5, 6, 7].map((k) => k * A));
    expect(h.history('P1')!.series.score).toEqual([0.5, 0.6, 0.7]);
    const g = new RecordHistory({ ends: 4 });
    for (const k of [1, 3]) g.add(record('P1', k * A, k / 10));
    g.add(record('P1', 2 * A, 0.2));
    expect(g.history('P1')!.window_end).toEqual([1, 2, 3].map((k) => k * A));
    expect(g.history('P1')!.series.score).toEqual([0.1, 0.2, 0.3]);
  });

  it('now(): the latest record of each point, riskiest first; unknown point: undefined', () => {
    const h = new RecordHistory({ ends: 3 });
    h.add(record('P2', A, 0.9));
    h.add(record('P2', 2 * A, 0.3));
    h.add(record('P10', 2 * A, 0.5));
    h.add(record('P1', 2 * A, 0.3));
    expect(h.now().map((r) => [r.point_id, r.risk.score])).toEqual([
      ['P10', 0.5],
      ['P1', 0.3],
      ['P2', 0.3],
    ]);
    expect(h.history('nope')).toBeUndefined();
  });

  it('heat(): points × the last ends up to the latest, null where a point has no row', () => {
    const h = new RecordHistory({ ends: 10 });
    for (let k = 1; k <= 5; k++) h.add(record('P1', k * A, k / 10));
    h.add(record('P2', 4 * A, 0.7));
    const m = h.heat(3);
    expect(m.window_end).toEqual([3 * A, 4 * A, 5 * A]);
    expect(m.points).toEqual(['P1', 'P2']);
    expect(m.scores).toEqual([
      [0.3, 0.4, 0.5],
      [null, 0.7, null],
    ]);
    // Never more than what is kept.
    expect(h.heat(60).window_end).toHaveLength(10);
    expect(new RecordHistory().heat(5)).toEqual({ advance_s: 60, window_end: [], points: [], scores: [] });
  });

  it('keeps at most maxPoints points', () => {
    const h = new RecordHistory({ ends: 2, maxPoints: 2 });
    for (const id of ['a', 'b', 'c']) h.add(record(id, A, 0.1));
    expect(h.pointCount).toBe(2);
    expect(h.dropped).toBe(1);
    expect(h.has('c')).toBe(false);
  });
});
