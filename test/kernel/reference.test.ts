import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PANE_COUNTER_MAX, Reason, SPEED_BIN_KMH, type WindowRow, type WindowStats } from '../../src/kernel/contract.js';
import type { KernelOptions, KernelOutput } from '../../src/kernel/kernel.js';
import {
  ReferenceKernel,
  eventColumns,
  nearestRankP85,
  v85FromSpeeds,
  type LoopEvent,
} from '../../src/kernel/reference.js';
import { windowSpec } from '../../src/kernel/window-spec.js';

/*
 * Hand-computed cases for the reference kernel. Unless a test says otherwise the spec is
 * advance 60 s, short 60 s, long 180 s (3 panes), grace 10 s, max skew 300 s, idle timeout 60 s,
 * lead 60 s → ringPanes = 3 + ceil(10/60) + ceil(60/60) = 5.
 */
const SPEC = windowSpec({ advanceS: 60, shortS: 60, longS: 180, graceS: 10, maxSkewS: 300, idleTimeoutS: 60, leadS: 60 });

function kernel(over: Partial<KernelOptions> = {}, points: Array<[number, number | null]> = [[0, 50]]): ReferenceKernel {
  const k = new ReferenceKernel({ spec: SPEC, pointCapacity: 16, partitions: 1, startWallClockS: 0, ...over });
  for (const [p, allowed] of points) k.setPoint(p, allowed);
  return k;
}

/** An event at time t; occupancy (tOut1 − tIn1) 0.5 s unless `occ` is given. */
function ev(t: number, o: Partial<LoopEvent> & { occ?: number } = {}): LoopEvent {
  const { occ = 0.5, ...rest } = o;
  const tIn1 = Math.max(0, t - 2);
  return {
    tIn1,
    tOut1: tIn1 + occ,
    tIn2: Math.max(0, t - 1),
    tOut2: t,
    speed: 50,
    gapM: 20,
    gapS: 1.5,
    length: 4,
    point: 0,
    lane: 1,
    partition: 0,
    ...rest,
  };
}

function ingest(k: ReferenceKernel, events: LoopEvent[], nowS: number): KernelOutput {
  return k.ingest(eventColumns(events), nowS);
}

function row(out: KernelOutput, point: number, end: number): WindowRow {
  const r = out.rows.find((x) => x.point === point && x.windowEnd === end);
  if (!r) throw new Error(`no row for point ${point} end ${end}`);
  return r;
}

const NULL_STATS = {
  meanSpeedKmh: null,
  speedStdKmh: null,
  v85Kmh: null,
  meanGapM: null,
  minGapM: null,
  meanGapS: null,
  minGapS: null,
  headwayLt1sShare: null,
  headwayLt2sShare: null,
  meanLengthM: null,
  longVehicleShare: null,
  occupancy: null,
  overLimitShare: null,
  laneSpeedSpreadKmh: null,
};

describe('first event and window ends', () => {
  it('the first event sets W = t0 − grace and the first window end is the end of the pane holding W', () => {
    const k = kernel();
    expect(k.watermark).toBe(-Infinity);
    const out = ingest(k, [ev(1000)], 1000);
    expect(out).toEqual({ rejections: [], rows: [], finalEnds: [] });
    expect(k.watermark).toBe(990);
    // W = 990 lies in pane [960, 1020): 1020 is the first window end, emitted once W >= 1020.
    expect(k.advanceWatermark(1019.5).finalEnds).toEqual([]);
    const o2 = k.advanceWatermark(1020);
    expect(o2.finalEnds).toEqual([1020]);
    expect(o2.rows.map((r) => [r.point, r.windowEnd])).toEqual([[0, 1020]]);
    expect(o2.rows[0].short.count).toBe(1);
    expect(o2.rows[0].long.count).toBe(1);
  });

  it('when t0 − grace sits exactly on a pane start, that pane is still open (its end is the first window end)', () => {
    const k = kernel();
    ingest(k, [ev(970)], 1000); // W = 960, pane [960, 1020)
    expect(k.watermark).toBe(960);
    // An event in the pane just before ([900, 960)) is late: W >= 960 closed it from the start.
    expect(ingest(k, [ev(959.5)], 1000).rejections).toEqual([{ index: 0, reason: Reason.LATE }]);
    expect(ingest(k, [ev(960)], 1000).rejections).toEqual([]);
    const out = k.advanceWatermark(1020);
    expect(out.finalEnds).toEqual([1020]);
    expect(row(out, 0, 1020).short.count).toBe(2);
  });

  it('an event exactly at a window end belongs to the next window (half-open windows)', () => {
    const k = kernel();
    ingest(k, [ev(1000), ev(1020)], 1000);
    expect(k.watermark).toBe(1010);
    const a = k.advanceWatermark(1020);
    expect(a.finalEnds).toEqual([1020]);
    expect(row(a, 0, 1020).short.count).toBe(1); // [960, 1020): only 1000
    const b = k.advanceWatermark(1080);
    expect(b.finalEnds).toEqual([1080]);
    expect(row(b, 0, 1080).short.count).toBe(1); // [1020, 1080): only 1020
    expect(row(b, 0, 1080).long.count).toBe(2); // [900, 1080)
    const c = k.advanceWatermark(1200);
    expect(c.finalEnds).toEqual([1140, 1200]);
    expect(row(c, 0, 1140).short.count).toBe(0);
    expect(row(c, 0, 1140).long.count).toBe(2); // [960, 1140)
    expect(row(c, 0, 1200).long.count).toBe(1); // [1020, 1200): 1000 dropped out, 1020 still in
  });

  it('emits every registered point for every final end, count 0 included, ascending end then point', () => {
    const k = kernel({}, [
      [2, null],
      [0, 50],
      [1, 80],
    ]);
    ingest(k, [ev(1000, { point: 1 })], 1000);
    const out = k.advanceWatermark(1080);
    expect(out.finalEnds).toEqual([1020, 1080]);
    expect(out.rows.map((r) => [r.windowEnd, r.point])).toEqual([
      [1020, 0],
      [1020, 1],
      [1020, 2],
      [1080, 0],
      [1080, 1],
      [1080, 2],
    ]);
    expect(out.rows.map((r) => r.short.count)).toEqual([0, 1, 0, 0, 0, 0]);
    expect(out.rows.map((r) => r.long.count)).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('a point registered later gets rows from the next final end on', () => {
    const k = kernel();
    ingest(k, [ev(1000)], 1000);
    expect(k.advanceWatermark(1020).rows.map((r) => r.point)).toEqual([0]);
    k.setPoint(5, null);
    expect(k.advanceWatermark(1080).rows.map((r) => [r.windowEnd, r.point])).toEqual([
      [1080, 0],
      [1080, 5],
    ]);
  });

  it('nothing is emitted and the watermark cannot be raised before the first accepted event', () => {
    const k = kernel();
    expect(k.advanceWatermark(5000)).toEqual({ rejections: [], rows: [], finalEnds: [] });
    expect(k.tick(5000).finalEnds).toEqual([]);
    expect(k.watermark).toBe(-Infinity);
    // the first event is then accepted even far behind the raised value
    expect(ingest(k, [ev(1000)], 1000).rejections).toEqual([]);
    expect(k.watermark).toBe(990);
  });

  it('the watermark never decreases and advanceWatermark below it is a no-op', () => {
    const k = kernel();
    ingest(k, [ev(1000), ev(1050), ev(1020)], 1000);
    expect(k.watermark).toBe(1040);
    expect(k.advanceWatermark(500).finalEnds).toEqual([]);
    expect(k.watermark).toBe(1040);
  });
});

describe('grace and lateness (a pane closes when W >= its end)', () => {
  it('an event one grace behind the max is accepted unless its pane is already closed', () => {
    const k = kernel();
    ingest(k, [ev(1000), ev(1030)], 1000); // W = 1020 closes [960, 1020)
    expect(k.watermark).toBe(1020);
    const out = ingest(k, [ev(1019.75), ev(1020), ev(1010)], 1000);
    expect(out.rejections).toEqual([
      { index: 0, reason: Reason.LATE },
      { index: 2, reason: Reason.LATE },
    ]);
  });

  it('an event far more than the grace behind the max is accepted while its pane is open', () => {
    const k = kernel();
    ingest(k, [ev(1000), ev(1029.5)], 1000); // W = 1019.5 < 1020: [960, 1020) is open
    expect(ingest(k, [ev(961)], 1000).rejections).toEqual([]);
    const out = k.advanceWatermark(1020);
    expect(row(out, 0, 1020).short.count).toBe(2);
  });

  it('lateness is decided per event inside a batch (the watermark moves after each accepted event)', () => {
    const k = kernel();
    // 1000 → W 990; 1031 → W 1021 emits 1020; 1019 is then late although it came in the same batch.
    const out = ingest(k, [ev(1000), ev(1031), ev(1019)], 1000);
    expect(out.rejections).toEqual([{ index: 2, reason: Reason.LATE }]);
    expect(out.finalEnds).toEqual([1020]);
    expect(row(out, 0, 1020).short.count).toBe(1);
  });
});

describe('statistics', () => {
  it('computes every statistic of a small window by hand', () => {
    const k = kernel({}, [[0, 50]]);
    // In [960, 1020):
    //   lane 1: speed 40, gap 10 m / 0.5 s, length 4,   occ 0.25
    //   lane 1: speed 60, gap 30 m / 1.5 s, length 12,  occ 0.5
    //   lane 2: speed 80, gap 50 m / 2.5 s, length 8,   occ 0.75
    //   lane 2: speed 40, gap 20 m / 1 s,   length 7.5, occ 0.5
    const out0 = ingest(
      k,
      [
        ev(970, { lane: 1, speed: 40, gapM: 10, gapS: 0.5, length: 4, occ: 0.25 }),
        ev(980, { lane: 1, speed: 60, gapM: 30, gapS: 1.5, length: 12, occ: 0.5 }),
        ev(990, { lane: 2, speed: 80, gapM: 50, gapS: 2.5, length: 8, occ: 0.75 }),
        ev(1000, { lane: 2, speed: 40, gapM: 20, gapS: 1, length: 7.5, occ: 0.5 }),
      ],
      1000,
    );
    expect(out0.rejections).toEqual([]);
    const r = row(k.advanceWatermark(1020), 0, 1020);
    const s = r.short;
    expect(s.count).toBe(4);
    expect(s.flowVph).toBe(240); // 4 * 3600 / 60
    expect(s.meanSpeedKmh).toBeCloseTo(55, 12); // 220 / 4
    // deviations −15, 5, 25, −15 → (225 + 25 + 625 + 225) / 4 = 275
    expect(s.speedStdKmh).toBeCloseTo(Math.sqrt(275), 12);
    // bins: 40 → 10 (×2), 60 → 15, 80 → 20; r = 3.4; cum before bin 20 is 3 → 80 + 4 * 0.4 / 1
    expect(s.v85Kmh).toBeCloseTo(81.6, 12);
    expect(s.meanGapM).toBeCloseTo(27.5, 12);
    expect(s.minGapM).toBe(10);
    expect(s.meanGapS).toBeCloseTo(1.375, 12);
    expect(s.minGapS).toBe(0.5);
    expect(s.headwayLt1sShare).toBe(0.25); // only 0.5 (1 is not < 1)
    expect(s.headwayLt2sShare).toBe(0.75); // 0.5, 1.5, 1
    expect(s.meanLengthM).toBeCloseTo(7.875, 12);
    expect(s.longVehicleShare).toBe(0.5); // 12 and 8; 7.5 is not strictly longer
    expect(s.occupancy).toBeCloseTo(2 / (60 * 2), 12); // 2 s occupied, 2 lanes with traffic
    expect(s.overLimitShare).toBe(0.5); // 60 and 80 > 50
    expect(s.laneSpeedSpreadKmh).toBeCloseTo(10, 12); // lane 1 mean 50, lane 2 mean 60
    expect(s.lanes).toBe(2);
    const l = r.long; // [840, 1020): the same four vehicles, window 180 s
    expect(l.count).toBe(4);
    expect(l.flowVph).toBe(80);
    expect(l.occupancy).toBeCloseTo(2 / (180 * 2), 12);
    expect(l.meanSpeedKmh).toBeCloseTo(55, 12);
    expect(l.v85Kmh).toBeCloseTo(81.6, 12);
  });

  it('an empty window has count 0, flow 0, lanes 0 and null for everything else', () => {
    const k = kernel({}, [
      [0, 50],
      [1, 50],
    ]);
    ingest(k, [ev(1000)], 1000);
    const r = row(k.advanceWatermark(1020), 1, 1020);
    const expected: WindowStats = { count: 0, flowVph: 0, ...NULL_STATS, lanes: 0 };
    expect(r.short).toEqual(expected);
    expect(r.long).toEqual(expected);
  });

  it('a single vehicle: std 0, v85 inside its bin, one lane → spread 0', () => {
    const k = kernel();
    ingest(k, [ev(1000, { speed: 53, lane: 3 })], 1000);
    const s = row(k.advanceWatermark(1020), 0, 1020).short;
    expect(s.count).toBe(1);
    expect(s.meanSpeedKmh).toBe(53);
    expect(s.speedStdKmh).toBe(0);
    // bin 13 = [52, 56); r = 0.85 → 52 + 4 * 0.85
    expect(s.v85Kmh).toBeCloseTo(55.4, 12);
    expect(s.v85Kmh!).toBeGreaterThanOrEqual(52);
    expect(s.v85Kmh!).toBeLessThanOrEqual(56);
    expect(s.laneSpeedSpreadKmh).toBe(0);
    expect(s.overLimitShare).toBe(1); // 53 > 50
  });

  it('several vehicles on one lane: spread 0, occupancy over that lane only', () => {
    const k = kernel();
    ingest(k, [ev(970, { lane: 4, speed: 30, occ: 1 }), ev(990, { lane: 4, speed: 90, occ: 2 })], 1000);
    const s = row(k.advanceWatermark(1020), 0, 1020).short;
    expect(s.laneSpeedSpreadKmh).toBe(0);
    expect(s.lanes).toBe(1); // lane 4 alone: lanes counts lanes with traffic, not the highest lane number
    expect(s.occupancy).toBeCloseTo(3 / 60, 12);
    expect(s.speedStdKmh).toBeCloseTo(30, 12);
  });

  it('a point without allowed speed has overLimitShare null even with traffic', () => {
    const k = kernel({}, [[0, null]]);
    ingest(k, [ev(1000, { speed: 399 })], 1000);
    const s = row(k.advanceWatermark(1020), 0, 1020).short;
    expect(s.count).toBe(1);
    expect(s.overLimitShare).toBeNull();
    expect(s.meanSpeedKmh).toBe(399);
  });

  it('speeds at or above the last bin interpolate inside [188, 192]', () => {
    const k = kernel();
    ingest(k, [ev(990, { speed: 300 }), ev(1000, { speed: 400 })], 1000);
    const s = row(k.advanceWatermark(1020), 0, 1020).short;
    // both in bin 47; r = 1.7 → 188 + 4 * 1.7 / 2
    expect(s.v85Kmh).toBeCloseTo(191.4, 12);
  });

  it('over-limit is judged against the allowed speed when the event arrived; null if none at emission', () => {
    const k = kernel({}, [[0, 50]]);
    ingest(k, [ev(980, { speed: 60 })], 1000); // over 50
    k.setPoint(0, 100);
    ingest(k, [ev(990, { speed: 70 })], 1000); // not over 100
    k.setPoint(0, null);
    ingest(k, [ev(1000, { speed: 120 })], 1000); // no limit: not counted
    k.setPoint(0, 10);
    const a = k.advanceWatermark(1020);
    expect(row(a, 0, 1020).short.overLimitShare).toBeCloseTo(1 / 3, 12);
    k.setPoint(0, null);
    const b = k.advanceWatermark(1080);
    expect(row(b, 0, 1080).long.count).toBe(3);
    expect(row(b, 0, 1080).long.overLimitShare).toBeNull();
  });

  it('speed exactly equal to the allowed speed is not over the limit', () => {
    const k = kernel({}, [[0, 50]]);
    ingest(k, [ev(990, { speed: 50 }), ev(1000, { speed: 50.5 })], 1000);
    expect(row(k.advanceWatermark(1020), 0, 1020).short.overLimitShare).toBe(0.5);
  });
});

describe('timestamps far from now', () => {
  it('a far-past first event is accepted; the watermark then sits there', () => {
    const now = 1.7e9;
    const k = kernel();
    expect(ingest(k, [ev(5)], now).rejections).toEqual([]);
    expect(k.watermark).toBe(-5);
    // pane [-60, 0) holds W = -5: the first window end is 0.
    const out = k.advanceWatermark(0);
    expect(out.finalEnds).toEqual([0]);
    // a present-day event is far beyond the ring that now starts at pane (0 − 180) / 60
    expect(ingest(k, [ev(now)], now).rejections).toEqual([{ index: 0, reason: Reason.BEYOND_RING }]);
  });

  it('event time may lead the wall clock by maxSkewS but not more', () => {
    const k = kernel();
    const out = ingest(k, [ev(1300.5), ev(1e12), ev(1300)], 1000);
    expect(out.rejections).toEqual([
      { index: 0, reason: Reason.TOO_FAR_AHEAD },
      { index: 1, reason: Reason.TOO_FAR_AHEAD },
    ]);
    // the refused events did not start the stream: the first accepted one (1300) did
    expect(k.watermark).toBe(1290);
  });
});

describe('reject reasons, in contract order', () => {
  const F64 = ['tIn1', 'tOut1', 'tIn2', 'tOut2', 'speed', 'gapM', 'gapS', 'length'] as const;

  function reasonsOf(events: LoopEvent[], nowS = 1000, k = kernel()): number[] {
    const out = ingest(k, events, nowS);
    const reasons = new Array<number>(events.length).fill(Reason.OK);
    for (const r of out.rejections) reasons[r.index] = r.reason;
    return reasons;
  }

  it('NOT_FINITE for NaN or ±Infinity in any float column, before every other check', () => {
    for (const col of F64) {
      for (const bad of [Number.NaN, Infinity, -Infinity]) {
        // also an unknown point and a bad lane: NOT_FINITE still wins
        expect(reasonsOf([ev(1000, { [col]: bad, point: 9, lane: 0 })]), `${col}=${bad}`).toEqual([
          Reason.NOT_FINITE,
        ]);
      }
    }
  });

  it('UNKNOWN_POINT for an unregistered or out-of-capacity point, before lane', () => {
    expect(reasonsOf([ev(1000, { point: 1 }), ev(1000, { point: -1 }), ev(1000, { point: 16, lane: 0 })])).toEqual([
      Reason.UNKNOWN_POINT,
      Reason.UNKNOWN_POINT,
      Reason.UNKNOWN_POINT,
    ]);
  });

  it('LANE_OUT_OF_RANGE outside 1..8, before speed', () => {
    expect(
      reasonsOf([ev(1000, { lane: 0 }), ev(1000, { lane: 9, speed: -1 }), ev(1000, { lane: 1 }), ev(1000, { lane: 8 })]),
    ).toEqual([Reason.LANE_OUT_OF_RANGE, Reason.LANE_OUT_OF_RANGE, Reason.OK, Reason.OK]);
  });

  it('SPEED_OUT_OF_RANGE outside [0, 400], before gaps', () => {
    expect(
      reasonsOf([
        ev(1000, { speed: -0.001 }),
        ev(1000, { speed: 400.001, gapM: -1 }),
        ev(1000, { speed: 0 }),
        ev(1000, { speed: 400 }),
      ]),
    ).toEqual([Reason.SPEED_OUT_OF_RANGE, Reason.SPEED_OUT_OF_RANGE, Reason.OK, Reason.OK]);
  });

  it('NEGATIVE_GAP for gapM < 0 or gapS < 0, before length', () => {
    expect(
      reasonsOf([
        ev(1000, { gapM: -0.5 }),
        ev(1000, { gapS: -0.5, length: 101 }),
        ev(1000, { gapM: 0, gapS: 0 }),
      ]),
    ).toEqual([Reason.NEGATIVE_GAP, Reason.NEGATIVE_GAP, Reason.OK]);
  });

  it('LENGTH_OUT_OF_RANGE outside [0, 100], before timestamps', () => {
    expect(
      reasonsOf([
        ev(1000, { length: -0.1 }),
        ev(1000, { length: 100.5, tIn1: -1 }),
        ev(1000, { length: 0 }),
        ev(1000, { length: 100 }),
      ]),
    ).toEqual([Reason.LENGTH_OUT_OF_RANGE, Reason.LENGTH_OUT_OF_RANGE, Reason.OK, Reason.OK]);
  });

  it('BAD_TIMESTAMPS for any negative timestamp or tOut1 < tIn1, before the skew check', () => {
    expect(
      reasonsOf([
        ev(1000, { tIn1: -1 }),
        ev(1000, { tOut1: -1, tIn1: -2 }),
        ev(1000, { tIn2: -0.5 }),
        ev(-1),
        ev(5000, { tIn1: 10, tOut1: 9.5 }), // also far ahead: BAD_TIMESTAMPS wins
        ev(1000, { tIn1: 10, tOut1: 10 }), // zero occupancy is fine
        ev(1000, { tIn1: 0, tOut1: 0, tIn2: 0 }),
      ]),
    ).toEqual([
      Reason.BAD_TIMESTAMPS,
      Reason.BAD_TIMESTAMPS,
      Reason.BAD_TIMESTAMPS,
      Reason.BAD_TIMESTAMPS,
      Reason.BAD_TIMESTAMPS,
      Reason.OK,
      Reason.OK,
    ]);
  });

  it('TOO_FAR_AHEAD before BEYOND_RING; LATE; BEYOND_RING at the ring edge', () => {
    const k = kernel();
    ingest(k, [ev(1000)], 1000); // W 990, next end 1020; needed panes start at (1020 − 180)/60 = 14
    // ring = panes 14..18 = [840, 1140); nowS 1000 allows up to 1300
    expect(reasonsOf([ev(1140), ev(1139.75 + 0), ev(1301), ev(900)], 1000, k)).toEqual([
      Reason.BEYOND_RING,
      Reason.OK, // pane 18: accepted; W = 1129.75 emits 1020 and 1080, the ring moves on by 2 panes
      Reason.TOO_FAR_AHEAD,
      Reason.LATE,
    ]);
    expect(k.watermark).toBe(1129.75);
    // now next end 1140 → panes 16..20 = [960, 1260)
    expect(reasonsOf([ev(1260), ev(1259)], 1000, k)).toEqual([Reason.BEYOND_RING, Reason.OK]);
  });

  it('BEYOND_RING when one partition runs ahead of the one holding the watermark back', () => {
    const k = kernel({ partitions: 2 });
    ingest(k, [ev(1000, { partition: 0 })], 1000); // W 990
    expect(reasonsOf([ev(1130, { partition: 1 }), ev(1150, { partition: 1 })], 1000, k)).toEqual([
      Reason.OK,
      Reason.BEYOND_RING,
    ]);
    expect(k.watermark).toBe(990); // min(990, 1120)
  });

  it('PANE_FULL when a pane of one point would exceed 65535 vehicles', () => {
    const k = kernel({}, [
      [0, null],
      [1, null],
    ]);
    const many: LoopEvent[] = [];
    for (let i = 0; i < PANE_COUNTER_MAX; i++) many.push(ev(960 + (i % 50), { lane: 1 + (i % 8) }));
    expect(ingest(k, many, 1000).rejections).toEqual([]);
    expect(
      reasonsOf([ev(1000), ev(1000, { point: 1 }), ev(1020), ev(965, { lane: 2, speed: 200 })], 1000, k),
    ).toEqual([Reason.PANE_FULL, Reason.OK, Reason.OK, Reason.PANE_FULL]);
    const out = k.advanceWatermark(1080);
    expect(row(out, 0, 1020).short.count).toBe(PANE_COUNTER_MAX);
    expect(row(out, 1, 1020).short.count).toBe(1);
    expect(row(out, 0, 1080).short.count).toBe(1);
    expect(row(out, 0, 1080).long.count).toBe(PANE_COUNTER_MAX + 1);
  });

  it('a refused event changes nothing: same output as the stream without it', () => {
    const events = [ev(1000), ev(1e9), ev(1031, { lane: 0 }), ev(1031), ev(1019), ev(1040, { point: 3 }), ev(1045)];
    const a = kernel();
    const outA = ingest(a, events, 1000);
    expect(outA.rejections.map((r) => r.index)).toEqual([1, 2, 4, 5]);
    const b = kernel();
    const outB = ingest(b, [ev(1000), ev(1031), ev(1045)], 1000);
    expect(a.watermark).toBe(b.watermark);
    expect(outA.rows).toEqual(outB.rows);
    expect(a.advanceWatermark(1300)).toEqual(b.advanceWatermark(1300));
  });

  it('rejection indexes are positions within the batch', () => {
    const k = kernel();
    ingest(k, [ev(1000)], 1000);
    const out = ingest(k, [ev(1001), ev(1002, { speed: 401 }), ev(1003), ev(1004, { lane: 12 })], 1000);
    expect(out.rejections).toEqual([
      { index: 1, reason: Reason.SPEED_OUT_OF_RANGE },
      { index: 3, reason: Reason.LANE_OUT_OF_RANGE },
    ]);
  });

  it('only the first `count` events of a longer buffer are read', () => {
    const k = kernel();
    const cols = eventColumns([ev(1000), ev(1001, { lane: 0 })]);
    const out = k.ingest({ ...cols, count: 1 }, 1000);
    expect(out.rejections).toEqual([]);
    expect(row(k.advanceWatermark(1020), 0, 1020).short.count).toBe(1);
  });
});

describe('partition watermarks', () => {
  const WIDE = windowSpec({ advanceS: 60, shortS: 60, longS: 180, graceS: 10, maxSkewS: 300, idleTimeoutS: 60, leadS: 600 });

  it('the stream watermark is the min over partitions; a silent partition holds it at W0', () => {
    const k = new ReferenceKernel({ spec: WIDE, pointCapacity: 4, partitions: 3, startWallClockS: 2000 });
    k.setPoint(0, null);
    ingest(k, [ev(2000, { partition: 0 })], 2000);
    expect(k.watermark).toBe(1990);
    ingest(k, [ev(2100, { partition: 1 })], 2000);
    expect(k.watermark).toBe(1990); // partition 2 has not spoken and is not idle
    ingest(k, [ev(2050, { partition: 2 })], 2000);
    expect(k.watermark).toBe(1990); // min(1990, 2090, 2040)
    const out = ingest(k, [ev(2070, { partition: 0 })], 2000);
    expect(k.watermark).toBe(2040); // min(2060, 2090, 2040)
    expect(out.finalEnds).toEqual([2040]);
    ingest(k, [ev(2200, { partition: 2 })], 2000);
    expect(k.watermark).toBe(2060); // min(2060, 2090, 2190)
    ingest(k, [ev(2010, { partition: 0 })], 2000); // pane [1980, 2040) closed
    expect(k.watermark).toBe(2060);
  });

  it('a partition that never spoke stops holding the watermark once idle (wall clock − start >= idle)', () => {
    const k = new ReferenceKernel({ spec: WIDE, pointCapacity: 4, partitions: 2, startWallClockS: 1000 });
    k.setPoint(0, null);
    ingest(k, [ev(1000, { partition: 0 })], 1000);
    ingest(k, [ev(1100, { partition: 0 })], 1010);
    expect(k.watermark).toBe(990);
    expect(k.tick(1059.5).finalEnds).toEqual([]);
    expect(k.watermark).toBe(990);
    const out = k.tick(1060); // partition 1 silent since start 1000 for 60 s
    expect(k.watermark).toBe(1090);
    expect(out.finalEnds).toEqual([1020, 1080]);
    // partition 1 speaks: it is active again but cannot pull the watermark back
    const o2 = ingest(k, [ev(1079, { partition: 1 }), ev(1085, { partition: 1 })], 1061);
    expect(o2.rejections).toEqual([{ index: 0, reason: Reason.LATE }]);
    expect(k.watermark).toBe(1090);
    // and now it holds the watermark: partition 0 moving on is not enough
    ingest(k, [ev(1200, { partition: 0 })], 1062);
    expect(k.watermark).toBe(1090);
    ingest(k, [ev(1150, { partition: 1 })], 1063);
    expect(k.watermark).toBe(1140);
  });

  it('a partition that spoke turns idle idleTimeoutS after its last accepted event', () => {
    const k = new ReferenceKernel({ spec: WIDE, pointCapacity: 4, partitions: 2, startWallClockS: 1000 });
    k.setPoint(0, null);
    ingest(k, [ev(1000, { partition: 1 }), ev(1000, { partition: 0 })], 1000);
    ingest(k, [ev(1200, { partition: 0 })], 1030);
    expect(k.watermark).toBe(990); // partition 1 still at 990
    // a refused event does not refresh lastSeen of partition 1
    ingest(k, [ev(1000, { partition: 1, lane: 0 })], 1050);
    expect(k.tick(1059).finalEnds).toEqual([]);
    k.tick(1060); // partition 1: 1060 − 1000 >= 60; partition 0 active (last 1030)
    expect(k.watermark).toBe(1190);
  });

  it('when every partition is idle the watermark stays', () => {
    const k = new ReferenceKernel({ spec: WIDE, pointCapacity: 4, partitions: 2, startWallClockS: 1000 });
    k.setPoint(0, null);
    ingest(k, [ev(1000, { partition: 0 }), ev(1100, { partition: 1 })], 1000);
    expect(k.watermark).toBe(990);
    expect(k.tick(5000).finalEnds).toEqual([]);
    expect(k.watermark).toBe(990);
  });
});

describe('externalWatermark: only advanceWatermark moves time', () => {
  it('events before the first advanceWatermark are BEYOND_RING; events and ticks never move W', () => {
    const k = kernel({ externalWatermark: true, partitions: 2 });
    const out = ingest(k, [ev(1000), ev(1100, { partition: 1 }), ev(1000, { lane: 0 })], 1000);
    expect(out).toEqual({
      rejections: [
        { index: 0, reason: Reason.BEYOND_RING },
        { index: 1, reason: Reason.BEYOND_RING },
        { index: 2, reason: Reason.LANE_OUT_OF_RANGE }, // field checks come first
      ],
      rows: [],
      finalEnds: [],
    });
    expect(k.watermark).toBe(-Infinity);
    expect(k.tick(5000)).toEqual({ rejections: [], rows: [], finalEnds: [] });
    expect(k.watermark).toBe(-Infinity);
  });

  it('the first advanceWatermark(W) starts at the end of the pane holding W; LATE only for panes no window needs', () => {
    const k = kernel({ externalWatermark: true });
    expect(k.advanceWatermark(1005)).toEqual({ rejections: [], rows: [], finalEnds: [] });
    expect(k.watermark).toBe(1005);
    // first end 1020 needs panes from (1020 − 180)/60 = 14 on; the ring is panes 14..18 = [840, 1140)
    expect(ingest(k, [ev(839.5), ev(840), ev(1000), ev(1140), ev(1139)], 1000).rejections).toEqual([
      { index: 0, reason: Reason.LATE },
      { index: 3, reason: Reason.BEYOND_RING },
    ]);
    expect(k.watermark).toBe(1005); // events do not move it, nor do ticks
    k.tick(2000);
    expect(k.watermark).toBe(1005);
    const a = k.advanceWatermark(1140);
    expect(a.finalEnds).toEqual([1020, 1080, 1140]);
    expect([row(a, 0, 1020).short.count, row(a, 0, 1020).long.count]).toEqual([1, 2]); // 1000; 840, 1000
    expect([row(a, 0, 1080).short.count, row(a, 0, 1080).long.count]).toEqual([0, 1]); // [900, 1080): 1000
    expect([row(a, 0, 1140).short.count, row(a, 0, 1140).long.count]).toEqual([1, 2]); // 1139; 1000, 1139
    // next end 1200 needs panes from 17 = [1020, 1080) on: closed (W 1140) but still needed
    expect(ingest(k, [ev(1019.5), ev(1020)], 1000).rejections).toEqual([{ index: 0, reason: Reason.LATE }]);
    expect(k.advanceWatermark(1100).finalEnds).toEqual([]); // never backwards
    expect(k.watermark).toBe(1140);
    const b = k.advanceWatermark(1260);
    expect(row(b, 0, 1200).long.count).toBe(2); // [1020, 1200): 1020, 1139
    expect(row(b, 0, 1200).short.count).toBe(0);
    expect(row(b, 0, 1260).long.count).toBe(1); // [1080, 1260): 1139
  });
});

describe('memory', () => {
  it('forgets raw events no future window can need', () => {
    const k = kernel();
    const batch: LoopEvent[] = [];
    for (let t = 1000; t < 20000; t += 2) batch.push(ev(t));
    expect(ingest(k, batch, 20000).rejections).toEqual([]);
    const kept = (k as unknown as { events: Map<number, unknown[]> }).events.get(0)!.length;
    // W = 19988, next end 20040: only events in [20040 − 180, 19998] are needed
    expect(kept).toBe((19998 - 19860) / 2 + 1);
  });
});

describe('V85', () => {
  it('hand example: speeds 1..20 → bin 4 = [16, 20), r = 17, 16 + 4·(17 − 15)/4 = 18', () => {
    const speeds = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(v85FromSpeeds(speeds)).toBeCloseTo(18, 12);
    expect(nearestRankP85(speeds)).toBe(17);
    expect(v85FromSpeeds([])).toBeNull();
  });

  it('is within one bin width of the nearest-rank 85th percentile below the last bin', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 188, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (speeds) => {
          const v = v85FromSpeeds(speeds)!;
          const p = nearestRankP85(speeds)!;
          expect(Math.abs(v - p)).toBeLessThanOrEqual(SPEED_BIN_KMH);
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(188);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with integer speeds clustered in a few bins (ties at bin edges)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 187 }).map((x) => x - (x % 2)), { minLength: 1, maxLength: 200 }), (speeds) => {
        const v = v85FromSpeeds(speeds)!;
        expect(Math.abs(v - nearestRankP85(speeds)!)).toBeLessThanOrEqual(SPEED_BIN_KMH);
      }),
      { numRuns: 300 },
    );
  });
});
