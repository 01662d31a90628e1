import { describe, expect, it } from 'vitest';
import { DailyProfile, demandAt, WEEKDAY_MEAN_DEMAND } from '../../src/generate/daily-profile.js';

describe('the daily profile', () => {
  it('has a quiet night (5–10 % of the peak), morning and evening rush hours, a lower weekend', () => {
    expect(demandAt(2, 3)).toBeGreaterThanOrEqual(0.05);
    expect(demandAt(2, 3)).toBeLessThanOrEqual(0.1);
    expect(demandAt(2, 8)).toBe(1);
    expect(demandAt(2, 16)).toBe(1);
    expect(demandAt(2, 12)).toBeLessThan(0.8);
    expect(demandAt(6, 8)).toBeLessThan(0.5);
    expect(Math.max(...Array.from({ length: 96 }, (_, i) => demandAt(7, i / 4)))).toBeLessThan(0.75);
    expect(WEEKDAY_MEAN_DEMAND).toBeGreaterThan(0.4);
    expect(WEEKDAY_MEAN_DEMAND).toBeLessThan(0.7);
  });

  it('goes by local time in its zone, daylight saving included', () => {
    const warsaw = new DailyProfile('Europe/Warsaw');
    // 07:00 UTC on a Monday: 08:00 in winter (CET), 09:00 in summer (CEST).
    expect(warsaw.localTime(Date.UTC(2026, 0, 5, 7) / 1000)).toEqual({ weekday: 1, hour: 8 });
    expect(warsaw.localTime(Date.UTC(2026, 6, 6, 7, 30) / 1000)).toEqual({ weekday: 1, hour: 9.5 });
    expect(warsaw.localTime(Date.UTC(2026, 0, 4, 23, 10) / 1000).weekday).toBe(1);
    const utc = new DailyProfile('UTC');
    expect(utc.localTime(Date.UTC(2026, 0, 5, 7, 45, 36) / 1000)).toEqual({ weekday: 1, hour: 7.76 });
    expect(utc.demand(Date.UTC(2026, 0, 5, 8) / 1000)).toBe(1);
    expect(() => new DailyProfile('Mars/Olympus')).toThrow(RangeError);
  });
});
