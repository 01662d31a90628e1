import {
  LONG_VEHICLE_M,
  MAX_LANES,
  MAX_LENGTH_M,
  MAX_SPEED_KMH,
  SPEED_SHIFT_KMH,
  PANE_COUNTER_MAX,
  Reason,
  SPEED_BIN_KMH,
  SPEED_BINS,
} from './contract.js';
import type { EventColumns, KernelOptions } from './kernel.js';

/**
 * The WASM kernel's per-event work — validation in the contract order, the watermark, and the
 * update of one pane — written as idiomatic JavaScript over typed arrays, for the benchmark only
 * (bench/kernel.bench.ts): it shows what compiling the hot path to WASM buys over plain JS doing
 * the same work. It does not build rows: when a window end becomes final it only advances the
 * ring, so compare its events/s with the WASM kernel's, not its output.
 *
 * Pane fields live in parallel typed arrays indexed by pane slot (point * ringPanes + slot).
 */
export class JsPaneKernel {
  private readonly advanceS: number;
  private readonly graceS: number;
  private readonly maxSkewS: number;
  private readonly idleTimeoutS: number;
  private readonly longPanes: number;
  private readonly ringPanes: number;
  private readonly pointCapacity: number;
  private readonly partitions: number;
  private readonly startWallClockS: number;

  private readonly allowed: Float64Array;
  private readonly registered: Uint8Array;
  private readonly paneIndex: Int32Array;
  /** count, headway<1s, headway<2s, long vehicles, over limit: 5 per slot. */
  private readonly counters: Uint16Array;
  /** sumSpeedDev, sumSpeedDevSq, sumGapM, minGapM, sumGapS, minGapS, sumLength, occupied: 8 per slot. */
  private readonly sums: Float64Array;
  private readonly laneCount: Uint16Array;
  private readonly laneSpeed: Float64Array;
  private readonly hist: Uint16Array;

  private readonly partitionMax: Float64Array;
  private readonly lastSeen: Float64Array;
  private readonly seen: Uint8Array;

  private wm = -Infinity;
  private started = false;
  private basePane = 0;
  private nextEndRel = 0;
  private ringOrigin = 0;
  /** Window ends that became final (rows are not built). */
  finalEnds = 0;
  readonly rejections: Int32Array;
  rejectionCount = 0;

  constructor(options: KernelOptions, batchCapacity: number) {
    const { spec } = options;
    this.advanceS = spec.advanceS;
    this.graceS = spec.graceS;
    this.maxSkewS = spec.maxSkewS;
    this.idleTimeoutS = spec.idleTimeoutS;
    this.longPanes = spec.longPanes;
    this.ringPanes = spec.ringPanes;
    this.pointCapacity = options.pointCapacity;
    this.partitions = options.partitions;
    this.startWallClockS = options.startWallClockS;
    const slots = this.pointCapacity * this.ringPanes;
    this.allowed = new Float64Array(this.pointCapacity);
    this.registered = new Uint8Array(this.pointCapacity);
    this.paneIndex = new Int32Array(slots);
    this.counters = new Uint16Array(slots * 5);
    this.sums = new Float64Array(slots * 8);
    this.laneCount = new Uint16Array(slots * MAX_LANES);
    this.laneSpeed = new Float64Array(slots * MAX_LANES);
    this.hist = new Uint16Array(slots * SPEED_BINS);
    this.partitionMax = new Float64Array(this.partitions);
    this.lastSeen = new Float64Array(this.partitions);
    this.seen = new Uint8Array(this.partitions);
    this.rejections = new Int32Array(2 * batchCapacity);
    this.reset();
  }

  setPoint(point: number, allowedSpeedKmh: number | null): void {
    this.allowed[point] = allowedSpeedKmh ?? NaN;
    this.registered[point] = 1;
  }

  reset(): void {
    this.paneIndex.fill(-0x80000000);
    this.partitionMax.fill(-Infinity);
    this.lastSeen.fill(this.startWallClockS);
    this.seen.fill(0);
    this.wm = -Infinity;
    this.started = false;
    this.finalEnds = 0;
  }

  /** Adds a batch (at most batchCapacity events); returns the number accepted. */
  ingest(ev: EventColumns, nowS: number): number {
    const { tIn1: cTIn1, tOut1: cTOut1, tIn2: cTIn2, tOut2: cTOut2, speed: cSpeed, gapM: cGapM, gapS: cGapS } = ev;
    const { length: cLength, point: cPoint, lane: cLane, partition: cPartition } = ev;
    const latestAllowed = nowS + this.maxSkewS;
    const adv = this.advanceS;
    let accepted = 0;
    this.rejectionCount = 0;
    for (let i = 0; i < ev.count; i++) {
      const tIn1 = cTIn1[i];
      const tOut1 = cTOut1[i];
      const tIn2 = cTIn2[i];
      const t = cTOut2[i];
      const speed = cSpeed[i];
      const gapM = cGapM[i];
      const gapS = cGapS[i];
      const length = cLength[i];
      const point = cPoint[i];
      const lane = cLane[i];
      let reason: number = Reason.OK;
      if (!(Number.isFinite(tIn1) && Number.isFinite(tOut1) && Number.isFinite(tIn2) && Number.isFinite(t) &&
        Number.isFinite(speed) && Number.isFinite(gapM) && Number.isFinite(gapS) && Number.isFinite(length))) {
        reason = Reason.NOT_FINITE;
      } else if (point < 0 || point >= this.pointCapacity || this.registered[point] === 0) {
        reason = Reason.UNKNOWN_POINT;
      } else if (lane < 1 || lane > MAX_LANES) {
        reason = Reason.LANE_OUT_OF_RANGE;
      } else if (speed < 0 || speed > MAX_SPEED_KMH) {
        reason = Reason.SPEED_OUT_OF_RANGE;
      } else if (gapM < 0 || gapS < 0) {
        reason = Reason.NEGATIVE_GAP;
      } else if (length < 0 || length > MAX_LENGTH_M) {
        reason = Reason.LENGTH_OUT_OF_RANGE;
      } else if (tIn1 < 0 || tOut1 < 0 || tIn2 < 0 || t < 0 || tOut1 < tIn1) {
        reason = Reason.BAD_TIMESTAMPS;
      } else if (t > latestAllowed) {
        reason = Reason.TOO_FAR_AHEAD;
      } else {
        const paneAbs = Math.floor(t / adv);
        if (this.wm >= (paneAbs + 1) * adv) {
          reason = Reason.LATE;
        } else if (this.started && paneAbs - this.basePane >= this.nextEndRel - this.longPanes + this.ringPanes) {
          reason = Reason.BEYOND_RING;
        } else {
          if (!this.started) this.start(t);
          const q = paneAbs - this.basePane;
          let d = q - this.ringOrigin;
          if (d >= this.ringPanes) d -= this.ringPanes;
          const slot = point * this.ringPanes + d;
          if (this.paneIndex[slot] === q && this.counters[slot * 5] >= PANE_COUNTER_MAX) {
            reason = Reason.PANE_FULL;
          } else {
            this.addToPane(slot, q, tIn1, tOut1, speed, gapM, gapS, length, lane, this.allowed[point], SPEED_SHIFT_KMH);
            this.acceptOnPartition(cPartition[i], t, nowS);
            accepted++;
          }
        }
      }
      if (reason !== Reason.OK) {
        this.rejections[2 * this.rejectionCount] = i;
        this.rejections[2 * this.rejectionCount + 1] = reason;
        this.rejectionCount++;
      }
    }
    return accepted;
  }

  private start(t0: number): void {
    const w0 = t0 - this.graceS;
    this.basePane = Math.floor(w0 / this.advanceS);
    this.started = true;
    this.nextEndRel = 1;
    this.ringOrigin = Math.floor((1 - this.longPanes) / this.ringPanes) * this.ringPanes;
    if (w0 > this.wm) this.wm = w0;
  }

  private addToPane(
    slot: number,
    q: number,
    tIn1: number,
    tOut1: number,
    speed: number,
    gapM: number,
    gapS: number,
    length: number,
    lane: number,
    allowed: number,
    shift: number,
  ): void {
    const c = slot * 5;
    const s = slot * 8;
    const l = slot * MAX_LANES;
    const h = slot * SPEED_BINS;
    const counters = this.counters;
    const sums = this.sums;
    if (this.paneIndex[slot] !== q) {
      this.paneIndex[slot] = q;
      counters.fill(0, c, c + 5);
      sums.fill(0, s, s + 8);
      sums[s + 3] = Infinity;
      sums[s + 5] = Infinity;
      this.laneCount.fill(0, l, l + MAX_LANES);
      this.laneSpeed.fill(0, l, l + MAX_LANES);
      this.hist.fill(0, h, h + SPEED_BINS);
    }
    counters[c]++;
    if (gapS < 1) counters[c + 1]++;
    if (gapS < 2) counters[c + 2]++;
    if (length > LONG_VEHICLE_M) counters[c + 3]++;
    if (speed > allowed) counters[c + 4]++;
    const dev = speed - shift;
    sums[s] += dev;
    sums[s + 1] += dev * dev;
    sums[s + 2] += gapM;
    sums[s + 3] = Math.min(sums[s + 3], gapM);
    sums[s + 4] += gapS;
    sums[s + 5] = Math.min(sums[s + 5], gapS);
    sums[s + 6] += length;
    sums[s + 7] += tOut1 - tIn1;
    this.laneCount[l + lane - 1]++;
    this.laneSpeed[l + lane - 1] += speed;
    this.hist[h + Math.min(Math.floor(speed / SPEED_BIN_KMH), SPEED_BINS - 1)]++;
  }

  private acceptOnPartition(p: number, t: number, nowS: number): void {
    if (this.seen[p] === 0 || t > this.partitionMax[p]) this.partitionMax[p] = t;
    this.seen[p] = 1;
    this.lastSeen[p] = nowS;
    let candidate = Infinity;
    for (let k = 0; k < this.partitions; k++) {
      if (nowS - this.lastSeen[k] >= this.idleTimeoutS) continue;
      const wm = this.seen[k] !== 0 ? this.partitionMax[k] - this.graceS : -Infinity;
      if (wm < candidate) candidate = wm;
    }
    if (candidate !== Infinity && candidate > this.wm) this.wm = candidate;
    // Window ends that became final: no rows here, only the ring moves on.
    while ((this.basePane + this.nextEndRel) * this.advanceS <= this.wm) {
      this.finalEnds++;
      this.nextEndRel++;
      if (this.nextEndRel - this.longPanes - this.ringOrigin >= this.ringPanes) this.ringOrigin += this.ringPanes;
    }
  }
}
