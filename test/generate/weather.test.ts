import { describe, expect, it } from 'vitest';
import { generateWeather, weatherJson, type WeatherOptions } from '../../src/generate/weather.js';

const START = 1_700_000_040;
const base: WeatherOptions = { stations: ['WS001', 'WS002', 'WS003'], startS: START, durationS: 2 * 86_400, intervalS: 60, seed: 9 };
const readings = [...generateWeather(base)];

describe('generateWeather', () => {
  it('gives one reading per station every intervalS seconds, in time order', () => {
    expect(readings).toHaveLength(3 * 2 * 1440);
    readings.forEach((r, i) => {
      expect(r.timestamp).toBe(START + Math.floor(i / 3) * 60);
      expect(r.station).toBe(base.stations[i % 3]);
    });
  });

  it('is byte-identical for the same seed and different for another', () => {
    expect([...generateWeather(base)].map(weatherJson)).toEqual(readings.map(weatherJson));
    expect([...generateWeather({ ...base, seed: 10 })].map(weatherJson).slice(0, 30)).not.toEqual(readings.map(weatherJson).slice(0, 30));
  });

  it('keeps values plausible: snow only at or below 0.5 °C, rain only above, never both', () => {
    for (const r of readings) {
      expect(r.temp).toBeGreaterThanOrEqual(-40);
      expect(r.temp).toBeLessThanOrEqual(45);
      expect(r.pressure).toBeGreaterThanOrEqual(960);
      expect(r.pressure).toBeLessThanOrEqual(1050);
      expect(r.wind).toBeGreaterThanOrEqual(0);
      expect(r.visibility).toBeGreaterThan(0);
      expect(r.visibility).toBeLessThanOrEqual(10_000);
      expect(r.snow).toBeGreaterThanOrEqual(0);
      expect(r.rain).toBeGreaterThanOrEqual(0);
      expect(r.snow > 0 && r.rain > 0).toBe(false);
      if (r.snow > 0) expect(r.temp).toBeLessThanOrEqual(0.5);
      if (r.rain > 0) expect(r.temp).toBeGreaterThan(0.5);
    }
    // Two days of three stations: some precipitation happens, and the temperature moves.
    expect(readings.some((r) => r.snow > 0 || r.rain > 0)).toBe(true);
    const temps = readings.filter((r) => r.station === 'WS001').map((r) => r.temp);
    expect(Math.max(...temps) - Math.min(...temps)).toBeGreaterThan(2);
  });

  it('is a function of time: overlapping ranges and other intervals give the same reading for the same instant', () => {
    const later = [...generateWeather({ ...base, startS: START + 3600, durationS: 3600, intervalS: 30 })];
    const byKey = new Map(readings.map((r) => [`${r.station}@${r.timestamp}`, weatherJson(r)]));
    let same = 0;
    for (const r of later) {
      const known = byKey.get(`${r.station}@${r.timestamp}`);
      if (known !== undefined) {
        expect(weatherJson(r)).toBe(known);
        same++;
      }
    }
    expect(same).toBe(3 * 60);
  });

  it('has wet spells some of the time, neither never nor always', () => {
    const many = [...generateWeather({ ...base, stations: Array.from({ length: 20 }, (_, i) => `S${i}`), durationS: 7 * 86_400, intervalS: 600 })];
    const wet = many.filter((r) => r.rain > 0 || r.snow > 0).length / many.length;
    expect(wet).toBeGreaterThan(0.08);
    expect(wet).toBeLessThan(0.35);
    expect(many.some((r) => r.snow > 0)).toBe(true);
    expect(many.some((r) => r.rain > 0)).toBe(true);
  });

  it('writes the seed JSON fields in order', () => {
    expect(Object.keys(JSON.parse(weatherJson(readings[0]!)))).toEqual(['station', 'timestamp', 'temp', 'snow', 'rain', 'pressure', 'wind', 'visibility']);
  });
});
