import { describe, expect, it } from 'vitest';
import { EventColumnsBuilder, type SeedLoopEvent, seedEventJson } from '../../src/codec/seed-json.js';
import { ReferenceKernel } from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { generateRoadPoints } from '../../src/generate/points.js';
import { rateLimits } from '../../src/generate/lanes.js';
import { LOOP_SPACING_M, generateTraffic, lanesOf, type TrafficOptions } from '../../src/generate/traffic.js';

/** Wednesday 2023-11-15 09:00 UTC = 10:00 in Warsaw: ordinary daytime traffic. */
const START = 1_700_038_800;
const points = generateRoadPoints(6, 7);
const base: TrafficOptions = { points, durationS: 1800, startS: START, seed: 42 };
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

  it('keeps gaps consistent: gap_meters ≈ gap_seconds × speed / 3.6, gap_seconds = tIn1 − previous tOut1 of the lane', () => {
    const lastOut1 = new Map<string, number>();
    let checked = 0;
    for (const e of [...events].sort((a, b) => a.timestamp_in_1 - b.timestamp_in_1)) {
      expect(e.gap_seconds).toBeGreaterThan(0);
      expect(Math.abs(e.gap_meters - (e.gap_seconds * e.speed) / 3.6)).toBeLessThanOrEqual(0.0051);
      const lane = `${e.point_id}/${e.lane}`;
      const previous = lastOut1.get(lane);
      if (previous !== undefined) {
        expect(Math.abs(e.gap_seconds - (e.timestamp_in_1 - previous))).toBeLessThan(0.0015);
        checked++;
      }
      lastOut1.set(lane, e.timestamp_out_1);
    }
    expect(checked).toBeGreaterThan(events.length * 0.9);
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

  it('without the daily profile (and dry, without incidents) produces the requested rate within 5%', () => {
    const flat = { dailyProfile: false, weather: false, incidentsPerPointDay: 0 } as const;
    const { typicalPerSecond, maxPerSecond } = rateLimits(points);
    const typical = all(flat);
    expect(typical.length / base.durationS).toBeGreaterThan(typicalPerSecond * 0.95);
    expect(typical.length / base.durationS).toBeLessThan(typicalPerSecond * 1.05);
    const busy = all({ ...flat, ratePerSecond: maxPerSecond * 0.9 });
    expect(busy.length / base.durationS).toBeGreaterThan(maxPerSecond * 0.9 * 0.95);
    expect(busy.length / base.durationS).toBeLessThan(maxPerSecond * 0.9 * 1.05);
  });

  it('refuses a rate the lanes cannot carry in the rush hour, naming the limit', () => {
    const { maxPerSecond } = rateLimits(points);
    expect(() => all({ ratePerSecond: maxPerSecond * 1.01 })).toThrow(/exceeds what 6 points \(\d+ lanes\) can carry: \d+\.\d\d vehicles\/s/);
    expect(() => all({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(all({ ratePerSecond: maxPerSecond, durationS: 60 }).length).toBeGreaterThan(0);
  });

  it('uses 1–3 lanes per point, the point’s own', () => {
    for (const p of points) {
      const lanes = new Set(events.filter((e) => e.point_id === p.pointId).map((e) => e.lane));
      expect(lanes.size).toBe(lanesOf(p));
      expect(Math.min(...lanes)).toBe(1);
      expect(Math.max(...lanes)).toBe(lanesOf(p));
    }
  });

  it('has realistic vehicles: ~4.5 m cars, 5–15 % trucks of 10–18 m at <= 90 km/h, speeds around the allowed speed', () => {
    const dry = all({ weather: false, incidentsPerPointDay: 0 });
    const trucks = dry.filter((e) => e.length > 7.5);
    const cars = dry.filter((e) => e.length <= 7.5);
    expect(trucks.length / dry.length).toBeGreaterThan(0.05);
    expect(trucks.length / dry.length).toBeLessThan(0.15);
    for (const t of trucks) {
      expect(t.length).toBeGreaterThanOrEqual(10);
      expect(t.length).toBeLessThanOrEqual(18);
      expect(t.speed).toBeLessThanOrEqual(90);
    }
    const carMean = cars.reduce((s, e) => s + e.length, 0) / cars.length;
    expect(Math.abs(carMean - 4.5)).toBeLessThan(0.2);
    for (const p of points) {
      const speeds = dry.filter((e) => e.point_id === p.pointId).map((e) => e.speed);
      const median = [...speeds].sort((a, b) => a - b)[Math.floor(speeds.length / 2)]!;
      expect(median).toBeGreaterThan(p.allowedSpeedKmh! * 0.8);
      expect(median).toBeLessThan(p.allowedSpeedKmh! * 1.15);
      expect(Math.max(...speeds) - Math.min(...speeds)).toBeGreaterThan(10);
    }
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
