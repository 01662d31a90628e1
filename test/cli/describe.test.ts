import { describe, expect, it } from 'vitest';
import { DEFAULT_RISK_LEVELS, FEATURE_WORDS, legend, LocalClock, parseRiskLevels, RecordDescriber, riskLevel, riskReasons } from '../../src/cli/describe.js';
import { ConfigError } from '../../src/errors.js';
import type { PublishedWindowStats, RiskRecord } from '../../src/join/types.js';
import { RISK_FEATURE_NAMES } from '../../src/model/features.js';

// 2026-01-15 13:05 UTC: 14:05 in Warsaw (CET, winter), 08:05 in New York (EST).
const END = Date.UTC(2026, 0, 15, 13, 5) / 1000;

function stats(count: number, speed: number | null): PublishedWindowStats {
  return {
    start: END - 60,
    end: END,
    count,
    flow_vph: count * 60,
    mean_speed_kmh: speed,
    lanes: count > 0 ? 2 : 0,
    quality: { plausible: true, flags: [] },
  } as unknown as PublishedWindowStats;
}

function record(score: number, contributions: Record<string, number>, weather: RiskRecord['weather'] = null): RiskRecord {
  return {
    point_id: 'P0004',
    window_end: END,
    short: stats(12, 23.4),
    long: stats(300, 61),
    road: { station: 'WS001', road_shape: 1, allowed_speed: 100 },
    weather,
    calendar: { weekday: 4, hour: 14, holiday: false },
    risk: { score, reliable: true, model: 'test', contributions },
  } as unknown as RiskRecord;
}

describe('risk levels', () => {
  it('bands the score: LOW below elevated, ELEVATED below high, HIGH from high on', () => {
    expect(riskLevel(0.05)).toBe('LOW');
    expect(riskLevel(DEFAULT_RISK_LEVELS.elevated - 1e-9)).toBe('LOW');
    expect(riskLevel(DEFAULT_RISK_LEVELS.elevated)).toBe('ELEVATED');
    expect(riskLevel(DEFAULT_RISK_LEVELS.high)).toBe('HIGH');
    expect(riskLevel(0.5, { elevated: 0.1, high: 0.4 })).toBe('HIGH');
  });

  it('parses --risk-levels and refuses anything but 0 < ELEVATED < HIGH < 1, naming the flag', () => {
    expect(parseRiskLevels('0.2, 0.7')).toEqual({ elevated: 0.2, high: 0.7 });
    for (const bad of ['0.6,0.3', '0,0.5', '0.3,1', '0.3', 'a,b', '0.1,0.2,0.3']) {
      expect(() => parseRiskLevels(bad), bad).toThrow(ConfigError);
      expect(() => parseRiskLevels(bad), bad).toThrow(/--risk-levels/);
    }
  });
});

describe('reasons in words', () => {
  it('names every model feature', () => {
    for (const f of RISK_FEATURE_NAMES) expect(FEATURE_WORDS[f], f).toMatch(/\w/);
  });

  it('gives the largest contributions first, at most three, none that add next to nothing', () => {
    const reasons = riskReasons({ speed_std: 0.4, sudden_slowdown: 1.9, occupancy: 1.1, freezing_precipitation: 1.5, night: 0.05, curvature: 0 });
    expect(reasons).toEqual(['sudden slow-down', 'snow or rain at or below 0 °C', 'dense traffic']);
    // Freezing precipitation named: plain precipitation is not said again.
    expect(riskReasons({ precipitation: 2, freezing_precipitation: 1, speed_std: 0.5 })).toEqual(['snow or rain at or below 0 °C', 'uneven speeds']);
    expect(riskReasons({ precipitation: 2, speed_std: 0.5 })).toEqual(['rain or snow', 'uneven speeds']);
    expect(riskReasons({ night: 0.1, curvature: 0 })).toEqual([]);
  });
});

describe('the --print / demo line', () => {
  it('says local time with its zone, level, score, reasons, flow, speed and weather', () => {
    const r = record(0.41, { sudden_slowdown: 1.2, occupancy: 0.6 }, {
      station: 'WS001',
      timestamp: END - 60,
      age_s: 60,
      temp: -1.5,
      snow: 0.4,
      rain: 0,
      pressure: 1008,
      wind: null,
      visibility: null,
    });
    const line = new RecordDescriber('Europe/Warsaw').describe(r);
    expect(line).toMatch(/^14:05 (CET|GMT\+1) +P0004 +ELEVATED 0\.41 +sudden slow-down, dense traffic · +12 veh\/min +23 km\/h +-1\.5 °C snow$/);
    expect(new RecordDescriber('America/New_York').describe(r)).toMatch(/^08:05 (EST|GMT-5) /);
  });

  it('a quiet point: LOW, nothing notable, no speed, no weather', () => {
    const r = { ...record(0.05, { night: 0.01 }), short: stats(0, null) };
    expect(new RecordDescriber('UTC').describe(r)).toMatch(/^13:05 UTC +P0004 +LOW +0\.05 +nothing notable · +0 veh\/min +- km\/h +no weather$/);
  });

  it('uses the levels it is given', () => {
    expect(new RecordDescriber('UTC', { elevated: 0.1, high: 0.4 }).describe(record(0.41, {}))).toContain(' HIGH ');
  });

  it('a legend says the bands and that the score is no probability', () => {
    expect(legend({ elevated: 0.25, high: 0.7 })).toMatch(/^risk: LOW < 0\.25 <= ELEVATED < 0\.7 <= HIGH; .*not a crash probability/);
  });

  it('formats a zone with a reusable clock', () => {
    expect(new LocalClock('Asia/Tokyo').at(END)).toMatch(/^22:05 (JST|GMT\+9)$/);
  });
});
