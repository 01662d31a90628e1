/**
 * Lanes of a measuring point: how much traffic each carries, how fast it drives, how many trucks
 * use it, and what `ratePerSecond` means for a set of points.
 *
 * Lane 1 is the right-hand (slow, truck) lane, the highest number the inner (fast) lane. At a
 * weekday rush hour (daily profile 1.0) a lane's typical demand is TYPICAL_PEAK_VPH × its weight
 * × the point's demand factor (0.8–1.1, from a hash of the point id): inner lanes 1,360–1,870
 * veh/h, the right lane of a multi-lane road 75 % of that, a single-lane point 85 %.
 *
 * Rate: `ratePerSecond` is the number of vehicles per second over all points on average over a
 * weekday (24 h of the daily profile). It is split over the lanes in proportion to their typical
 * demand, so a point with three lanes gets three lanes' worth. The typical rate is the one at which
 * every lane has its typical demand; a rate of k × typical multiplies every lane's demand by k, and
 * is refused once a lane's rush-hour demand would exceed LANE_CAPACITY_VPH.
 */
import { WEEKDAY_MEAN_DEMAND } from './daily-profile.js';
import { deriveSeed, hashString } from './prng.js';

/** What a lane can carry, veh/h (a motorway lane; the headway model saturates a little below it). */
export const LANE_CAPACITY_VPH = 2200;
/** Rush-hour demand of an inner lane at a point with demand factor 1, veh/h. */
export const TYPICAL_PEAK_VPH = 1700;
/** Share of trucks (> 7.5 m) at a point lies in 5–15 %, most of them in the right lane. */
export const TRUCK_SHARE_RANGE = [0.06, 0.14] as const;

/** What the generator needs to know of a road point (a RoadPoint or a GeneratedRoadPoint). */
export interface TrafficPoint {
  pointId: string;
  allowedSpeedKmh: number | null;
  /** 1..3; derived from the point id when absent (e.g. points read from a CSV). */
  lanes?: number;
  /**
   * Nearest weather station: rain and snow there slow the point's traffic, and consecutive points
   * (in the given order) of one station are one road, lower numbers upstream: a queue spreads from a
   * point to its predecessors of the same station. Without it: no weather effect, no spreading.
   */
  station?: string;
}

/** Lanes of a point: given, else 1..3 from a hash of its id. */
export function lanesOf(point: TrafficPoint): number {
  return point.lanes ?? 1 + (hashString(point.pointId) % 3);
}

/** A point's demand factor, 0.8–1.1: busier and quieter roads. Fixed per point id. */
export function pointDemandFactor(point: TrafficPoint): number {
  // FNV-1a alone barely changes its high bits between P0001 and P0002: mix it.
  return 0.8 + 0.3 * (deriveSeed(hashString(point.pointId), 0x64656d61) / 4294967296);
}

/** Relative demand of lane `lane` (1 = right) of `lanes`: right lane of a multi-lane road 0.75, single lane 0.85, else 1. */
export function laneWeight(lane: number, lanes: number): number {
  if (lanes === 1) return 0.85;
  return lane === 1 ? 0.75 : 1;
}

/** Mean free-flow speed of a lane as a share of the allowed speed: right lane 0.88, +0.1 per lane inwards; single lane 0.95. */
export function laneSpeedFactor(lane: number, lanes: number): number {
  return lanes === 1 ? 0.95 : 0.88 + 0.1 * (lane - 1);
}

/** Probability that a vehicle in `lane` is a truck, for a point whose trucks are `share` of its traffic. */
export function truckProbability(lane: number, lanes: number, share: number): number {
  if (lanes === 1) return share;
  // About three quarters of the trucks in the right lane, the rest spread over the others.
  const total = Array.from({ length: lanes }, (_, i) => laneWeight(i + 1, lanes)).reduce((a, b) => a + b, 0);
  const right = laneWeight(1, lanes);
  return lane === 1 ? Math.min(0.5, (0.75 * share * total) / right) : (0.25 * share * total) / (total - right);
}

/** Rush-hour demand of each lane (veh/h) of each point at the typical rate, in point order. */
export function typicalPeakDemands(points: readonly TrafficPoint[]): number[][] {
  return points.map((p) => {
    const n = lanesOf(p);
    const f = pointDemandFactor(p);
    return Array.from({ length: n }, (_, l) => TYPICAL_PEAK_VPH * f * laneWeight(l + 1, n));
  });
}

/** What `points` carry: the typical rate and the most they can carry (rush hour at capacity), vehicles/s averaged over a weekday. */
export function rateLimits(points: readonly TrafficPoint[]): { typicalPerSecond: number; maxPerSecond: number; lanes: number } {
  const peaks = typicalPeakDemands(points).flat();
  const typicalPerSecond = (peaks.reduce((a, b) => a + b, 0) * WEEKDAY_MEAN_DEMAND) / 3600;
  const busiest = Math.max(...peaks);
  return { typicalPerSecond, maxPerSecond: (typicalPerSecond * LANE_CAPACITY_VPH) / busiest, lanes: peaks.length };
}
