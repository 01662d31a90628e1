import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_LANES,
  PANE_COUNTER_MAX,
  Reason,
  WINDOW_STAT_FIELDS,
  type ReasonCode,
  type WindowRow,
  type WindowStatField,
  type WindowStats,
} from '../../src/kernel/contract.js';
import { KernelError } from '../../src/errors.js';
import type { KernelOptions, WindowKernel } from '../../src/kernel/kernel.js';
import { ReferenceKernel, eventColumns, type LoopEvent } from '../../src/kernel/reference.js';
import { WasmKernel, type WasmKernelOptions } from '../../src/kernel/wasm-kernel.js';
import { windowSpec, type WindowSpec } from '../../src/kernel/window-spec.js';
import { ev, OPTIONS } from './fixtures.js';

/*
 * The WASM kernel against the plain TypeScript reference (src/kernel/reference.ts) on random
 * streams, and each of them against itself on the same stream cut into different batches.
 *
 * Streams: event-driven or external watermark (KernelOptions.externalWatermark), a few partitions
 * (sometimes one that never speaks, to exercise idle release), points 0..5
 * registered with or without an allowed speed (some left unregistered, plus out-of-range indexes),
 * event times rising by random steps with random jitter back (inside and beyond the grace) and rare
 * jumps ahead (BEYOND_RING), ~5% invalid records, a wall clock that moves in segments (some events
 * TOO_FAR_AHEAD, partitions turning idle), ticks, raised watermarks and allowed-speed changes
 * between segments, and a final advanceWatermark that flushes every window.
 *
 * Times are multiples of 1/8 s on an epoch-sized base (exact in f64), so pane membership, lateness
 * and skew never depend on rounding; speeds are mostly multiples of 1/4 km/h but also arbitrary
 * doubles, so sums differ between the two implementations only by summation order.
 *
 * Tolerances (WASM vs reference; each implementation against itself across batch cuts is exact):
 * - count, lanes, minGapM, minGapS, point, windowEnd: exact.
 * - every other statistic: |a − b| <= 1e-9 + 1e-9·max(|a|, |b|) (relative 1e-9, absolute 1e-9):
 *   the kernel sums per pane then across panes, the reference sums raw events in arrival order.
 * - speedStdKmh: |a − b| <= 1e-6 km/h, or the variances a², b² within 1e-8 (km/h)². The kernel
 *   computes the variance in one pass, Σd²/n − mean(d)² with d = speed − a per-point shift
 *   (|d| <= MAX_SPEED_KMH), clamped at 0; its cancellation error is a few ulps of 400² ≈ 3e-11 each
 *   (64·ε·400² ≈ 2.3e-9 bounds it). The square root magnifies that near a zero variance (an error of
 *   4e-12 in the variance is 2e-6 in the std of two equal speeds), so there the variance is compared;
 *   for a std above 0.005 km/h the variance bound implies |Δstd| <= 1e-6 anyway.
 * - null must equal null (and a number must be a number).
 */

const NUM_RUNS = 100;
/** A limit for slow machines, not a timing assertion (vitest's default is 5 s). */
const PROPERTY_TIMEOUT_MS = 120_000;

type Factory = (options: KernelOptions) => WindowKernel;
const makeReference: Factory = (o) => new ReferenceKernel(o);
const makeWasm: Factory = (o) => new WasmKernel(o);

/** The WASM host's buffer sizes: small ones force chunked batches and resumed emission. */
type WasmBuffers = Pick<WasmKernelOptions, 'batchCapacity' | 'rowCapacity' | 'finalEndCapacity'>;
const wasmWith =
  (buffers: WasmBuffers): Factory =>
  (o) =>
    new WasmKernel({ ...o, ...buffers });

type Step =
  | { kind: 'ingest'; nowS: number; events: LoopEvent[] }
  | { kind: 'tick'; nowS: number }
  | { kind: 'advance'; watermarkS: number }
  | { kind: 'setPoint'; point: number; allowed: number | null };

interface Scenario {
  options: KernelOptions;
  points: Array<[number, number | null]>;
  steps: Step[];
  /** Final advanceWatermark that makes every window with data final. */
  flushTo: number;
}

interface Trace {
  /** Rejections with the event's position in the whole stream. */
  rejections: Array<{ index: number; reason: ReasonCode }>;
  /** Rejections with the index the kernel reported (within its batch). */
  batchRejections: Array<{ index: number; reason: ReasonCode }>;
  rows: WindowRow[];
  finalEnds: number[];
  /** Watermark after every step (not every batch, so that traces of different cuts compare). */
  watermarks: number[];
}

/**
 * Feeds a scenario to a fresh kernel, cutting every ingest step into batches whose sizes are taken
 * cyclically from `cuts` (an empty list: the whole step in one batch).
 */
function run(make: Factory, s: Scenario, cuts: readonly number[]): Trace {
  const k = make(s.options);
  for (const [p, allowed] of s.points) k.setPoint(p, allowed);
  const trace: Trace = { rejections: [], batchRejections: [], rows: [], finalEnds: [], watermarks: [] };
  const collect = (out: { rows: WindowRow[]; finalEnds: number[] }) => {
    trace.rows.push(...out.rows);
    trace.finalEnds.push(...out.finalEnds);
  };
  let seen = 0;
  let cut = 0;
  for (const step of s.steps) {
    switch (step.kind) {
      case 'ingest': {
        let i = 0;
        while (i < step.events.length) {
          const size = cuts.length === 0 ? step.events.length : cuts[cut++ % cuts.length];
          const batch = step.events.slice(i, i + size);
          const out = k.ingest(eventColumns(batch), step.nowS);
          for (const r of out.rejections) {
            trace.batchRejections.push({ index: r.index, reason: r.reason });
            trace.rejections.push({ index: seen + i + r.index, reason: r.reason });
          }
          collect(out);
          i += batch.length;
        }
        seen += step.events.length;
        break;
      }
      case 'tick':
        collect(k.tick(step.nowS));
        break;
      case 'advance':
        collect(k.advanceWatermark(step.watermarkS));
        break;
      case 'setPoint':
        k.setPoint(step.point, step.allowed);
        break;
    }
    trace.watermarks.push(k.watermark);
  }
  collect(k.advanceWatermark(s.flushTo));
  trace.watermarks.push(k.watermark);
  return trace;
}

// ---------------------------------------------------------------------------------------------
// Comparison

const EXACT: ReadonlySet<WindowStatField> = new Set(['count', 'minGapM', 'minGapS', 'lanes']);

function statsClose(field: WindowStatField, a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  if (EXACT.has(field)) return a === b;
  if (field === 'speedStdKmh') return Math.abs(a - b) <= 1e-6 || Math.abs(a * a - b * b) <= 1e-8;
  return Math.abs(a - b) <= 1e-9 + 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** Throws with the first differing row and field (readable shrunk counterexamples). */
function expectRowsClose(actual: readonly WindowRow[], expected: readonly WindowRow[]): void {
  expect(actual.map((r) => [r.windowEnd, r.point])).toEqual(expected.map((r) => [r.windowEnd, r.point]));
  for (let i = 0; i < expected.length; i++) {
    for (const w of ['short', 'long'] as const) {
      for (const f of WINDOW_STAT_FIELDS) {
        const a = actual[i][w][f];
        const e = expected[i][w][f];
        if (!statsClose(f, a, e)) {
          expect.fail(
            `row ${i} (point ${expected[i].point}, end ${expected[i].windowEnd}) ${w}.${f}: ` +
              `wasm ${String(a)} vs reference ${String(e)}`,
          );
        }
      }
    }
  }
}

function expectSameAsReference(wasm: Trace, ref: Trace): void {
  expect(wasm.rejections).toEqual(ref.rejections);
  expect(wasm.batchRejections).toEqual(ref.batchRejections);
  expect(wasm.watermarks).toEqual(ref.watermarks);
  expect(wasm.finalEnds).toEqual(ref.finalEnds);
  expectRowsClose(wasm.rows, ref.rows);
}

function expectSameAcrossCuts(a: Trace, b: Trace): void {
  expect(a.rejections).toEqual(b.rejections);
  expect(a.watermarks).toEqual(b.watermarks);
  expect(a.finalEnds).toEqual(b.finalEnds);
  expect(a.rows).toEqual(b.rows);
}

// ---------------------------------------------------------------------------------------------
// Random scenarios

const BASE_S = 1_700_000_000;
const CAPACITY = 6;

const specArb: fc.Arbitrary<WindowSpec> = fc
  .record({
    advanceS: fc.constantFrom(10, 60),
    shortPanes: fc.integer({ min: 1, max: 2 }),
    extraLongPanes: fc.integer({ min: 0, max: 4 }),
    graceS: fc.constantFrom(0, 3, 10, 30),
    maxSkewS: fc.constantFrom(0, 20, 300),
    idleTimeoutS: fc.constantFrom(5, 30),
    leadS: fc.constantFrom(0, 15, 60),
  })
  .map((o) => {
    const longS = o.advanceS * (o.shortPanes + o.extraLongPanes);
    return windowSpec({
      advanceS: o.advanceS,
      shortS: o.advanceS * o.shortPanes,
      longS,
      graceS: Math.min(o.graceS, longS - 1),
      maxSkewS: o.maxSkewS,
      idleTimeoutS: o.idleTimeoutS,
      leadS: o.leadS,
    });
  });

const allowedArb: fc.Arbitrary<number | null> = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 30, max: 130 }),
  fc.double({ min: 20, max: 150, noNaN: true }),
);

const eighths = (max: number) => fc.integer({ min: 0, max: max * 8 }).map((x) => x / 8);

const speedArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 200 * 4 }).map((x) => x / 4) },
  { weight: 3, arbitrary: fc.double({ min: 0, max: 400, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 4, 187.75, 188, 400, 400.25, -0.25) },
);

const defectArb = fc.oneof(
  { weight: 40, arbitrary: fc.constant('none' as const) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'nan',
      'inf',
      'negInf',
      'negTime',
      'out1BeforeIn1',
      'negGapM',
      'negGapS',
      'lane0',
      'lane9',
      'length',
    ),
  },
);

const rawEventArb = fc.record({
  /** Step of the stream's clock, eighths of a second; sometimes a long silence. */
  dt: fc.oneof(
    { weight: 10, arbitrary: eighths(3) },
    { weight: 10, arbitrary: fc.integer({ min: 0, max: 2 }).map((x) => x / 8) }, // dense traffic
    { weight: 1, arbitrary: eighths(150) },
  ),
  /** How far this event lies behind the stream clock (out of order, maybe late). */
  back: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: eighths(40) }),
  /** Rare jump ahead of the stream clock without moving it (ring capacity). */
  ahead: fc.oneof({ weight: 40, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: eighths(400) }),
  partition: fc.nat(),
  point: fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 0, max: CAPACITY - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, CAPACITY, 1000) }),
  lane: fc.integer({ min: 1, max: 8 }),
  speed: speedArb,
  gapM: fc.oneof(eighths(250), fc.double({ min: 0, max: 300, noNaN: true })),
  gapS: fc.oneof(eighths(10), fc.constantFrom(0, 1, 2), fc.double({ min: 0, max: 20, noNaN: true })),
  length: fc.oneof(eighths(100), fc.constantFrom(7.5, 7.625, 100)),
  occ: eighths(2),
  defect: defectArb,
  nanColumn: fc.integer({ min: 0, max: 7 }),
});

const breakArb = fc.record({
  /** Wall clock relative to the stream clock when this segment starts (never goes back). */
  lagS: fc.integer({ min: -350, max: 90 }),
  tick: fc.boolean(),
  advance: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 4 }),
  setPoint: fc.option(fc.tuple(fc.integer({ min: 0, max: CAPACITY - 1 }), allowedArb), { freq: 5 }),
});

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    spec: specArb,
    partitions: fc.integer({ min: 1, max: 3 }),
    silentPartition: fc.boolean(),
    /** KernelOptions.externalWatermark: only the advance steps (and the flush) move W. */
    externalWatermark: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    /** Per point index: not registered (undefined) or registered with that allowed speed (or none). */
    points: fc.array(fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: allowedArb }), {
      minLength: CAPACITY,
      maxLength: CAPACITY,
    }),
    startLagS: fc.integer({ min: -100, max: 20 }),
    startOffset: eighths(3600),
    events: fc.array(fc.tuple(rawEventArb, fc.option(breakArb, { freq: 8 })), {
      minLength: 1,
      maxLength: 250,
      size: 'max',
    }),
  })
  .map((g) => {
    const F64_COLUMNS = ['tIn1', 'tOut1', 'tIn2', 'tOut2', 'speed', 'gapM', 'gapS', 'length'] as const;
    const speaking = g.silentPartition && g.partitions > 1 ? g.partitions - 1 : g.partitions;
    let clock = BASE_S + g.startOffset;
    // The wall clock is in whole seconds, so `now − lastSeen == idleTimeoutS` happens.
    let nowS = Math.floor(clock) + g.startLagS;
    const startWallClockS = nowS;
    const steps: Step[] = [];
    let segment: LoopEvent[] = [];
    let maxT = clock;
    const endSegment = () => {
      if (segment.length > 0) steps.push({ kind: 'ingest', nowS, events: segment });
      segment = [];
    };
    for (const [r, brk] of g.events) {
      if (brk) {
        endSegment();
        nowS = Math.max(nowS, Math.floor(clock) + brk.lagS);
        if (brk.tick) steps.push({ kind: 'tick', nowS });
        if (brk.advance !== null) steps.push({ kind: 'advance', watermarkS: clock - brk.advance });
        if (brk.setPoint) steps.push({ kind: 'setPoint', point: brk.setPoint[0], allowed: brk.setPoint[1] });
      }
      clock += r.dt;
      const t = clock - r.back + r.ahead;
      maxT = Math.max(maxT, t);
      const tIn1 = t - 2;
      const e: LoopEvent = {
        tIn1,
        tOut1: tIn1 + r.occ,
        tIn2: t - 0.25,
        tOut2: t,
        speed: r.speed,
        gapM: r.gapM,
        gapS: r.gapS,
        length: r.length,
        point: r.point,
        lane: r.lane,
        partition: r.partition % speaking,
      };
      switch (r.defect) {
        case 'nan':
          e[F64_COLUMNS[r.nanColumn]] = Number.NaN;
          break;
        case 'inf':
          e[F64_COLUMNS[r.nanColumn]] = Infinity;
          break;
        case 'negInf':
          e[F64_COLUMNS[r.nanColumn]] = -Infinity;
          break;
        case 'negTime':
          e.tIn2 = -1;
          break;
        case 'out1BeforeIn1':
          e.tOut1 = e.tIn1 - 0.125;
          break;
        case 'negGapM':
          e.gapM = -0.125;
          break;
        case 'negGapS':
          e.gapS = -1;
          break;
        case 'lane0':
          e.lane = 0;
          break;
        case 'lane9':
          e.lane = 9;
          break;
        case 'length':
          e.length = 100.125;
          break;
        case 'none':
          break;
      }
      segment.push(e);
    }
    endSegment();
    const points: Array<[number, number | null]> = [];
    g.points.forEach((allowed, p) => {
      if (allowed !== undefined) points.push([p, allowed]);
    });
    const spec = g.spec;
    return {
      options: {
        spec,
        pointCapacity: CAPACITY,
        partitions: g.partitions,
        startWallClockS,
        externalWatermark: g.externalWatermark,
      },
      points,
      steps,
      flushTo: maxT + spec.longS + spec.advanceS,
    } satisfies Scenario;
  });

const cutsArb = fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 6 });

/** rowCapacity must hold one window end (CAPACITY rows); undefined: the host's default. */
const buffersArb: fc.Arbitrary<WasmBuffers> = fc.record({
  batchCapacity: fc.constantFrom(undefined, 1, 2, 5, 64),
  rowCapacity: fc.constantFrom(undefined, CAPACITY, CAPACITY + 1, 2 * CAPACITY + 1),
  finalEndCapacity: fc.constantFrom(undefined, 1, 2, 3),
});

// ---------------------------------------------------------------------------------------------

function lanesPlausible(w: WindowStats): boolean {
  const lanes = w.lanes!;
  return Number.isInteger(lanes) && (lanes === 0) === (w.count === 0) && lanes <= Math.min(w.count!, MAX_LANES);
}

/**
 * What any correct kernel's output satisfies, from the contract alone: window ends ascend one advance
 * apart, each with one row per registered point in ascending order; and (the flush covers every
 * window) with an event-driven watermark each accepted event is counted in exactly shortPanes short
 * and longPanes long windows — its pane is open, so none of its windows was emitted yet.
 */
function expectOutputInvariants(s: Scenario, t: Trace): void {
  const { advanceS, shortS, longS, shortPanes, longPanes } = s.options.spec;
  for (let i = 1; i < t.finalEnds.length; i++) expect(t.finalEnds[i] - t.finalEnds[i - 1]).toBe(advanceS);
  const ends = [...new Set(t.rows.map((r) => r.windowEnd))];
  if (s.points.length > 0) expect(ends).toEqual(t.finalEnds);
  const events = s.steps.reduce((n, step) => n + (step.kind === 'ingest' ? step.events.length : 0), 0);
  const accepted = events - t.rejections.length;
  let shortSum = 0;
  let longSum = 0;
  t.rows.forEach((r, i) => {
    const prev = t.rows[i - 1];
    if (prev && !(prev.windowEnd < r.windowEnd || (prev.windowEnd === r.windowEnd && prev.point < r.point))) {
      expect.fail(`row ${i} (end ${r.windowEnd}, point ${r.point}) out of order`);
    }
    shortSum += r.short.count!;
    longSum += r.long.count!;
    const bad =
      r.short.flowVph !== (r.short.count! * 3600) / shortS ||
      r.long.flowVph !== (r.long.count! * 3600) / longS ||
      (r.short.meanSpeedKmh === null) !== (r.short.count === 0) ||
      (r.long.meanSpeedKmh === null) !== (r.long.count === 0) ||
      r.long.count! < r.short.count! ||
      // lanes: distinct lanes with traffic, so 0 exactly without traffic, at most one per vehicle and
      // MAX_LANES, never fewer in the long window than in the short one it contains.
      !lanesPlausible(r.short) ||
      !lanesPlausible(r.long) ||
      r.long.lanes! < r.short.lanes!;
    if (bad) expect.fail(`row ${i}: ${JSON.stringify(r)}`);
  });
  if (s.options.externalWatermark) {
    // An event for a closed pane that a window to come still needs is accepted: it misses the
    // windows already emitted.
    expect(shortSum).toBeLessThanOrEqual(shortPanes * accepted);
    expect(longSum).toBeLessThanOrEqual(longPanes * accepted);
  } else {
    expect(shortSum).toBe(shortPanes * accepted);
    expect(longSum).toBe(longPanes * accepted);
  }
}

describe('output invariants (from the contract alone)', () => {
  it(
    'hold for the reference and the WASM kernel',
    () => {
      fc.assert(
        fc.property(scenarioArb, buffersArb, (s, buffers) => {
          expectOutputInvariants(s, run(makeReference, s, []));
          expectOutputInvariants(s, run(wasmWith(buffers), s, []));
        }),
        { numRuns: NUM_RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('reference kernel across batch cuts', () => {
  it(
    'gives the same output whether a stream comes in one batch per segment, one event per batch or random cuts',
    () => {
      fc.assert(
        fc.property(scenarioArb, cutsArb, (s, cuts) => {
          const whole = run(makeReference, s, []);
          expectSameAcrossCuts(run(makeReference, s, [1]), whole);
          expectSameAcrossCuts(run(makeReference, s, cuts), whole);
        }),
        { numRuns: NUM_RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('the generator produces what it should: accepted rows, and every kind of refusal over the runs', () => {
    // Guards the generator: a property over streams that are all refused would prove nothing.
    const seen = new Set<number>();
    let rowsWithTraffic = 0;
    let rowsWithSeveralLanes = 0;
    let scenarios = 0;
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const t = run(makeReference, s, []);
        for (const r of t.rejections) seen.add(r.reason);
        if (t.rows.some((r) => (r.long.count ?? 0) > 0)) rowsWithTraffic++;
        if (t.rows.some((r) => (r.short.lanes ?? 0) >= 2)) rowsWithSeveralLanes++;
        scenarios++;
      }),
      { numRuns: 100, seed: 42 },
    );
    expect(rowsWithTraffic).toBeGreaterThan(scenarios / 2);
    // lanes (and occupancy's divisor) are compared on windows with more than one lane, not only 0 and 1.
    expect(rowsWithSeveralLanes).toBeGreaterThan(scenarios / 4);
    for (const reason of [
      Reason.NOT_FINITE,
      Reason.UNKNOWN_POINT,
      Reason.LANE_OUT_OF_RANGE,
      Reason.SPEED_OUT_OF_RANGE,
      Reason.NEGATIVE_GAP,
      Reason.LENGTH_OUT_OF_RANGE,
      Reason.BAD_TIMESTAMPS,
      Reason.TOO_FAR_AHEAD,
      Reason.LATE,
      Reason.BEYOND_RING,
    ]) {
      expect(seen, `reason ${reason} never generated`).toContain(reason);
    }
  }, PROPERTY_TIMEOUT_MS);
});

describe('WASM kernel vs reference', () => {
  it(
    'random streams: same rejections, watermarks, final ends and rows (within tolerance)',
    () => {
      fc.assert(
        fc.property(scenarioArb, cutsArb, buffersArb, (s, cuts, buffers) => {
          expectSameAsReference(run(wasmWith(buffers), s, cuts), run(makeReference, s, cuts));
        }),
        { numRuns: NUM_RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'WASM kernel: the same stream cut into different batches (and host buffer sizes) gives identical output',
    () => {
      fc.assert(
        fc.property(scenarioArb, cutsArb, buffersArb, (s, cuts, buffers) => {
          const whole = run(makeWasm, s, []);
          expectSameAcrossCuts(run(wasmWith(buffers), s, [1]), whole);
          expectSameAcrossCuts(run(wasmWith(buffers), s, cuts), whole);
        }),
        { numRuns: NUM_RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('PANE_FULL at 65535 vehicles in one pane of one point, like the reference', () => {
    const steps: Step[] = [];
    const many: LoopEvent[] = [];
    for (let i = 0; i < PANE_COUNTER_MAX; i++) {
      many.push(ev(960 + (i % 48), { lane: 1 + (i % 8), speed: (i % 160) + 0.5, gapS: (i % 5) / 2, length: i % 13 }));
    }
    steps.push({ kind: 'ingest', nowS: 1000, events: many });
    steps.push({
      kind: 'ingest',
      nowS: 1000,
      events: [ev(1000), ev(1000, { point: 1 }), ev(1020), ev(965, { lane: 2, speed: 200 }), ev(1019)],
    });
    const s: Scenario = {
      options: { ...OPTIONS, partitions: 1 },
      points: [
        [0, 80],
        [1, null],
      ],
      steps,
      flushTo: 1300,
    };
    const ref = run(makeReference, s, [4096]);
    // hand check of the oracle itself: the 65536th and 65537th vehicles of pane [960, 1020) refused
    expect(ref.rejections).toEqual([
      { index: PANE_COUNTER_MAX, reason: Reason.PANE_FULL },
      { index: PANE_COUNTER_MAX + 3, reason: Reason.PANE_FULL },
      { index: PANE_COUNTER_MAX + 4, reason: Reason.PANE_FULL },
    ]);
    expectSameAsReference(run(makeWasm, s, [4096]), ref);
    expectSameAsReference(run(wasmWith({ batchCapacity: 1000, rowCapacity: 4, finalEndCapacity: 1 }), s, [4096]), ref);
  }, PROPERTY_TIMEOUT_MS);

  it('panes of 255, 256 and 257 vehicles whose counters all pass 255 at once, like the reference', () => {
    // The WASM pane keeps its counters in 8 bits and a high byte it only uses above 255 vehicles
    // (assembly/pane.ts): identical vehicles make every counter of a pane wrap on the same event,
    // the 256th, which is also the one that starts using the high bytes.
    const same = { lane: 3, speed: 101.25, gapS: 0.5, length: 12 }; // one bin, one lane, every flag set
    const pane = (start: number, n: number, o: Partial<LoopEvent> = {}): LoopEvent[] =>
      Array.from({ length: n }, (_, i) => ev(start + (i % 50), { ...same, ...o }));
    const steps: Step[] = [
      // Four panes of point 0 in one long window (180 s): 255 and 256 vehicles, then light traffic.
      { kind: 'ingest', nowS: 1300, events: [...pane(962, 255), ...pane(962, 3, { lane: 1, speed: 40 }), ...pane(1022, 256, { point: 1 })] },
      { kind: 'ingest', nowS: 1300, events: [...pane(1022, 256), ...pane(1082, 257)] },
      { kind: 'ingest', nowS: 1300, events: pane(1142, 2, { point: 1, gapS: 3, length: 4, speed: 30 }) },
    ];
    const s: Scenario = {
      options: { ...OPTIONS, partitions: 1 },
      points: [
        [0, 80],
        [1, 100],
      ],
      steps,
      flushTo: 1600,
    };
    const ref = run(makeReference, s, []);
    expect(ref.rejections).toEqual([]);
    const counts = ref.rows.filter((r) => r.point === 0).map((r) => r.short.count);
    expect(counts).toContain(258); // 255 + 3 slower vehicles in one pane
    expect(counts).toContain(256);
    expect(counts).toContain(257);
    for (const cuts of [[], [1], [255, 2], [256, 7]]) {
      const wasm = run(makeWasm, s, cuts);
      expectSameAsReference(wasm, ref);
      expectSameAcrossCuts(wasm, run(makeWasm, s, []));
    }
  }, PROPERTY_TIMEOUT_MS);

  it('programming errors throw KernelError in both and leave the state as it was', () => {
    const events = [ev(1000), ev(1031), ev(1045, { partition: 1 })];
    const outputs = [makeReference, makeWasm, wasmWith({ batchCapacity: 1 })].map((make) => {
      const k = make(OPTIONS);
      k.setPoint(0, 50);
      expect(() => k.setPoint(OPTIONS.pointCapacity, null)).toThrow(KernelError);
      expect(() => k.setPoint(-1, null)).toThrow(KernelError);
      expect(() => k.setPoint(1, Number.NaN)).toThrow(KernelError);
      const first = k.ingest(eventColumns(events.slice(0, 1)), 1000);
      // a partition slot outside 0..partitions-1 anywhere in the batch: nothing of it is applied
      expect(() => k.ingest(eventColumns([ev(1040), ev(1050, { partition: 2 })]), 1000)).toThrow(KernelError);
      expect(() => k.ingest(eventColumns([ev(1040, { partition: -1 })]), 1000)).toThrow(KernelError);
      expect(() => k.ingest(eventColumns([ev(1040)]), Number.NaN)).toThrow(KernelError);
      expect(() => k.tick(Infinity)).toThrow(KernelError);
      expect(() => k.advanceWatermark(Infinity)).toThrow(KernelError);
      expect(() => k.advanceWatermark(Number.NaN)).toThrow(KernelError);
      expect(k.watermark).toBe(990);
      const rest = k.ingest(eventColumns(events.slice(1)), 1000);
      return { first, rest, flush: k.advanceWatermark(1300), watermark: k.watermark };
    });
    // the reference after the refused calls is the reference without them
    const clean = makeReference(OPTIONS);
    clean.setPoint(0, 50);
    clean.ingest(eventColumns(events.slice(0, 1)), 1000);
    const cleanRest = clean.ingest(eventColumns(events.slice(1)), 1000);
    expect(outputs[0].rest).toEqual(cleanRest);
    expect(outputs[0].flush).toEqual(clean.advanceWatermark(1300));
    for (const o of outputs.slice(1)) {
      expect(o.first.rejections).toEqual([]);
      expect(o.rest.rejections).toEqual(outputs[0].rest.rejections);
      expect(o.watermark).toBe(outputs[0].watermark);
      expect(o.flush.finalEnds).toEqual(outputs[0].flush.finalEnds);
      expectRowsClose([...o.rest.rows, ...o.flush.rows], [...outputs[0].rest.rows, ...outputs[0].flush.rows]);
    }
  });

  it('idle release, watermark = min over partitions and BEYOND_RING on a hand-made stream', () => {
    const s: Scenario = {
      options: OPTIONS,
      points: [
        [0, 50],
        [2, null],
      ],
      steps: [
        { kind: 'ingest', nowS: 1000, events: [ev(1000)] }, // W 990, ring = panes 14..18 = [840, 1140)
        { kind: 'ingest', nowS: 1030, events: [ev(1100), ev(1140), ev(1139)] }, // partition 1 holds W
        { kind: 'tick', nowS: 1059 },
        { kind: 'tick', nowS: 1060 }, // partition 1 silent since 1000: idle; partition 0 (1030) not: W = 1129
        { kind: 'ingest', nowS: 1061, events: [ev(1079, { partition: 1 }), ev(1120, { partition: 1, point: 2 })] },
        { kind: 'ingest', nowS: 1062, events: [ev(1250), ev(1200, { partition: 1 })] },
      ],
      flushTo: 1500,
    };
    const ref = run(makeReference, s, []);
    expect(ref.rejections).toEqual([
      { index: 2, reason: Reason.BEYOND_RING },
      { index: 4, reason: Reason.LATE }, // pane [1020, 1080) closed by W = 1129
    ]);
    // back from idle, partition 1 (max 1120) holds W at 1129 until its 1200: min(1240, 1190)
    expect(ref.watermarks.slice(0, 6)).toEqual([990, 990, 990, 1129, 1129, 1190]);
    expect(ref.finalEnds).toEqual([1020, 1080, 1140, 1200, 1260, 1320, 1380, 1440, 1500]); // flush to 1500
    expectSameAsReference(run(makeWasm, s, []), ref);
  });

  it('ingest does not re-evaluate idleness before its first accepted event (like the reference)', () => {
    const s: Scenario = {
      options: OPTIONS,
      points: [[0, 50]],
      steps: [
        { kind: 'ingest', nowS: 1010, events: [ev(1000), ev(1100)] },
        { kind: 'ingest', nowS: 1040, events: [ev(1100)] },
        // partition 1 (silent since 1000) is idle at 1070, partition 0 (1040) is not; the refused
        // event does not move W, the 1030 event is checked against W = 990 and accepted, then W = 1090
        { kind: 'ingest', nowS: 1070, events: [ev(1030, { lane: 0 }), ev(1030)] },
      ],
      flushTo: 1200,
    };
    const ref = run(makeReference, s, [1]);
    expect(ref.rejections).toEqual([{ index: 3, reason: Reason.LANE_OUT_OF_RANGE }]);
    expect(ref.watermarks.slice(0, 3)).toEqual([990, 990, 1090]);
    expect(ref.rows.find((r) => r.windowEnd === 1080)!.short.count).toBe(1);
    expectSameAsReference(run(makeWasm, s, [1]), ref);
  });

  it('externalWatermark on a hand-made stream: refused before the start, LATE only for panes no window needs', () => {
    const s: Scenario = {
      options: { ...OPTIONS, externalWatermark: true },
      points: [
        [0, 50],
        [1, null],
      ],
      steps: [
        { kind: 'ingest', nowS: 1000, events: [ev(1000), ev(1000, { point: 1, partition: 1 })] },
        { kind: 'tick', nowS: 5000 },
        { kind: 'advance', watermarkS: 1005 }, // first end 1020, ring = panes 14..18 = [840, 1140)
        { kind: 'ingest', nowS: 1000, events: [ev(839.5), ev(840), ev(1000), ev(1140), ev(1139, { partition: 1 })] },
        { kind: 'advance', watermarkS: 1140 },
        { kind: 'ingest', nowS: 1000, events: [ev(1019.5), ev(1020, { point: 1 })] },
      ],
      flushTo: 1440,
    };
    const ref = run(makeReference, s, []);
    expect(ref.rejections).toEqual([
      { index: 0, reason: Reason.BEYOND_RING },
      { index: 1, reason: Reason.BEYOND_RING },
      { index: 2, reason: Reason.LATE },
      { index: 5, reason: Reason.BEYOND_RING },
      { index: 7, reason: Reason.LATE },
    ]);
    expect(ref.watermarks).toEqual([-Infinity, -Infinity, 1005, 1005, 1140, 1140, 1440]);
    expectSameAsReference(run(makeWasm, s, []), ref);
    const small = wasmWith({ batchCapacity: 1, rowCapacity: 4, finalEndCapacity: 1 });
    expectSameAsReference(run(small, s, [2]), run(makeReference, s, [2]));
  });

  it('advanceWatermark before the first accepted event: the watermark stays -Infinity (kernel.ts)', () => {
    // kernel.ts: "Current stream watermark, -Infinity before the first event"; contract.ts: the
    // first accepted event sets W0 = t0 − grace. So an early raise cannot make that event late.
    for (const make of [makeReference, makeWasm]) {
      const k = make(OPTIONS);
      k.setPoint(0, 50);
      expect(k.advanceWatermark(5000)).toEqual({ rejections: [], rows: [], finalEnds: [] });
      expect(k.watermark).toBe(-Infinity);
      expect(k.ingest(eventColumns([ev(1000)]), 1000).rejections).toEqual([]);
      expect(k.watermark).toBe(990);
    }
  });
});
