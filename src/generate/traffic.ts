/**
 * Seeded, seed-compatible loop-event traffic.
 *
 * Model, per measuring point and lane: vehicles arrive at loop 1 with shifted-exponential headways
 * (Poisson-like traffic with a minimum headway) at the lane's share of `ratePerSecond`; speeds are
 * normal around the point's allowed speed (faster on inner lanes), trucks (~10%, 10–18 m) are capped
 * near 90 km/h, and each point has occasional slow-downs (1–5 min, speed × 0.3–0.7). Loop timing of a
 * double loop, loops LOOP_LENGTH_M long, LOOP_SPACING_M apart (start to start):
 *
 *   tIn1 = arrival, tOut1 = tIn1 + (length + LOOP_LENGTH_M) / v, tIn2 = tIn1 + LOOP_SPACING_M / v,
 *   tOut2 = tIn2 + (length + LOOP_LENGTH_M) / v        (v in m/s)
 *
 * so tIn1 < tOut1 <= tIn2 < tOut2 (the spacing exceeds the longest vehicle plus a loop).
 * gap_seconds = tIn1 − tOut1 of the previous vehicle in the lane (never negative) and
 * gap_meters = gap_seconds × speed / 3.6 (to the rounding of the output).
 *
 * Events come out in event-time order (`timestamp_out_2`) over all points, so per point as well;
 * `jitterS` > 0 shuffles the arrival order within that many seconds of event time (each event gets
 * an arrival time tOut2 + U[0, jitterS) and events are yielded by arrival time).
 */
import type { SeedLoopEvent } from '../codec/seed-json.js';
import { MinHeap } from './heap.js';
import { clamp, deriveSeed, exponential, hashString, mulberry32, normal, type Rng, round } from './prng.js';

export const LOOP_LENGTH_M = 1.5;
export const LOOP_SPACING_M = 20;
export const TRUCK_SHARE = 0.1;
/** Speed used for a point without an allowed speed. */
export const DEFAULT_SPEED_KMH = 80;

/** What the generator needs to know of a road point (a RoadPoint or a GeneratedRoadPoint). */
export interface TrafficPoint {
  pointId: string;
  allowedSpeedKmh: number | null;
  /** 1..3; derived from the point id when absent (e.g. points read from a CSV). */
  lanes?: number;
}

export interface TrafficOptions {
  points: readonly TrafficPoint[];
  /** Events per second over all points. */
  ratePerSecond: number;
  /** Events have event time in [startS, startS + durationS). */
  durationS: number;
  /** Epoch seconds; default: the start of the current minute. */
  startS?: number;
  seed?: number;
  /** Shuffle the arrival order within this many seconds of event time (default 0: none). */
  jitterS?: number;
}

/** Default start: the current wall-clock minute. */
export function currentMinuteS(nowMs = Date.now()): number {
  return Math.floor(nowMs / 60_000) * 60;
}

interface SlowDown {
  start: number;
  end: number;
  factor: number;
}

/** Speed factor at time t given a point's slow-downs (20 s linear ramps in and out). */
function slowFactor(episodes: readonly SlowDown[], t: number): number {
  for (const e of episodes) {
    if (t < e.start) break;
    if (t >= e.end) continue;
    const ramp = Math.min(1, (t - e.start) / 20, (e.end - t) / 20);
    return 1 - (1 - e.factor) * ramp;
  }
  return 1;
}

class Lane {
  nextIn1: number;
  private prevOut1: number;
  private readonly minHeadway: number;
  private readonly meanSpeed: number;
  private readonly sdSpeed: number;

  constructor(
    readonly order: number,
    private readonly rng: Rng,
    private readonly pointId: string,
    private readonly lane: number,
    private readonly meanHeadway: number,
    allowed: number,
    private readonly episodes: readonly SlowDown[],
    startS: number,
  ) {
    this.minHeadway = Math.min(0.8, 0.5 * meanHeadway);
    this.meanSpeed = allowed * (0.9 + 0.05 * (lane - 1));
    this.sdSpeed = 0.08 * allowed + 2;
    this.nextIn1 = startS + exponential(rng, meanHeadway);
    // The (unseen) vehicle before the first one left loop 1 an exponential gap earlier.
    this.prevOut1 = this.nextIn1 - exponential(rng, meanHeadway);
  }

  private headway(): number {
    return this.minHeadway + exponential(this.rng, this.meanHeadway - this.minHeadway);
  }

  next(): SeedLoopEvent {
    const rng = this.rng;
    const truck = rng() < TRUCK_SHARE;
    const length = truck ? 10 + 8 * rng() : clamp(4.5 + 0.4 * normal(rng), 3, 6);
    let speed = this.meanSpeed * slowFactor(this.episodes, this.nextIn1) + this.sdSpeed * normal(rng);
    if (truck) speed = Math.min(speed, 85 + 5 * rng());
    speed = round(clamp(speed, 5, 250), 1);
    const len = round(length, 2);
    const v = speed / 3.6;
    const occ = (len + LOOP_LENGTH_M) / v;
    const tIn1 = round(this.nextIn1, 3);
    const tOut1 = round(this.nextIn1 + occ, 3);
    const tIn2 = round(this.nextIn1 + LOOP_SPACING_M / v, 3);
    const tOut2 = round(this.nextIn1 + (LOOP_SPACING_M + len + LOOP_LENGTH_M) / v, 3);
    const gapS = round(Math.max(0, tIn1 - this.prevOut1), 3);
    const gapM = round((gapS * speed) / 3.6, 2);
    this.prevOut1 = tOut1;
    this.nextIn1 += this.headway();
    return {
      lane: this.lane,
      timestamp_in_1: tIn1,
      timestamp_out_1: tOut1,
      timestamp_in_2: tIn2,
      timestamp_out_2: tOut2,
      speed,
      gap_meters: gapM,
      gap_seconds: gapS,
      length: len,
      point_id: this.pointId,
    };
  }
}

/** Lanes of a point: given, else 1..3 from a hash of its id. */
export function lanesOf(point: TrafficPoint): number {
  return point.lanes ?? 1 + (hashString(point.pointId) % 3);
}

/** Loop events of all points in event-time order (or shuffled by `jitterS`). Deterministic for a seed. */
export function* generateTraffic(options: TrafficOptions): Generator<SeedLoopEvent> {
  const { points, ratePerSecond, durationS } = options;
  const startS = options.startS ?? currentMinuteS();
  const seed = options.seed ?? 1;
  const jitterS = options.jitterS ?? 0;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`generateTraffic: ratePerSecond must be > 0 (got ${ratePerSecond})`);
  if (!(durationS >= 0)) throw new RangeError(`generateTraffic: durationS must be >= 0 (got ${durationS})`);
  if (points.length === 0) return;
  const endS = startS + durationS;

  // Shares of the total rate: per point and per lane, seeded.
  const shareRng = mulberry32(deriveSeed(seed, 0x72617465));
  const pointWeights = points.map(() => 0.5 + shareRng());
  const totalWeight = pointWeights.reduce((a, b) => a + b, 0);
  const lanes = new MinHeap<Lane>((a, b) => a.nextIn1 < b.nextIn1 || (a.nextIn1 === b.nextIn1 && a.order < b.order));
  let order = 0;
  points.forEach((p, pi) => {
    const n = lanesOf(p);
    const laneWeights = Array.from({ length: n }, () => 0.7 + 0.6 * shareRng());
    const laneTotal = laneWeights.reduce((a, b) => a + b, 0);
    // Slow-downs of this point: on average one every 15 minutes.
    const slowRng = mulberry32(deriveSeed(seed, 0x10000 + pi));
    const episodes: SlowDown[] = [];
    for (let t = startS + exponential(slowRng, 900); t < endS; t += exponential(slowRng, 900)) {
      const end = t + 60 + 240 * slowRng();
      episodes.push({ start: t, end, factor: 0.3 + 0.4 * slowRng() });
      t = end;
    }
    const allowed = p.allowedSpeedKmh ?? DEFAULT_SPEED_KMH;
    for (let l = 0; l < n; l++) {
      const rate = (ratePerSecond * pointWeights[pi]! * laneWeights[l]!) / (totalWeight * laneTotal);
      const rng = mulberry32(deriveSeed(seed, 0x1000000 + order));
      lanes.push(new Lane(order++, rng, p.pointId, l + 1, 1 / rate, allowed, episodes, startS));
    }
  });

  let seq = 0;
  type Pending = { e: SeedLoopEvent; seq: number };
  const pending = new MinHeap<Pending>(
    (a, b) => a.e.timestamp_out_2 < b.e.timestamp_out_2 || (a.e.timestamp_out_2 === b.e.timestamp_out_2 && a.seq < b.seq),
  );

  function* ordered(): Generator<SeedLoopEvent> {
    for (;;) {
      const lane = lanes.peek();
      // Every event still to come has tOut2 > its tIn1 >= the earliest next arrival.
      const frontier = lane ? lane.nextIn1 : Infinity;
      while (pending.size > 0 && pending.peek()!.e.timestamp_out_2 <= frontier) yield pending.pop()!.e;
      if (!lane) return;
      if (lane.nextIn1 >= endS) {
        lanes.pop();
        continue;
      }
      const e = lane.next();
      lanes.updateTop();
      if (e.timestamp_out_2 >= startS && e.timestamp_out_2 < endS) pending.push({ e, seq: seq++ });
    }
  }

  if (!(jitterS > 0)) {
    yield* ordered();
    return;
  }
  const jitterRng = mulberry32(deriveSeed(seed, 0x6a697474));
  type Arriving = { e: SeedLoopEvent; at: number; seq: number };
  const arriving = new MinHeap<Arriving>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  for (const e of ordered()) {
    arriving.push({ e, at: e.timestamp_out_2 + jitterS * jitterRng(), seq: seq++ });
    while (arriving.peek()!.at <= e.timestamp_out_2) yield arriving.pop()!.e;
  }
  while (arriving.size > 0) yield arriving.pop()!.e;
}
