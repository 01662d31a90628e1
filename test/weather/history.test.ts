import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { WeatherReading } from '../../src/join/types.js';
import { DEFAULT_WEATHER_HISTORY_OPTIONS, toPublished, WeatherHistory } from '../../src/weather/history.js';

function r(station: string, timestamp: number, temp = 0): WeatherReading {
  return { station, timestamp, temp, snow: 0, rain: 0, pressure: 1000, wind: null, visibility: null };
}

/** The oracle: the latest reading with timestamp <= t, the last added among equal timestamps. */
function bruteForce(added: readonly WeatherReading[], station: string, t: number): WeatherReading | undefined {
  let best: WeatherReading | undefined;
  for (const x of added) {
    if (x.station !== station || x.timestamp > t) continue;
    if (best === undefined || x.timestamp >= best.timestamp) best = x;
  }
  return best;
}

describe('WeatherHistory options', () => {
  it('defaults to 2048 readings per station, frozen', () => {
    expect(DEFAULT_WEATHER_HISTORY_OPTIONS.maxPerStation).toBe(2048);
    expect(Object.isFrozen(DEFAULT_WEATHER_HISTORY_OPTIONS)).toBe(true);
    expect(new WeatherHistory().options.maxPerStation).toBe(2048);
  });

  for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
    it(`refuses maxPerStation ${bad}`, () => {
      let err: unknown;
      try {
        new WeatherHistory({ maxPerStation: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('weather.maxPerStation');
      expect((err as ConfigError).message).toBe(
        `weather.maxPerStation must be a positive integer number of readings (got ${bad}); fix: use e.g. 2048`,
      );
    });
  }

  it('names the field with the caller’s prefix', () => {
    expect(() => new WeatherHistory({ maxPerStation: 0 }, '--weather-')).toThrow(/^--weather-maxPerStation must be/);
  });
});

describe('WeatherHistory.latestAtOrBefore', () => {
  it('answers by event time, not by arrival: a replayed future reading does not leak into an old window', () => {
    const h = new WeatherHistory();
    h.add(r('S', 100, 1));
    h.add(r('S', 200, 2));
    h.add(r('S', 300, 3));
    expect(h.latestAtOrBefore('S', 99)).toBeUndefined();
    expect(h.latestAtOrBefore('S', 100)?.temp).toBe(1); // <= is inclusive
    expect(h.latestAtOrBefore('S', 199.9)?.temp).toBe(1);
    expect(h.latestAtOrBefore('S', 250)?.temp).toBe(2);
    expect(h.latestAtOrBefore('S', 1e9)?.temp).toBe(3);
    expect(h.latestAtOrBefore('other', 1e9)).toBeUndefined();
  });

  it('inserts out-of-order arrivals at their timestamp', () => {
    const h = new WeatherHistory();
    expect(h.add(r('S', 300, 3))).toBe('added');
    expect(h.add(r('S', 100, 1))).toBe('added');
    expect(h.add(r('S', 200, 2))).toBe('added');
    expect([150, 250, 350].map((t) => h.latestAtOrBefore('S', t)?.temp)).toEqual([1, 2, 3]);
  });

  it('same station and timestamp: the later one replaces', () => {
    const h = new WeatherHistory();
    h.add(r('S', 100, 1));
    h.add(r('S', 200, 2));
    expect(h.add(r('S', 100, 10))).toBe('replaced');
    expect(h.add(r('S', 200, 20))).toBe('replaced');
    expect(h.sizeOf('S')).toBe(2);
    expect(h.latestAtOrBefore('S', 150)?.temp).toBe(10);
    expect(h.latestAtOrBefore('S', 200)?.temp).toBe(20);
  });

  it('keeps stations apart', () => {
    const h = new WeatherHistory();
    h.add(r('A', 100, 1));
    h.add(r('B', 150, 2));
    expect(h.latestAtOrBefore('A', 200)?.temp).toBe(1);
    expect(h.latestAtOrBefore('B', 120)).toBeUndefined();
    expect(h.stationCount).toBe(2);
  });

  it('equals a brute-force scan over random readings in random order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            station: fc.constantFrom('A', 'B', 'C'),
            timestamp: fc.integer({ min: 0, max: 50 }),
            temp: fc.integer({ min: -20, max: 30 }),
          }),
          { maxLength: 80 },
        ),
        fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C', 'D'), fc.double({ min: -5, max: 60, noNaN: true })), {
          minLength: 1,
          maxLength: 20,
        }),
        (raw, queries) => {
          const readings = raw.map((x) => r(x.station, x.timestamp, x.temp));
          const h = new WeatherHistory({ maxPerStation: 1000 });
          for (const x of readings) h.add(x);
          for (const [s, t] of queries) expect(h.latestAtOrBefore(s, t)).toBe(bruteForce(readings, s, t));
        },
      ),
    );
  });
});

describe('WeatherHistory bound (maxPerStation)', () => {
  it('drops the oldest readings beyond the bound, per station', () => {
    const h = new WeatherHistory({ maxPerStation: 3 });
    for (let t = 1; t <= 5; t++) h.add(r('S', t * 10, t));
    h.add(r('T', 10, 100));
    expect(h.sizeOf('S')).toBe(3);
    expect(h.sizeOf('T')).toBe(1);
    expect(h.latestAtOrBefore('S', 25)).toBeUndefined(); // 10 and 20 were evicted
    expect(h.latestAtOrBefore('S', 30)?.temp).toBe(3);
    expect(h.latestAtOrBefore('S', 55)?.temp).toBe(5);
  });

  it('a full station drops a reading older than all it holds', () => {
    const h = new WeatherHistory({ maxPerStation: 2 });
    h.add(r('S', 100));
    h.add(r('S', 200));
    expect(h.add(r('S', 50))).toBe('dropped');
    expect(h.sizeOf('S')).toBe(2);
    expect(h.latestAtOrBefore('S', 60)).toBeUndefined();
    // An older-than-newest reading in the middle still enters; the oldest goes.
    expect(h.add(r('S', 150, 15))).toBe('added');
    expect(h.latestAtOrBefore('S', 120)).toBeUndefined();
    expect(h.latestAtOrBefore('S', 160)?.temp).toBe(15);
  });

  it('property: never holds more than the bound, and stays exact for t with fewer than max newer readings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ timestamp: fc.integer({ min: 0, max: 30 }), temp: fc.integer() }), { maxLength: 40 }),
        fc.integer({ min: -1, max: 31 }),
        (max, raw, t) => {
          const h = new WeatherHistory({ maxPerStation: max });
          const readings = raw.map((x) => r('S', x.timestamp, x.temp));
          for (const x of readings) {
            h.add(x);
            expect(h.sizeOf('S')).toBeLessThanOrEqual(max);
          }
          const newer = readings.filter((x) => x.timestamp > t).length;
          if (newer < max) expect(h.latestAtOrBefore('S', t)).toBe(bruteForce(readings, 'S', t));
        },
      ),
    );
  });
});

describe('WeatherHistory.prune', () => {
  it('drops readings older than the newest at or before the bound, keeps that one', () => {
    const h = new WeatherHistory();
    for (const t of [100, 200, 300, 400]) h.add(r('S', t, t));
    h.prune(350);
    expect(h.sizeOf('S')).toBe(2); // 300 and 400
    expect(h.latestAtOrBefore('S', 350)?.temp).toBe(300);
    expect(h.latestAtOrBefore('S', 299)).toBeUndefined();
    h.prune(300); // exactly at a reading: that reading is the answer for t = 300, kept
    expect(h.sizeOf('S')).toBe(2);
  });

  it('keeps the last reading of a station that stopped reporting', () => {
    const h = new WeatherHistory();
    h.add(r('S', 100, 1));
    h.add(r('S', 200, 2));
    h.prune(1e9);
    expect(h.sizeOf('S')).toBe(1);
    expect(h.latestAtOrBefore('S', 1e9)?.temp).toBe(2);
  });

  it('keeps everything when nothing is at or before the bound', () => {
    const h = new WeatherHistory();
    h.add(r('S', 100));
    h.add(r('S', 200));
    h.prune(50);
    expect(h.sizeOf('S')).toBe(2);
  });

  it('property: after prune(b) every query t >= b still equals the brute force', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ station: fc.constantFrom('A', 'B'), timestamp: fc.integer({ min: 0, max: 50 }), temp: fc.integer() }), {
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.double({ min: 0, max: 60, noNaN: true }), { minLength: 1, maxLength: 10 }),
        (raw, bound, ts) => {
          const readings = raw.map((x) => r(x.station, x.timestamp, x.temp));
          const h = new WeatherHistory({ maxPerStation: 1000 });
          for (const x of readings) h.add(x);
          h.prune(bound);
          for (const s of ['A', 'B']) {
            // At most one reading at or before the bound survives per station.
            const list = readings.filter((x) => x.station === s);
            const distinctAfter = new Set(list.filter((x) => x.timestamp > bound).map((x) => x.timestamp)).size;
            const hasBefore = list.some((x) => x.timestamp <= bound);
            expect(h.sizeOf(s)).toBe(distinctAfter + (hasBefore ? 1 : 0));
            for (const t of ts) {
              if (t >= bound) expect(h.latestAtOrBefore(s, t)).toBe(bruteForce(readings, s, t));
            }
          }
        },
      ),
    );
  });
});

describe('toPublished', () => {
  it('copies the reading and adds its age at the window end', () => {
    const reading: WeatherReading = {
      station: 'WAW',
      timestamp: 1_790_000_000,
      temp: -1,
      snow: 0.5,
      rain: 0.2,
      pressure: 990,
      wind: 4,
      visibility: null,
    };
    expect(toPublished(reading, 1_790_000_090)).toEqual({
      station: 'WAW',
      timestamp: 1_790_000_000,
      age_s: 90,
      temp: -1,
      snow: 0.5,
      rain: 0.2,
      pressure: 990,
      wind: 4,
      visibility: null,
    });
    expect(toPublished(reading, 1_790_000_000).age_s).toBe(0);
  });
});
