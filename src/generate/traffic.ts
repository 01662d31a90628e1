/**
 * Seeded, seed-compatible loop-event traffic that a road engineer would believe.
 *
 * Per measuring point and lane (lane 1 = right/truck lane, highest = inner/fast lane; lanes.ts):
 *
 * - Demand: the lane's rush-hour flow (its share of `ratePerSecond`, lanes.ts) × the daily profile
 *   by local time (daily-profile.ts: night ~6 % of the rush hour, morning and evening peaks,
 *   weekends lower; `dailyProfile: false` holds it at the weekday mean) × a weather factor (rain
 *   0.97, snow 0.9).
 * - Car following: a vehicle enters loop 1 a time gap after the previous one left it,
 *   gap = the follower's minimum gap (normal 1.4 s, sd 0.25, at least 0.8 s; +0.4 s for a truck;
 *   × 1.15 in rain, × 1.4 in snow) + an exponential part that makes the mean headway 3600 / flow.
 *   So nobody is on a loop together (tIn1(n) >= tOut1(n−1) + 0.8 s), a lane saturates near
 *   LANE_CAPACITY_VPH (less in snow), and few gaps are under 1 s. A vehicle never enters loop 2
 *   before the previous one has left it either (a faster follower is held back).
 * - Speeds: normal around allowed speed × lane factor (right 0.88, +0.1 per lane inwards) × the
 *   point's compliance (0.95–1.08), sd 9 % + 2 km/h, a little slower near capacity, × rain 0.90–0.95
 *   or snow 0.70–0.85 (by intensity). Trucks (6–14 % per point, three quarters in the right lane,
 *   10–18 m) drive at most 80–90 km/h; cars are 3–6 m.
 * - Incidents (incidents.ts): a queue at a point, spreading upstream: speeds fall to the queue's
 *   5–45 km/h, the lane passes only part of its capacity; gaps stay >= 1 s and >= JAM_SPACING_M,
 *   so at walking pace they are a few metres and the loop is occupied most of the time.
 *
 * Weather comes from WeatherModel (weather.ts) with the same seed: the rain and snow the generated
 * weather topic reports for the point's station are the ones that slow its traffic.
 *
 * Loop timing of a double loop, loops LOOP_LENGTH_M long, LOOP_SPACING_M apart (start to start):
 *
 *   tIn1 = arrival, tOut1 = tIn1 + (length + LOOP_LENGTH_M) / v, tIn2 = tIn1 + LOOP_SPACING_M / v,
 *   tOut2 = tIn2 + (length + LOOP_LENGTH_M) / v        (v in m/s)
 *
 * so tIn1 < tOut1 <= tIn2 < tOut2 (the spacing exceeds the longest vehicle plus a loop).
 * gap_seconds = tIn1 − tOut1 of the previous vehicle in the lane and
 * gap_meters = gap_seconds × speed / 3.6 (to the rounding of the output).
 *
 * Events come out in event-time order (`timestamp_out_2`) over all points, so per point as well;
 * `jitterS` > 0 shuffles the arrival order within that many seconds of event time (each event gets
 * an arrival time tOut2 + U[0, jitterS) and events are yielded by arrival time).
 */
import type { SeedLoopEvent } from '../codec/seed-json.js';
import { DailyProfile, DEFAULT_TIME_ZONE, WEEKDAY_MEAN_DEMAND } from './daily-profile.js';
import { MinHeap } from './heap.js';
import { DEFAULT_INCIDENTS_PER_POINT_DAY, Incidents } from './incidents.js';
import {
  LANE_CAPACITY_VPH,
  TRUCK_SHARE_RANGE,
  type TrafficPoint,
  laneSpeedFactor,
  lanesOf,
  rateLimits,
  truckProbability,
  typicalPeakDemands,
} from './lanes.js';
import { clamp, deriveSeed, exponential, hashString, mulberry32, normal, type Rng, round } from './prng.js';
import { currentMinuteS } from './time.js';
import { type Precipitation, WeatherModel } from './weather.js';

export { currentMinuteS } from './time.js';
export { lanesOf, type TrafficPoint } from './lanes.js';

export const LOOP_LENGTH_M = 1.5;
export const LOOP_SPACING_M = 20;
/** Speed used for a point without an allowed speed. */
export const DEFAULT_SPEED_KMH = 80;
/** Gap kept in a slow queue, m: below JAM_SPACING_M / v the time gap grows (stop-and-go). */
export const JAM_SPACING_M = 4;
/** Smallest gap a driver keeps, s (the minimum of the normal distribution of minimum gaps). */
export const MIN_GAP_S = 0.8;

export interface TrafficOptions {
  points: readonly TrafficPoint[];
  /**
   * Vehicles per second over all points, on average over a weekday (lanes.ts); the daily profile
   * modulates it. Default: the points' typical traffic (rateLimits(points).typicalPerSecond).
   * More than the lanes can carry in the rush hour (rateLimits(points).maxPerSecond) is a RangeError.
   */
  ratePerSecond?: number;
  /** Events have event time in [startS, startS + durationS). */
  durationS: number;
  /** Epoch seconds; default: the start of the current minute. */
  startS?: number;
  seed?: number;
  /** Shuffle the arrival order within this many seconds of event time (default 0: none). */
  jitterS?: number;
  /** IANA time zone of the daily profile (default Europe/Warsaw). */
  timeZone?: string;
  /**
   * Follow the daily profile (default true). false: constant demand at the weekday mean, so
   * `ratePerSecond` is the rate at every hour (for tests whose time range depends on the wall clock).
   */
  dailyProfile?: boolean;
  /** Incidents starting per point and day on average (default 1.5; 0: none). */
  incidentsPerPointDay?: number;
  /**
   * Precipitation at a station and time. Default: WeatherModel(seed), i.e. what generateWeather
   * publishes for the same seed. false: dry everywhere.
   */
  weather?: ((station: string, t: number) => Precipitation) | false;
}

const DRY: Precipitation = { rain: 0, snow: 0 };

/** How rain and snow change driving: speed factor, minimum-gap factor, demand factor. */
export function weatherEffect(p: Precipitation): Readonly<{ speed: number; gap: number; demand: number }> {
  if (p.snow > 0) return { speed: 1 - Math.min(0.3, 0.15 + 0.03 * p.snow), gap: 1.4, demand: 0.9 };
  if (p.rain > 0) return { speed: 1 - Math.min(0.1, 0.05 + 0.0125 * p.rain), gap: 1.15, demand: 0.97 };
  return NO_EFFECT;
}

const NO_EFFECT = Object.freeze({ speed: 1, gap: 1, demand: 1 });

/** What every lane of a point shares. */
interface PointContext {
  index: number;
  pointId: string;
  station: string | undefined;
  lanes: number;
  allowed: number;
  /** Mean free speed factor of the point's drivers (speeding or not). */
  compliance: number;
  truckShare: number;
}

/** Shared by all lanes: conditions at an instant. */
interface Conditions {
  /** Relative demand (weekday rush hour = 1). */
  demand(t: number): number;
  precipitation(station: string | undefined, t: number): Precipitation;
  incidents: Incidents;
}

class Lane {
  /** tIn1 of the vehicle that comes next (already drawn). */
  nextIn1: number;
  private prevOut1: number;
  private prevOut2: number;
  private next_: { length: number; speed: number; truck: boolean; gapS: number } | null = null;
  private readonly truckP: number;
  private readonly speedFactor: number;

  constructor(
    readonly order: number,
    private readonly rng: Rng,
    private readonly point: PointContext,
    private readonly lane: number,
    /** Rush-hour demand of this lane, veh/h. */
    private readonly peakVph: number,
    private readonly conditions: Conditions,
    startS: number,
  ) {
    this.truckP = truckProbability(lane, point.lanes, point.truckShare);
    this.speedFactor = laneSpeedFactor(lane, point.lanes) * point.compliance;
    // The (unseen) vehicle before the first one left both loops somewhat before the start.
    const flow = Math.max(1, peakVph * conditions.demand(startS));
    this.prevOut1 = startS - exponential(rng, 3600 / flow);
    this.prevOut2 = this.prevOut1;
    this.nextIn1 = 0;
    this.draw();
  }

  /** Draws the next vehicle: its gap behind the previous one, then its speed on arrival. */
  private draw(): void {
    const rng = this.rng;
    const c = this.conditions;
    const p = this.point;
    const t0 = this.prevOut1;
    const effect = weatherEffect(c.precipitation(p.station, t0));
    const truck = rng() < this.truckP;
    const length = truck ? 10 + 8 * rng() : clamp(4.5 + 0.4 * normal(rng), 3, 6);

    let flow = this.peakVph * c.demand(t0) * effect.demand;
    const freeMean = this.freeSpeed(flow, effect.speed);
    let meanSpeed = freeMean;
    const queue0 = c.incidents.at(p.index, t0);
    if (queue0) {
      const r = queue0.intensity;
      flow = flow * (1 - r) + Math.min(flow, queue0.episode.capacityShare * LANE_CAPACITY_VPH) * r;
      meanSpeed = freeMean * (1 - r) + queue0.episode.speedKmh * r;
    }
    // Mean headway 3600/flow = mean occupancy + mean gap; the gap is a driver minimum + exponential.
    const meanLength = 4.5 * (1 - this.truckP) + 14 * this.truckP;
    const meanOccupancy = (meanLength + LOOP_LENGTH_M) / (meanSpeed / 3.6);
    const minGapMean = 1.4 * effect.gap;
    let minGap = Math.max(MIN_GAP_S, 1.4 + 0.25 * normal(rng)) * effect.gap + (truck ? 0.4 : 0);
    // In a queue: at least 1 s, and at walking pace at least JAM_SPACING_M (stop-and-go spacing).
    if (queue0) minGap = Math.max(minGap, 1.0, JAM_SPACING_M / (meanSpeed / 3.6));
    const truckExtra = 0.4 * this.truckP;
    const freeGapMean = Math.max(0.05, 3600 / Math.max(flow, 1) - meanOccupancy - minGapMean - truckExtra);
    const gapS = minGap + exponential(rng, freeGapMean);

    const tIn1 = t0 + gapS;
    const queue = c.incidents.at(p.index, tIn1);
    let speed = this.freeSpeed(flow, effect.speed) + (0.09 * p.allowed + 2) * normal(rng);
    if (truck) speed = Math.min(speed, 80 + 10 * rng());
    if (queue) {
      // Queue speeds scatter a little, never far below the queue's own (nobody creeps at 1 km/h for long).
      const inQueue = Math.max(0.75 * queue.episode.speedKmh, queue.episode.speedKmh + 3 * normal(rng));
      speed = speed * (1 - queue.intensity) + inQueue * queue.intensity;
    }
    this.next_ = { length: round(length, 2), speed: round(clamp(speed, 3, 200), 1), truck, gapS };
    this.nextIn1 = this.arrival();
  }

  /** Mean free-flow speed of the lane at a flow (a little slower near capacity), km/h. */
  private freeSpeed(flow: number, weatherFactor: number): number {
    const load = Math.min(1, flow / LANE_CAPACITY_VPH);
    return this.point.allowed * this.speedFactor * weatherFactor * (1 - 0.1 * load ** 3);
  }

  /** tIn1 of the drawn vehicle: its gap after the previous one, held back so it enters loop 2 after the previous one left it. */
  private arrival(): number {
    const v = this.next_!.speed / 3.6;
    const byGap = this.prevOut1 + this.next_!.gapS;
    const byLoop2 = this.prevOut2 + 0.05 - LOOP_SPACING_M / v;
    return Math.max(byGap, byLoop2);
  }

  next(): SeedLoopEvent {
    const { length: len, speed } = this.next_!;
    const v = speed / 3.6;
    const occ = (len + LOOP_LENGTH_M) / v;
    const in1 = this.nextIn1;
    const tIn1 = round(in1, 3);
    const tOut1 = round(in1 + occ, 3);
    const tIn2 = round(in1 + LOOP_SPACING_M / v, 3);
    const tOut2 = round(in1 + (LOOP_SPACING_M + len + LOOP_LENGTH_M) / v, 3);
    const gapS = round(Math.max(0, tIn1 - round(this.prevOut1, 3)), 3);
    const gapM = round((gapS * speed) / 3.6, 2);
    this.prevOut1 = in1 + occ;
    this.prevOut2 = in1 + (LOOP_SPACING_M + len + LOOP_LENGTH_M) / v;
    this.draw();
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
      point_id: this.point.pointId,
    };
  }
}

/** Relative demand (weekday rush hour = 1) at an instant, as `options` set it. */
function demandOf(options: Pick<TrafficOptions, 'dailyProfile' | 'timeZone'>): (t: number) => number {
  const profile = options.dailyProfile === false ? null : new DailyProfile(options.timeZone ?? DEFAULT_TIME_ZONE);
  return profile ? (t: number) => profile.demand(t) : () => WEEKDAY_MEAN_DEMAND;
}

/** The incidents generateTraffic(options) puts in its traffic (what the tests hold the speeds to). */
export function trafficIncidents(options: TrafficOptions): Incidents {
  const startS = options.startS ?? currentMinuteS();
  return incidentsOf(options, demandOf(options), startS, startS + options.durationS, options.seed ?? 1);
}

function incidentsOf(options: TrafficOptions, demand: (t: number) => number, startS: number, endS: number, seed: number): Incidents {
  return new Incidents(options.points, {
    seed,
    perPointDay: options.incidentsPerPointDay ?? DEFAULT_INCIDENTS_PER_POINT_DAY,
    fromS: startS,
    toS: endS,
    relativeDemand: (t) => demand(t) / WEEKDAY_MEAN_DEMAND,
  });
}

/** The conditions of a generation run: the daily profile, weather and incidents. */
function conditionsOf(options: TrafficOptions, startS: number, endS: number, seed: number): Conditions {
  const demand = demandOf(options);
  const weatherFn =
    options.weather === false
      ? () => DRY
      : (options.weather ??
        ((model) => (station: string, t: number) => model.precipitation(station, t))(new WeatherModel(seed)));
  return {
    demand,
    precipitation: (station, t) => (station === undefined ? DRY : weatherFn(station, t)),
    incidents: incidentsOf(options, demand, startS, endS, seed),
  };
}

/** Loop events of all points in event-time order (or shuffled by `jitterS`). Deterministic for a seed. */
export function* generateTraffic(options: TrafficOptions): Generator<SeedLoopEvent> {
  const { points, durationS } = options;
  const startS = options.startS ?? currentMinuteS();
  const seed = options.seed ?? 1;
  const jitterS = options.jitterS ?? 0;
  if (!(durationS >= 0)) throw new RangeError(`generateTraffic: durationS must be >= 0 (got ${durationS})`);
  if (points.length === 0) return;
  const limits = rateLimits(points);
  const ratePerSecond = options.ratePerSecond ?? limits.typicalPerSecond;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`generateTraffic: ratePerSecond must be > 0 (got ${ratePerSecond})`);
  if (ratePerSecond > limits.maxPerSecond * (1 + 1e-9)) {
    throw new RangeError(
      `generateTraffic: ratePerSecond ${ratePerSecond} exceeds what ${points.length} points (${limits.lanes} lanes) can carry: ` +
        `${limits.maxPerSecond.toFixed(2)} vehicles/s on average over a weekday`,
    );
  }
  const endS = startS + durationS;
  const conditions = conditionsOf(options, startS, endS, seed);
  const scale = ratePerSecond / limits.typicalPerSecond;
  const peaks = typicalPeakDemands(points);

  const lanes = new MinHeap<Lane>((a, b) => a.nextIn1 < b.nextIn1 || (a.nextIn1 === b.nextIn1 && a.order < b.order));
  let order = 0;
  points.forEach((p, index) => {
    const pointRng = mulberry32(deriveSeed(seed, hashString(p.pointId)));
    const context: PointContext = {
      index,
      pointId: p.pointId,
      station: p.station,
      lanes: lanesOf(p),
      allowed: p.allowedSpeedKmh ?? DEFAULT_SPEED_KMH,
      compliance: 0.95 + 0.13 * pointRng(),
      truckShare: TRUCK_SHARE_RANGE[0] + (TRUCK_SHARE_RANGE[1] - TRUCK_SHARE_RANGE[0]) * pointRng(),
    };
    peaks[index]!.forEach((peak, l) => {
      const rng = mulberry32(deriveSeed(seed, 0x1000000 + order));
      lanes.push(new Lane(order++, rng, context, l + 1, peak * scale, conditions, startS));
    });
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
