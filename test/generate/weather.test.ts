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

  it('writes the seed JSON fields in order', () => {
    expect(Object.keys(JSON.parse(weatherJson(readings[0]!)))).toEqual(['station', 'timestamp', 'temp', 'snow', 'rain', 'pressure', 'wind', 'visibility']);
  });
});
