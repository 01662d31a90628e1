import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Calendar, RoadPoint, WeatherReading } from '../../src/join/types.js';
import { WINDOW_STAT_FIELDS, type WindowStats } from '../../src/kernel/contract.js';
import {
  curvatureOf,
  RISK_FEATURE_NAMES,
  RISK_FEATURES,
  riskFeatures,
  ROAD_SHAPE_CURVATURE,
  type RiskFeatureInput,
} from '../../src/model/features.js';

/** An empty window: count 0 and flow 0, everything else null (the kernel contract). */
function emptyStats(): WindowStats {
  const s = Object.fromEntries(WINDOW_STAT_FIELDS.map((f) => [f, null])) as WindowStats;
  s.count = 0;
  s.flowVph = 0;
  return s;
}
const stats = (over: Partial<WindowStats>): WindowStats => ({ ...emptyStats(), count: 10, flowVph: 600, ...over });

const road = (over: Partial<RoadPoint> = {}): RoadPoint => ({
  index: 0,
  pointId: 'p1',
  station: 'S',
  roadShape: 'straight',
  allowedSpeedKmh: 90,
  extra: {},
  ...over,
});
const weather = (over: Partial<WeatherReading> = {}): WeatherReading => ({
  station: 'S',
  timestamp: 0,
  temp: 10,
  snow: 0,
  rain: 0,
  pressure: 1013,
  wind: null,
  visibility: null,
  ...over,
});
const DAY: Calendar = { weekday: 3, hour: 12, holiday: false };

function input(over: Partial<RiskFeatureInput> = {}): RiskFeatureInput {
  return { short: emptyStats(), long: emptyStats(), road: road(), weather: null, calendar: DAY, ...over };
}

describe('riskFeatures: a hand-computed row', () => {
  it('computes every feature', () => {
    const f = riskFeatures({
      short: stats({ meanSpeedKmh: 60, headwayLt1sShare: 0.2, headwayLt2sShare: 0.5, occupancy: 0.15, speedStdKmh: 99 }),
      long: stats({ speedStdKmh: 12, v85Kmh: 110, meanSpeedKmh: 85, occupancy: 0.9, headwayLt1sShare: 0.9 }),
      road: road({ roadShape: 'sharp_curve', allowedSpeedKmh: 90 }),
      weather: weather({ temp: -1, rain: 0.5, snow: 1.5, visibility: 150 }),
      calendar: { weekday: 6, hour: 23, holiday: true },
    });
    expect(f).toEqual({
      speed_std: 12, // long window, not the short one's 99
      v85_over_limit: 20, // 110 − 90
      headway_lt_1s_share: 0.2, // short window, not the long one's 0.9
      headway_lt_2s_share: 0.5,
      sudden_slowdown: 25, // 85 − 60
      occupancy: 0.15, // short window
      precipitation: 2, // 0.5 + 1.5
      freezing_precipitation: 1,
      low_visibility: 1,
      curvature: 2,
      night: 1,
      holiday: 1,
    });
  });

  it('gives exactly the documented feature names, in the documented order', () => {
    expect(Object.keys(riskFeatures(input()))).toEqual([...RISK_FEATURE_NAMES]);
    expect(RISK_FEATURE_NAMES).toEqual([
      'speed_std',
      'v85_over_limit',
      'headway_lt_1s_share',
      'headway_lt_2s_share',
      'sudden_slowdown',
      'occupancy',
      'precipitation',
      'freezing_precipitation',
      'low_visibility',
      'curvature',
      'night',
      'holiday',
    ]);
    expect(Object.keys(RISK_FEATURES)).toEqual([...RISK_FEATURE_NAMES]);
  });
});

describe('riskFeatures: missing values are 0, not risk', () => {
  it('no traffic, no weather, no allowed speed: every data feature is 0', () => {
    const f = riskFeatures(input({ road: road({ allowedSpeedKmh: null }) }));
    expect(f).toEqual({
      speed_std: 0,
      v85_over_limit: 0,
      headway_lt_1s_share: 0,
      headway_lt_2s_share: 0,
      sudden_slowdown: 0,
      occupancy: 0,
      precipitation: 0,
      freezing_precipitation: 0,
      low_visibility: 0,
      curvature: 0,
      night: 0,
      holiday: 0,
    });
  });

  it('an empty short window after busy traffic is no slowdown (no traffic is not a jam)', () => {
    const f = riskFeatures(input({ long: stats({ meanSpeedKmh: 100 }) }));
    expect(f.sudden_slowdown).toBe(0);
  });

  it('a V85 without an allowed speed, or an allowed speed without vehicles, gives 0', () => {
    expect(riskFeatures(input({ long: stats({ v85Kmh: 150 }), road: road({ allowedSpeedKmh: null }) })).v85_over_limit).toBe(0);
    expect(riskFeatures(input({ road: road({ allowedSpeedKmh: 50 }) })).v85_over_limit).toBe(0);
  });

  it('a weather reading without visibility is not fog', () => {
    expect(riskFeatures(input({ weather: weather({ visibility: null }) })).low_visibility).toBe(0);
  });
});

describe('riskFeatures: thresholds and one-sidedness', () => {
  it('occupancy above 1 (impossible: a faulty loop, flagged in the output) counts as 1, so it cannot saturate the score', () => {
    expect(riskFeatures(input({ short: stats({ occupancy: 0.999 }) })).occupancy).toBe(0.999);
    expect(riskFeatures(input({ short: stats({ occupancy: 1 }) })).occupancy).toBe(1);
    expect(riskFeatures(input({ short: stats({ occupancy: 37.5 }) })).occupancy).toBe(1);
  });

  it('v85 under the limit gives 0, not a negative value', () => {
    expect(riskFeatures(input({ long: stats({ v85Kmh: 70 }) })).v85_over_limit).toBe(0);
    expect(riskFeatures(input({ long: stats({ v85Kmh: 90.5 }) })).v85_over_limit).toBe(0.5);
  });

  it('speeding up gives 0 slowdown; a drop counts in km/h', () => {
    expect(riskFeatures(input({ short: stats({ meanSpeedKmh: 90 }), long: stats({ meanSpeedKmh: 80 }) })).sudden_slowdown).toBe(0);
    expect(riskFeatures(input({ short: stats({ meanSpeedKmh: 42 }), long: stats({ meanSpeedKmh: 80 }) })).sudden_slowdown).toBe(38);
  });

  it('freezing precipitation: temp <= 0 °C and rain + snow > 0', () => {
    const fp = (w: Partial<WeatherReading>) => riskFeatures(input({ weather: weather(w) })).freezing_precipitation;
    expect(fp({ temp: 0, rain: 0.1 })).toBe(1); // exactly 0 °C counts
    expect(fp({ temp: -5, snow: 2 })).toBe(1);
    expect(fp({ temp: 0.1, rain: 3 })).toBe(0);
    expect(fp({ temp: -5, rain: 0, snow: 0 })).toBe(0); // frost alone is not precipitation
  });

  it('precipitation is rain + snow in mm/h', () => {
    expect(riskFeatures(input({ weather: weather({ rain: 3.25, snow: 0 }) })).precipitation).toBe(3.25);
    expect(riskFeatures(input({ weather: weather({ rain: 1, snow: 4 }) })).precipitation).toBe(5);
  });

  it('low visibility: strictly below 200 m', () => {
    const lv = (visibility: number) => riskFeatures(input({ weather: weather({ visibility }) })).low_visibility;
    expect(lv(199.9)).toBe(1);
    expect(lv(0)).toBe(1);
    expect(lv(200)).toBe(0);
    expect(lv(10_000)).toBe(0);
  });

  it('night: local hour < 6 or >= 22', () => {
    const night = (hour: number) => riskFeatures(input({ calendar: { weekday: 1, hour, holiday: false } })).night;
    expect([0, 5, 6, 12, 21, 22, 23].map(night)).toEqual([1, 1, 0, 0, 0, 1, 1]);
  });

  it('holiday follows the calendar flag', () => {
    expect(riskFeatures(input({ calendar: { weekday: 3, hour: 12, holiday: true } })).holiday).toBe(1);
  });
});

describe('curvature from road_shape', () => {
  it('maps straight 0, curve 1, sharp_curve 2 (junction and bridge: 0)', () => {
    expect(ROAD_SHAPE_CURVATURE).toEqual({ straight: 0, curve: 1, sharp_curve: 2, junction: 0, bridge: 0 });
    expect(['straight', 'curve', 'sharp_curve'].map(curvatureOf)).toEqual([0, 1, 2]);
  });

  it('normalises case, spaces and hyphens', () => {
    expect(['Sharp curve', 'SHARP-CURVE', ' sharp  curve ', ' Curve '].map(curvatureOf)).toEqual([2, 2, 2, 1]);
  });

  it('unknown and empty shapes count as 0, also names of Object.prototype members', () => {
    expect(['roundabout', '', 'hairpin', 'constructor', '__proto__', 'toString'].map(curvatureOf)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('flows into the features', () => {
    expect(riskFeatures(input({ road: road({ roadShape: 'curve' }) })).curvature).toBe(1);
  });
});

describe('riskFeatures property: finite, non-negative, 0/1 flags', () => {
  const maybe = (min: number, max: number) => fc.option(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }));
  const statsArb = fc.record({
    meanSpeedKmh: maybe(0, 400),
    speedStdKmh: maybe(0, 200),
    v85Kmh: maybe(0, 400),
    headwayLt1sShare: maybe(0, 1),
    headwayLt2sShare: maybe(0, 1),
    occupancy: maybe(0, 1),
  });
  it('holds for any inputs in the contract’s ranges', () => {
    fc.assert(
      fc.property(
        statsArb,
        statsArb,
        fc.option(fc.double({ min: 1, max: 400, noNaN: true })),
        fc.constantFrom('straight', 'curve', 'sharp_curve', 'weird', ''),
        fc.option(
          fc.record({
            temp: fc.double({ min: -90, max: 70, noNaN: true }),
            rain: fc.double({ min: 0, max: 200, noNaN: true }),
            snow: fc.double({ min: 0, max: 200, noNaN: true }),
            visibility: fc.option(fc.double({ min: 0, max: 1e5, noNaN: true })),
          }),
        ),
        fc.integer({ min: 0, max: 23 }),
        fc.boolean(),
        (s, l, allowed, shape, w, hour, holiday) => {
          const f = riskFeatures({
            short: stats(s),
            long: stats(l),
            road: road({ allowedSpeedKmh: allowed, roadShape: shape }),
            weather: w === null ? null : weather(w),
            calendar: { weekday: 1, hour, holiday },
          });
          for (const name of RISK_FEATURE_NAMES) {
            expect(Number.isFinite(f[name])).toBe(true);
            expect(f[name]).toBeGreaterThanOrEqual(0);
          }
          for (const flag of ['freezing_precipitation', 'low_visibility', 'night', 'holiday'] as const) {
            expect([0, 1]).toContain(f[flag]);
          }
        },
      ),
    );
  });
});
