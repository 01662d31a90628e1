import {
  LONG_VEHICLE_M,
  PANE_COUNTER_MAX,
  Reason,
  SPEED_BIN_KMH,
  SPEED_BINS,
  type ReasonCode,
  type Rejection,
  type WindowRow,
  type WindowStats,
} from './contract.js';
import { KernelError } from '../errors.js';
import { checkEventFields } from './event-checks.js';
import type { EventColumns, KernelOptions, KernelOutput, WindowKernel } from './kernel.js';
import type { WindowSpec } from './window-spec.js';

/**
 * The plain TypeScript reference window kernel: the test oracle for the WASM kernel.
 *
 * It is written to be obviously right, not fast. It keeps every accepted event (per point) and,
 * when a window end becomes final, recomputes both windows' statistics from those raw events by
 * filtering `tOut2` into `[T - size, T)`. No panes, no running sums. Watermark and rejection rules
 * follow `contract.ts` to the letter. Choices where the contract is silent (the WASM kernel must make
 * the same ones to compare equal):
 * - The stream watermark is recomputed after each accepted event, on `tick` and on
 *   `advanceWatermark` — not at the start of `ingest`, so a batch whose events are all refused
 *   changes nothing, whatever its `nowS`.
 * - If every partition is idle, the watermark stays where it is (the min over an empty set does not
 *   release anything).
 * - Without `externalWatermark`, `advanceWatermark` before the first accepted event does nothing
 *   (there is no first window end yet); after it, `W = max(W, watermarkS)`.
 * - overLimitShare counts the events that were faster than the point's allowed speed when they
 *   were accepted (a point without one counts none); it is null if the point has no allowed speed
 *   when the window is emitted. `setPoint` therefore never rewrites history.
 * - `externalWatermark` (kernel.ts): events and `tick` never move W; an event before the first
 *   `advanceWatermark` is BEYOND_RING; that call sets W and the first window end (the end of the
 *   pane holding W); after it an event is LATE only when no window to come needs its pane (pane <
 *   (nextEnd − longS) / advanceS), not when W passed the pane's end.
 * - A partition slot outside `0..partitions-1`, a non-finite `nowS` or watermark, or a point index
 *   outside `0..pointCapacity-1` in `setPoint` is a programming error: it throws (before any state
 *   changes) rather than producing a rejection.
 */

/** The fields of an accepted event the statistics need. */
export interface StatEvent {
  tIn1: number;
  tOut1: number;
  tOut2: number;
  speed: number;
  gapM: number;
  gapS: number;
  length: number;
  lane: number;
  /**
   * Faster than the point's allowed speed when the event was accepted (false if it had none). When
   * absent, computeWindowStats judges the speed against the allowed speed it is given.
   */
  overLimit?: boolean;
}

/** The histogram bin a speed falls in (the last bin takes every faster vehicle). */
export function speedBin(speedKmh: number): number {
  return Math.min(Math.floor(speedKmh / SPEED_BIN_KMH), SPEED_BINS - 1);
}

/**
 * V85 as the contract defines it: the 48-bin histogram, rank r = 0.85 * count, the bin b with
 * cumBefore < r <= cumBefore + bin[b], and linear interpolation inside it. null for no speeds.
 */
export function v85FromSpeeds(speeds: readonly number[]): number | null {
  if (speeds.length === 0) return null;
  const bins = new Array<number>(SPEED_BINS).fill(0);
  for (const s of speeds) bins[speedBin(s)]++;
  const r = 0.85 * speeds.length;
  let cumBefore = 0;
  for (let b = 0; b < SPEED_BINS; b++) {
    if (cumBefore < r && r <= cumBefore + bins[b]) {
      return b * SPEED_BIN_KMH + (SPEED_BIN_KMH * (r - cumBefore)) / bins[b];
    }
    cumBefore += bins[b];
  }
  throw new Error('unreachable: rank beyond the histogram');
}

/** The nearest-rank 85th percentile (the value at 1-based rank ceil(0.85 n) of the sorted speeds). */
export function nearestRankP85(speeds: readonly number[]): number | null {
  if (speeds.length === 0) return null;
  const sorted = [...speeds].sort((a, b) => a - b);
  return sorted[Math.ceil((85 * sorted.length) / 100) - 1];
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function min(xs: readonly number[]): number {
  let m = Infinity;
  for (const x of xs) m = Math.min(m, x);
  return m;
}

function max(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) m = Math.max(m, x);
  return m;
}

function share(events: readonly StatEvent[], pred: (e: StatEvent) => boolean): number {
  return events.filter(pred).length / events.length;
}

/**
 * The statistics of the window `[start, end)` over `events` (any order, any times: those outside are
 * ignored), as the contract defines them. Missing values are null. overLimitShare is null when
 * `allowedSpeedKmh` is null, else the share of events flagged `overLimit` (or, for an event without
 * the flag, faster than `allowedSpeedKmh`).
 */
export function computeWindowStats(
  events: readonly StatEvent[],
  start: number,
  end: number,
  allowedSpeedKmh: number | null,
): WindowStats {
  const sizeS = end - start;
  const w = events.filter((e) => e.tOut2 >= start && e.tOut2 < end);
  const count = w.length;
  const flowVph = (count * 3600) / sizeS;
  if (count === 0) {
    return {
      count,
      flowVph,
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
      lanes: 0,
    };
  }
  const speeds = w.map((e) => e.speed);
  const meanSpeedKmh = mean(speeds);
  const speedStdKmh = Math.sqrt(mean(speeds.map((s) => (s - meanSpeedKmh) ** 2)));
  const lanes = new Map<number, number[]>();
  for (const e of w) {
    const l = lanes.get(e.lane);
    if (l) l.push(e.speed);
    else lanes.set(e.lane, [e.speed]);
  }
  const laneMeans = [...lanes.values()].map(mean);
  let occupied = 0;
  for (const e of w) occupied += e.tOut1 - e.tIn1;
  return {
    count,
    flowVph,
    meanSpeedKmh,
    speedStdKmh,
    v85Kmh: v85FromSpeeds(speeds),
    meanGapM: mean(w.map((e) => e.gapM)),
    minGapM: min(w.map((e) => e.gapM)),
    meanGapS: mean(w.map((e) => e.gapS)),
    minGapS: min(w.map((e) => e.gapS)),
    headwayLt1sShare: share(w, (e) => e.gapS < 1),
    headwayLt2sShare: share(w, (e) => e.gapS < 2),
    meanLengthM: mean(w.map((e) => e.length)),
    longVehicleShare: share(w, (e) => e.length > LONG_VEHICLE_M),
    occupancy: occupied / (sizeS * lanes.size),
    overLimitShare: allowedSpeedKmh === null ? null : share(w, (e) => e.overLimit ?? e.speed > allowedSpeedKmh),
    laneSpeedSpreadKmh: max(laneMeans) - min(laneMeans),
    lanes: lanes.size,
  };
}

/** One loop event as a plain object (tests and tools; the service uses columns). */
export interface LoopEvent {
  tIn1: number;
  tOut1: number;
  tIn2: number;
  tOut2: number;
  speed: number;
  gapM: number;
  gapS: number;
  length: number;
  point: number;
  lane: number;
  partition: number;
}

/** Packs events into a fresh EventColumns batch (exactly sized). */
export function eventColumns(events: readonly LoopEvent[]): EventColumns {
  const n = events.length;
  const f = (k: keyof LoopEvent) => Float64Array.from(events, (e) => e[k]);
  const i = (k: keyof LoopEvent) => Int32Array.from(events, (e) => e[k]);
  return {
    count: n,
    tIn1: f('tIn1'),
    tOut1: f('tOut1'),
    tIn2: f('tIn2'),
    tOut2: f('tOut2'),
    speed: f('speed'),
    gapM: f('gapM'),
    gapS: f('gapS'),
    length: f('length'),
    point: i('point'),
    lane: i('lane'),
    partition: i('partition'),
  };
}

export class ReferenceKernel implements WindowKernel {
  private readonly spec: WindowSpec;
  private readonly pointCapacity: number;
  private readonly partitions: number;
  /** Registered points and their allowed speed (null: none). */
  private readonly allowed = new Map<number, number | null>();
  /** Accepted events still needed by some unemitted window, per point. */
  private readonly events = new Map<number, StatEvent[]>();
  /** Accepted events per point and pane index, for PANE_FULL (a lane or bin count never exceeds it). */
  private readonly paneCounts = new Map<number, Map<number, number>>();
  /** Largest accepted event time per partition (-Infinity: none yet). */
  private readonly partitionMax: number[];
  /** Wall clock of the last accepted event per partition (startWallClockS at first). */
  private readonly lastSeen: number[];
  /** KernelOptions.externalWatermark: only advanceWatermark moves W (and starts the stream). */
  private readonly external: boolean;
  private wm = -Infinity;
  private started = false;
  /** The oldest window end not emitted yet (valid once started). */
  private nextEnd = NaN;

  constructor(options: KernelOptions) {
    const { spec, pointCapacity, partitions, startWallClockS } = options;
    if (!Number.isInteger(pointCapacity) || pointCapacity <= 0) {
      throw new KernelError(`pointCapacity must be a positive integer (got ${pointCapacity})`);
    }
    if (!Number.isInteger(partitions) || partitions <= 0) {
      throw new KernelError(`partitions must be a positive integer (got ${partitions})`);
    }
    if (!Number.isFinite(startWallClockS)) {
      throw new KernelError(`startWallClockS must be finite (got ${startWallClockS})`);
    }
    this.spec = spec;
    this.pointCapacity = pointCapacity;
    this.partitions = partitions;
    this.partitionMax = new Array<number>(partitions).fill(-Infinity);
    this.lastSeen = new Array<number>(partitions).fill(startWallClockS);
    this.external = options.externalWatermark ?? false;
  }

  get watermark(): number {
    return this.wm;
  }

  setPoint(point: number, allowedSpeedKmh: number | null): void {
    if (!Number.isInteger(point) || point < 0 || point >= this.pointCapacity) {
      throw new KernelError(`point ${point} is outside 0..${this.pointCapacity - 1}`);
    }
    if (allowedSpeedKmh !== null && !Number.isFinite(allowedSpeedKmh)) {
      throw new KernelError(`allowed speed of point ${point} must be finite or null (got ${allowedSpeedKmh})`);
    }
    this.allowed.set(point, allowedSpeedKmh);
  }

  ingest(ev: EventColumns, nowS: number): KernelOutput {
    if (!Number.isFinite(nowS)) throw new KernelError(`nowS must be finite (got ${nowS})`);
    for (let i = 0; i < ev.count; i++) {
      const p = ev.partition[i];
      if (!Number.isInteger(p) || p < 0 || p >= this.partitions) {
        throw new KernelError(`event ${i}: partition ${p} is outside 0..${this.partitions - 1}`);
      }
    }
    const out: KernelOutput = { rejections: [], rows: [], finalEnds: [] };
    for (let i = 0; i < ev.count; i++) {
      const reason = this.check(ev, i, nowS);
      if (reason !== Reason.OK) {
        out.rejections.push({ index: i, reason } satisfies Rejection);
        continue;
      }
      this.accept(ev, i, nowS);
      this.emit(out);
    }
    return out;
  }

  tick(nowS: number): KernelOutput {
    if (!Number.isFinite(nowS)) throw new KernelError(`nowS must be finite (got ${nowS})`);
    const out: KernelOutput = { rejections: [], rows: [], finalEnds: [] };
    this.updateWatermark(nowS);
    this.emit(out);
    return out;
  }

  advanceWatermark(watermarkS: number): KernelOutput {
    if (!Number.isFinite(watermarkS)) throw new KernelError(`watermark must be finite (got ${watermarkS})`);
    const out: KernelOutput = { rejections: [], rows: [], finalEnds: [] };
    if (this.external && !this.started) {
      // The first external watermark starts the stream: the first window end is the end of the
      // pane holding it (not final yet, since W < that end).
      this.start(watermarkS);
      this.forget();
    } else if (this.started && watermarkS > this.wm) {
      this.wm = watermarkS;
    }
    this.emit(out);
    return out;
  }

  private paneIndex(t: number): number {
    return Math.floor(t / this.spec.advanceS);
  }

  private check(ev: EventColumns, i: number, nowS: number): ReasonCode {
    const fields = checkEventFields(ev, i, (p) => this.allowed.has(p));
    if (fields !== Reason.OK) return fields;
    const t = ev.tOut2[i];
    const point = ev.point[i];
    if (t > nowS + this.spec.maxSkewS) return Reason.TOO_FAR_AHEAD;
    const pane = this.paneIndex(t);
    if (this.started) {
      // The first pane the oldest unemitted window end still needs (its long window starts there).
      const firstNeededPane = (this.nextEnd - this.spec.longS) / this.spec.advanceS;
      if (this.external ? pane < firstNeededPane : this.wm >= (pane + 1) * this.spec.advanceS) return Reason.LATE;
      if (pane >= firstNeededPane + this.spec.ringPanes) return Reason.BEYOND_RING;
    } else if (this.external) {
      return Reason.BEYOND_RING; // no ring position before the first advanceWatermark
    }
    if ((this.paneCounts.get(point)?.get(pane) ?? 0) + 1 > PANE_COUNTER_MAX) return Reason.PANE_FULL;
    return Reason.OK;
  }

  private accept(ev: EventColumns, i: number, nowS: number): void {
    const point = ev.point[i];
    const t = ev.tOut2[i];
    const e: StatEvent = {
      tIn1: ev.tIn1[i],
      tOut1: ev.tOut1[i],
      tOut2: t,
      speed: ev.speed[i],
      gapM: ev.gapM[i],
      gapS: ev.gapS[i],
      length: ev.length[i],
      lane: ev.lane[i],
      overLimit: ev.speed[i] > (this.allowed.get(point) ?? Infinity),
    };
    const list = this.events.get(point);
    if (list) list.push(e);
    else this.events.set(point, [e]);
    const counts = this.paneCounts.get(point) ?? new Map<number, number>();
    this.paneCounts.set(point, counts);
    const pane = this.paneIndex(t);
    counts.set(pane, (counts.get(pane) ?? 0) + 1);
    const p = ev.partition[i];
    this.partitionMax[p] = Math.max(this.partitionMax[p], t);
    this.lastSeen[p] = nowS;
    if (!this.started && !this.external) this.start(t - this.spec.graceS);
    this.updateWatermark(nowS);
  }

  /** Sets W = w0; the first window end is the end of the pane holding w0. */
  private start(w0: number): void {
    this.started = true;
    this.wm = w0;
    this.nextEnd = (this.paneIndex(w0) + 1) * this.spec.advanceS;
  }

  /** W = max(W, min over non-idle partitions of (max accepted time − grace)); never-seen = −∞. */
  private updateWatermark(nowS: number): void {
    if (!this.started || this.external) return;
    let candidate = Infinity;
    let active = 0;
    for (let p = 0; p < this.partitions; p++) {
      if (nowS - this.lastSeen[p] >= this.spec.idleTimeoutS) continue; // idle
      active++;
      candidate = Math.min(candidate, this.partitionMax[p] - this.spec.graceS);
    }
    if (active > 0 && candidate > this.wm) this.wm = candidate;
  }

  /** Emits every window end `T <= W` not emitted yet, then forgets what no future window needs. */
  private emit(out: KernelOutput): void {
    if (!this.started) return;
    const { shortS, longS, advanceS } = this.spec;
    if (this.nextEnd > this.wm) return; // (and nothing to forget)
    while (this.nextEnd <= this.wm) {
      const T = this.nextEnd;
      const points = [...this.allowed.keys()].sort((a, b) => a - b);
      for (const point of points) {
        const evs = this.events.get(point) ?? [];
        const allowed = this.allowed.get(point) ?? null;
        out.rows.push({
          point,
          windowEnd: T,
          short: computeWindowStats(evs, T - shortS, T, allowed),
          long: computeWindowStats(evs, T - longS, T, allowed),
        } satisfies WindowRow);
      }
      out.finalEnds.push(T);
      this.nextEnd = T + advanceS;
    }
    this.forget();
  }

  /** Drops the events (and pane counts) of panes no unemitted window end needs. */
  private forget(): void {
    const { longS, advanceS } = this.spec;
    const oldest = this.nextEnd - longS;
    for (const [point, evs] of this.events) {
      this.events.set(point, evs.filter((e) => e.tOut2 >= oldest));
    }
    const firstPane = oldest / advanceS;
    for (const counts of this.paneCounts.values()) {
      for (const pane of [...counts.keys()]) if (pane < firstPane) counts.delete(pane);
    }
  }
}
