/**
 * Incidents: now and then a queue forms at a point (a crash, a breakdown, a lane closure): speeds
 * collapse to 5–30 km/h (scaled down on roads limited below 100 km/h) and the point passes only
 * 35–70 % of a lane's capacity, for 6–25 minutes, with 60 s ramps in and out. The queue spreads upstream: to the point's predecessor in the given
 * order if it has the same weather station (one road, lower numbers upstream: P0004 is upstream of
 * P0005), 2–5 minutes later, milder (+8 km/h per hop, a little more flow) and again to the one before
 * that; it clears upstream about half a delay per hop later than at its origin.
 *
 * Where and when incidents happen is a pure function of (seed, point id, hour of epoch time): each
 * hour a point starts one with probability perPointDay / 24 × the daily profile then relative to its
 * weekday mean (more in rush hours, few at night), so overlapping or adjacent generated ranges agree.
 */
import { deriveSeed, hash01, hashString } from './prng.js';
import type { TrafficPoint } from './lanes.js';

export const DEFAULT_INCIDENTS_PER_POINT_DAY = 1.5;
/** Upstream hops a queue spreads over. */
const MAX_HOPS = 2;
const RAMP_S = 60;
const HOUR = 3600;
/** Longest episode: 25 min + MAX_HOPS × 5 min × 1.5 (see spread below), rounded up. */
const MAX_EPISODE_S = 25 * 60 + MAX_HOPS * 450 + 60;

export interface QueueEpisode {
  start: number;
  end: number;
  /** Speed in the queue, km/h. */
  speedKmh: number;
  /** What a lane passes in the queue, as a share of LANE_CAPACITY_VPH. */
  capacityShare: number;
  /** 0 at the point where it happened, 1.. upstream. */
  hop: number;
}

/** The queue at a point at an instant: `intensity` 0..1 (ramps), and the episode. */
export interface QueueState {
  intensity: number;
  episode: QueueEpisode;
}

const STREAM = { happens: 0x696e6331, start: 0x696e6332, duration: 0x696e6333, speed: 0x696e6334, capacity: 0x696e6335, delay: 0x696e6336 };

export interface IncidentOptions {
  seed: number;
  perPointDay: number;
  /** Episodes overlapping [fromS, toS) are found. */
  fromS: number;
  toS: number;
  /** Relative demand at an instant, divided by its weekday mean (1 = an average moment). */
  relativeDemand: (t: number) => number;
}

/** The queue episodes of every point of a list, computed once for a time range. */
export class Incidents {
  private readonly episodes: QueueEpisode[][];

  constructor(points: readonly TrafficPoint[], o: IncidentOptions) {
    this.episodes = points.map(() => []);
    if (!(o.perPointDay > 0)) return;
    const firstCell = Math.floor((o.fromS - MAX_EPISODE_S) / HOUR);
    const lastCell = Math.floor(o.toS / HOUR);
    points.forEach((p, i) => {
      const id = hashString(p.pointId);
      // A queue on a 50 km/h road crawls slower than one on a motorway: speeds scale below 100 km/h.
      const speedScale = Math.min(1, (p.allowedSpeedKmh ?? 100) / 100);
      const h = (stream: number, cell: number) => hash01(o.seed, deriveSeed(id, stream), cell);
      for (let cell = firstCell; cell <= lastCell; cell++) {
        const start = (cell + h(STREAM.start, cell)) * HOUR;
        const chance = Math.min(0.9, (o.perPointDay / 24) * o.relativeDemand(start));
        if (h(STREAM.happens, cell) >= chance) continue;
        const end = start + 360 + 1140 * h(STREAM.duration, cell);
        const speedKmh = (5 + 25 * h(STREAM.speed, cell)) * speedScale;
        const capacityShare = 0.35 + 0.35 * h(STREAM.capacity, cell);
        const delay = 120 + 180 * h(STREAM.delay, cell);
        this.episodes[i]!.push({ start, end, speedKmh, capacityShare, hop: 0 });
        for (let hop = 1; hop <= MAX_HOPS; hop++) {
          const j = i - hop;
          if (j < 0 || p.station === undefined || points[j]!.station !== p.station) break;
          const s = start + hop * delay;
          const e = end + hop * delay * 0.5;
          if (e - s < 120) break;
          this.episodes[j]!.push({
            start: s,
            end: e,
            speedKmh: Math.min(45 * speedScale, speedKmh + 8 * hop * speedScale),
            capacityShare: Math.min(0.9, capacityShare + 0.1 * hop),
            hop,
          });
        }
      }
    });
    for (const list of this.episodes) list.sort((a, b) => a.start - b.start);
  }

  /** Every episode of point `index` (by start). */
  of(index: number): readonly QueueEpisode[] {
    return this.episodes[index] ?? [];
  }

  /** The strongest queue at point `index` at `t`, or null. */
  at(index: number, t: number): QueueState | null {
    const list = this.episodes[index]!;
    if (list.length === 0) return null;
    // First episode that may still be running at t (none lasts longer than MAX_EPISODE_S).
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.start < t - MAX_EPISODE_S) lo = mid + 1;
      else hi = mid;
    }
    let best: QueueState | null = null;
    for (let k = lo; k < list.length && list[k]!.start <= t; k++) {
      const e = list[k]!;
      if (t >= e.end) continue;
      const intensity = Math.min(1, (t - e.start) / RAMP_S, (e.end - t) / RAMP_S);
      if (!best || intensity > best.intensity || (intensity === best.intensity && e.speedKmh < best.episode.speedKmh)) best = { intensity, episode: e };
    }
    return best;
  }
}
