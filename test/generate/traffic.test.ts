import { describe, expect, it } from 'vitest';
import { EventColumnsBuilder, type SeedLoopEvent, seedEventJson } from '../../src/codec/seed-json.js';
import { ReferenceKernel } from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { generateRoadPoints } from '../../src/generate/points.js';
import { LOOP_SPACING_M, generateTraffic, lanesOf, type TrafficOptions } from '../../src/generate/traffic.js';

const START = 1_700_000_040; // a minute boundary
const points = generateRoadPoints(6, 7);
const base: TrafficOptions = { points, ratePerSecond: 12, durationS: 1800, startS: START, seed: 42 };
const all = (o: Partial<TrafficOptions> = {}) => [...generateTraffic({ ...base, ...o })];
const events = all();

describe('generateTraffic determinism', () => {
  it('gives byte-identical output for the same seed', () => {
    const again = all();
    expect(again.length).toBe(events.length);
    expect(again.map(seedEventJson).join('\n')).toBe(events.map(seedEventJson).join('\n'));
  });

  it('gives different output for a different seed', () => {
    const other = all({ seed: 43 }).slice(0, 100).map(seedEventJson);
    expect(other).not.toEqual(events.slice(0, 100).map(seedEventJson));
  });
});

describe('generateTraffic invariants', () => {
  it('keeps the loop timestamps ordered: tIn1 < tOut1 <= tIn2 < tOut2', () => {
    for (const e of events) {
      expect(e.timestamp_in_1).toBeLessThan(e.timestamp_out_1);
      expect(e.timestamp_out_1).toBeLessThanOrEqual(e.timestamp_in_2);
      expect(e.timestamp_in_2).toBeLessThan(e.timestamp_out_2);
    }
  });

  it('times the loops by the speed: loop 2 is entered LOOP_SPACING_M after loop 1', () => {
    for (const e of events) {
      expect(Math.abs(e.timestamp_in_2 - e.timestamp_in_1 - LOOP_SPACING_M / (e.speed / 3.6))).toBeLessThan(0.002);
    }
  });

  it('keeps gaps consistent: gap_meters ≈ gap_seconds × speed / 3.6, never negative', () => {
    for (const e of events) {
      expect(e.gap_seconds).toBeGreaterThanOrEqual(0);
      expect(Math.abs(e.gap_meters - (e.gap_seconds * e.speed) / 3.6)).toBeLessThanOrEqual(0.0051);
    }
    // Mostly real gaps, not all zero.
    expect(events.filter((e) => e.gap_seconds > 0).length / events.length).toBeGreaterThan(0.5);
  });

  it('yields events in event-time order (timestamp_out_2), so per point as well, inside [start, start + duration)', () => {
    const last = new Map<string, number>();
    let previous = -Infinity;
    for (const e of events) {
      expect(e.timestamp_out_2).toBeGreaterThanOrEqual(previous);
      previous = e.timestamp_out_2;
      expect(e.timestamp_out_2).toBeGreaterThanOrEqual(last.get(e.point_id) ?? -Infinity);
      last.set(e.point_id, e.timestamp_out_2);
      expect(e.timestamp_out_2).toBeGreaterThanOrEqual(START);
      expect(e.timestamp_out_2).toBeLessThan(START + base.durationS);
    }
    expect(last.size).toBe(points.length);
  });

  it('produces the requested rate within 5%', () => {
    const rate = events.length / base.durationS;
    expect(rate).toBeGreaterThan(base.ratePerSecond * 0.95);
    expect(rate).toBeLessThan(base.ratePerSecond * 1.05);
    const fast = all({ ratePerSecond: 200, durationS: 300 });
    expect(fast.length / 300).toBeGreaterThan(190);
    expect(fast.length / 300).toBeLessThan(210);
  });

  it('uses 1–3 lanes per point, the point’s own', () => {
    for (const p of points) {
      const lanes = new Set(events.filter((e) => e.point_id === p.pointId).map((e) => e.lane));
      expect(lanes.size).toBe(lanesOf(p));
      expect(Math.min(...lanes)).toBe(1);
      expect(Math.max(...lanes)).toBe(lanesOf(p));
    }
  });

  it('has realistic vehicles: ~4.5 m cars, ~10% trucks of 10–18 m, speeds around the allowed speed with occasional slow-downs', () => {
    const trucks = events.filter((e) => e.length > 7.5);
    const cars = events.filter((e) => e.length <= 7.5);
    expect(trucks.length / events.length).toBeGreaterThan(0.07);
    expect(trucks.length / events.length).toBeLessThan(0.13);
    for (const t of trucks) {
      expect(t.length).toBeGreaterThanOrEqual(10);
      expect(t.length).toBeLessThanOrEqual(18);
    }
    const carMean = cars.reduce((s, e) => s + e.length, 0) / cars.length;
    expect(Math.abs(carMean - 4.5)).toBeLessThan(0.2);
    for (const p of points) {
      const speeds = events.filter((e) => e.point_id === p.pointId).map((e) => e.speed);
      const median = [...speeds].sort((a, b) => a - b)[Math.floor(speeds.length / 2)]!;
      expect(median).toBeGreaterThan(p.allowedSpeedKmh! * 0.75);
      expect(median).toBeLessThan(p.allowedSpeedKmh! * 1.15);
      expect(Math.max(...speeds) - Math.min(...speeds)).toBeGreaterThan(10);
    }
    // Slow-downs: some vehicles well below half the allowed speed somewhere.
    const allowed = new Map(points.map((p) => [p.pointId, p.allowedSpeedKmh!]));
    expect(events.some((e) => e.speed < 0.5 * allowed.get(e.point_id)!)).toBe(true);
  });

  it('every event is accepted by the window kernel (no range, timestamp or lateness refusals)', () => {
    const index = new Map(points.map((p, i) => [p.pointId, i]));
    const kernel = new ReferenceKernel({ spec: windowSpec(), pointCapacity: points.length, partitions: 1, startWallClockS: START });
    points.forEach((p, i) => kernel.setPoint(i, p.allowedSpeedKmh));
    const b = new EventColumnsBuilder(1000);
    let rejected = 0;
    let rows = 0;
    const flush = () => {
      const out = kernel.ingest(b.columns, START + base.durationS);
      rejected += out.rejections.length;
      rows += out.rows.length;
      b.reset();
    };
    for (const e of events) {
      expect(b.appendEvent(e, 0, (id) => index.get(id))).toBe(0);
      if (b.isFull) flush();
    }
    flush();
    expect(rejected).toBe(0);
    expect(rows).toBeGreaterThan(0);
  });
});

describe('generateTraffic jitter', () => {
  const jittered = all({ jitterS: 3 });
  const key = (e: SeedLoopEvent) => seedEventJson(e);

  it('is a permutation of the unjittered events', () => {
    expect(jittered.map(key).sort()).toEqual(events.map(key).sort());
  });

  it('shuffles arrival order, but never by more than jitterS of event time', () => {
    let inversions = 0;
    let maxSeen = -Infinity;
    for (const e of jittered) {
      if (e.timestamp_out_2 < maxSeen) inversions++;
      expect(e.timestamp_out_2).toBeGreaterThan(maxSeen - 3);
      maxSeen = Math.max(maxSeen, e.timestamp_out_2);
    }
    expect(inversions).toBeGreaterThan(0);
  });

  it('is deterministic too', () => {
    expect(all({ jitterS: 3 }).map(key)).toEqual(jittered.map(key));
  });
});
