/**
 * Property tests: generated traffic is what a road engineer would believe, over many seeds, point
 * sets, times and rates — lanes within capacity, never two vehicles on a loop, plausible gaps, a
 * daily profile, incidents and snow that slow traffic down.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SeedLoopEvent } from '../../src/codec/seed-json.js';
import { LANE_CAPACITY_VPH, rateLimits } from '../../src/generate/lanes.js';
import { generateRoadPoints, type GeneratedRoadPoint } from '../../src/generate/points.js';
import { MIN_GAP_S, generateTraffic, trafficIncidents, type TrafficOptions } from '../../src/generate/traffic.js';

/** Monday 2026-01-05 00:00 in Warsaw (23:00 UTC the day before). */
const MONDAY = Date.UTC(2026, 0, 4, 23) / 1000;
const HOUR = 3600;

const generate = (o: TrafficOptions) => [...generateTraffic(o)];

function byLane(events: readonly SeedLoopEvent[]): Map<string, SeedLoopEvent[]> {
  const lanes = new Map<string, SeedLoopEvent[]>();
  for (const e of events) {
    const key = `${e.point_id}/${e.lane}`;
    const list = lanes.get(key);
    if (list) list.push(e);
    else lanes.set(key, [e]);
  }
  for (const list of lanes.values()) list.sort((a, b) => a.timestamp_in_1 - b.timestamp_in_1);
  return lanes;
}

/** Seconds loop 1 of a lane was occupied within [from, from + size), from the tIn1..tOut1 intervals. */
function occupiedSeconds(lane: readonly SeedLoopEvent[], from: number, size: number): number {
  let s = 0;
  for (const e of lane) s += Math.max(0, Math.min(e.timestamp_out_1, from + size) - Math.max(e.timestamp_in_1, from));
  return s;
}

function countIn(lane: readonly SeedLoopEvent[], from: number, size: number): number {
  return lane.filter((e) => e.timestamp_in_1 >= from && e.timestamp_in_1 < from + size).length;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const seedArb = fc.integer({ min: 0, max: 0xffffffff });
const pointsArb = fc.integer({ min: 1, max: 6 });
/** A start minute anywhere in 2024–2026. */
const startArb = fc.integer({ min: Date.UTC(2024, 0, 1) / 60_000, max: Date.UTC(2027, 0, 1) / 60_000 }).map((m) => m * 60);
/**
 * A start minute between 06:00 and 15:00 UTC of a day in 2024–2026: three hours from it are daytime
 * in Warsaw, with traffic enough that every queue has vehicles in it (at night one may have none).
 */
const daytimeStartArb = fc
  .tuple(fc.integer({ min: Date.UTC(2024, 0, 1) / 86_400_000, max: Date.UTC(2027, 0, 1) / 86_400_000 - 1 }), fc.integer({ min: 6 * 60, max: 15 * 60 }))
  .map(([day, minute]) => day * 86_400 + minute * 60);

describe('generated traffic is plausible (property tests)', () => {
  it('per lane: never two vehicles on loop 1, a realistic minimum gap, flow within capacity per minute and hour, occupancy <= 100 %', () => {
    fc.assert(
      fc.property(seedArb, pointsArb, startArb, fc.double({ min: 0.2, max: 1, noNaN: true }), (seed, n, startS, load) => {
        const points = generateRoadPoints(n, seed);
        const durationS = 2 * HOUR;
        const events = generate({ points, seed, startS, durationS, ratePerSecond: rateLimits(points).maxPerSecond * load });
        expect(events.length).toBeGreaterThan(0);
        for (const lane of byLane(events).values()) {
          for (let i = 1; i < lane.length; i++) {
            // Enters loop 1 only after the previous vehicle left it, at least MIN_GAP_S later (output rounded to ms).
            expect(lane[i]!.timestamp_in_1 - lane[i - 1]!.timestamp_out_1).toBeGreaterThanOrEqual(MIN_GAP_S - 0.002);
            // ... and loop 2 likewise.
            expect(lane[i]!.timestamp_in_2).toBeGreaterThanOrEqual(lane[i - 1]!.timestamp_out_2);
          }
          for (let m = startS; m < startS + durationS; m += 60) {
            expect(occupiedSeconds(lane, m, 60) / 60).toBeLessThanOrEqual(1);
            // One minute's count may exceed the hourly capacity's share a little (random arrivals), not more.
            expect(countIn(lane, m, 60) * 60).toBeLessThanOrEqual(LANE_CAPACITY_VPH * 1.1);
          }
          for (let h = startS + 600; h + HOUR <= startS + durationS; h += 600) expect(countIn(lane, h, HOUR)).toBeLessThanOrEqual(LANE_CAPACITY_VPH);
        }
      }),
      { numRuns: 8 },
    );
  });

  it('gaps: consistent in metres and seconds, under 1 s rarely outside incidents, >= 1 s in queues', () => {
    fc.assert(
      fc.property(seedArb, pointsArb, startArb, (seed, n, startS) => {
        const points = generateRoadPoints(n, seed);
        const options: TrafficOptions = { points, seed, startS, durationS: 2 * HOUR, incidentsPerPointDay: 12 };
        const incidents = trafficIncidents(options);
        const index = new Map(points.map((p, i) => [p.pointId, i]));
        const events = generate(options);
        let free = 0;
        let freeShort = 0;
        for (const e of events) {
          expect(Math.abs(e.gap_meters - (e.gap_seconds * e.speed) / 3.6)).toBeLessThanOrEqual(0.0051);
          const queue = incidents.at(index.get(e.point_id)!, e.timestamp_in_1);
          if (queue === null) {
            free++;
            if (e.gap_seconds < 1) freeShort++;
          } else if (queue.intensity === 1) expect(e.gap_seconds).toBeGreaterThanOrEqual(0.999);
        }
        expect(freeShort / free).toBeLessThan(0.05);
      }),
      { numRuns: 8 },
    );
  });

  it('free-flow occupancy in the rush hour is a realistic 3–30 % per lane (median)', () => {
    fc.assert(
      fc.property(seedArb, pointsArb, (seed, n) => {
        const points = generateRoadPoints(n, seed);
        const startS = MONDAY + 7 * HOUR + 30 * 60;
        const events = generate({ points, seed, startS, durationS: HOUR, weather: false, incidentsPerPointDay: 0 });
        const occupancy: number[] = [];
        for (const lane of byLane(events).values()) for (let m = startS; m < startS + HOUR; m += 60) occupancy.push(occupiedSeconds(lane, m, 60) / 60);
        occupancy.sort((a, b) => a - b);
        const median = occupancy[Math.floor(occupancy.length / 2)]!;
        expect(median).toBeGreaterThan(0.03);
        expect(median).toBeLessThan(0.3);
      }),
      { numRuns: 6 },
    );
  });

  it('follows the daily profile: night flow well below the rush hour, a weekend morning below a weekday one', () => {
    fc.assert(
      fc.property(seedArb, pointsArb, fc.integer({ min: 0, max: 3 }), (seed, n, week) => {
        const points = generateRoadPoints(n, seed);
        const monday = MONDAY + week * 7 * 24 * HOUR;
        const count = (startS: number) => generate({ points, seed, startS, durationS: HOUR, incidentsPerPointDay: 0, weather: false }).length;
        const rush = count(monday + 7 * HOUR + 30 * 60);
        const night = count(monday + 2 * HOUR);
        const saturdayMorning = count(monday + 5 * 24 * HOUR + 7 * HOUR + 30 * 60);
        expect(night).toBeLessThan(rush * 0.15);
        expect(saturdayMorning).toBeLessThan(rush * 0.5);
        // Rush-hour flow per lane within the typical peaks: at most ~1,900 veh/h on any lane.
        for (const lane of byLane(generate({ points, seed, startS: monday + 7 * HOUR + 30 * 60, durationS: HOUR, incidentsPerPointDay: 0 })).values()) {
          expect(lane.length).toBeLessThan(1950);
          expect(lane.length).toBeGreaterThan(700);
        }
      }),
      { numRuns: 6 },
    );
  });

  it('incidents: speeds in a queue are well below free flow, occupancy rises, and the queue reaches the point upstream later', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 2, max: 5 }), daytimeStartArb, (seed, n, startS) => {
        const points = generateRoadPoints(n, seed);
        const options: TrafficOptions = { points, seed, startS, durationS: 3 * HOUR, incidentsPerPointDay: 48, weather: false };
        const incidents = trafficIncidents(options);
        const events = generate(options);
        let episodesChecked = 0;
        points.forEach((p, i) => {
          const own = events.filter((e) => e.point_id === p.pointId);
          const free = own.filter((e) => incidents.at(i, e.timestamp_in_1) === null);
          const freeSpeed = mean(free.map((e) => e.speed));
          for (const ep of incidents.of(i)) {
            if (ep.hop !== 0 || ep.start + 60 < startS || ep.end - 60 > startS + options.durationS!) continue;
            const inQueue = own.filter((e) => e.timestamp_in_1 >= ep.start + 60 && e.timestamp_in_1 < ep.end - 60);
            if (inQueue.length < 5 || free.length < 20) continue;
            episodesChecked++;
            expect(mean(inQueue.map((e) => e.speed))).toBeLessThan(0.6 * freeSpeed);
            expect(mean(inQueue.map((e) => e.speed))).toBeLessThan(40);
            const occupancy = (list: SeedLoopEvent[]) => mean(list.map((e) => (e.timestamp_out_1 - e.timestamp_in_1) / (e.timestamp_out_1 - e.timestamp_in_1 + e.gap_seconds)));
            expect(occupancy(inQueue)).toBeGreaterThan(occupancy(free));
            // Upstream (the point before, same station): the queue arrives there later.
            const up = points[i - 1];
            if (up && up.station === p.station) {
              expect(incidents.of(i - 1).some((u) => u.hop === 1 && u.start > ep.start && u.start <= ep.start + 300 && u.speedKmh > ep.speedKmh)).toBe(true);
            }
          }
        });
        expect(episodesChecked).toBeGreaterThan(0);
      }),
      { numRuns: 6 },
    );
  });

  it('snow slows traffic by 15–30 % and lengthens gaps; rain by 5–10 % (same seed, dry as the reference)', () => {
    fc.assert(
      fc.property(seedArb, pointsArb, startArb, (seed, n, startS) => {
        const points = generateRoadPoints(n, seed);
        const options: TrafficOptions = { points, seed, startS, durationS: HOUR, incidentsPerPointDay: 0, dailyProfile: false };
        const dry = generate({ ...options, weather: false });
        const snow = generate({ ...options, weather: () => ({ rain: 0, snow: 2 }) });
        const rain = generate({ ...options, weather: () => ({ rain: 2, snow: 0 }) });
        const carSpeed = (list: SeedLoopEvent[]) => mean(list.filter((e) => e.length < 7.5).map((e) => e.speed));
        expect(carSpeed(snow) / carSpeed(dry)).toBeGreaterThan(0.68);
        expect(carSpeed(snow) / carSpeed(dry)).toBeLessThan(0.87);
        expect(carSpeed(rain) / carSpeed(dry)).toBeGreaterThan(0.88);
        expect(carSpeed(rain) / carSpeed(dry)).toBeLessThan(0.96);
        const minGap = (list: SeedLoopEvent[]) => [...list.map((e) => e.gap_seconds)].sort((a, b) => a - b)[Math.floor(list.length * 0.05)]!;
        expect(minGap(snow)).toBeGreaterThan(minGap(dry) * 1.2);
      }),
      { numRuns: 6 },
    );
  });

  it('lanes: the inner lane is faster than the right lane, which carries most trucks', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const points = generateRoadPoints(6, seed).filter((p) => p.lanes >= 2) as GeneratedRoadPoint[];
        fc.pre(points.length > 0);
        const events = generate({ points, seed, startS: MONDAY + 10 * HOUR, durationS: HOUR, incidentsPerPointDay: 0, weather: false });
        for (const p of points) {
          const lane = (l: number) => events.filter((e) => e.point_id === p.pointId && e.lane === l);
          expect(mean(lane(p.lanes).map((e) => e.speed))).toBeGreaterThan(mean(lane(1).map((e) => e.speed)) + 0.05 * p.allowedSpeedKmh!);
        }
        const trucks = events.filter((e) => e.length > 7.5);
        expect(trucks.filter((e) => e.lane === 1).length / trucks.length).toBeGreaterThan(0.6);
      }),
      { numRuns: 6 },
    );
  });

  it('is deterministic: same seed, byte-identical events', () => {
    fc.assert(
      fc.property(seedArb, pointsArb, startArb, (seed, n, startS) => {
        const options = { points: generateRoadPoints(n, seed), seed, startS, durationS: 600, jitterS: 2 };
        expect(JSON.stringify(generate(options))).toBe(JSON.stringify(generate(options)));
      }),
      { numRuns: 5 },
    );
  });
});
