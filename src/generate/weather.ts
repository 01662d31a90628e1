/**
 * Seeded weather readings in the seed format (`{station, timestamp, temp, snow, rain, pressure,
 * wind, visibility}`): one reading per station every `intervalS` seconds. Temperature follows a
 * daily cycle around a per-station base plus a slow random walk; precipitation comes in wet spells
 * (snow at or below 0.5 °C, else rain, mm/h); pressure (hPa) and wind (m/s) wander; visibility (m)
 * drops in rain, more in snow.
 */
import type { WeatherReading } from '../join/types.js';
import { clamp, deriveSeed, exponential, hashString, mulberry32, normal, round } from './prng.js';
import { currentMinuteS } from './traffic.js';

export interface WeatherOptions {
  stations: readonly string[];
  /** Epoch seconds of the first reading; default: the start of the current minute. */
  startS?: number;
  /** Readings at startS + k × intervalS < startS + durationS. */
  durationS: number;
  /** Seconds between two readings of a station (default 60). */
  intervalS?: number;
  seed?: number;
}

class Station {
  private readonly rng;
  private readonly baseTemp: number;
  private drift = 0;
  private pressure: number;
  private wind: number;
  private wet = false;
  private intensity = 0;

  constructor(
    readonly name: string,
    seed: number,
  ) {
    this.rng = mulberry32(deriveSeed(seed, hashString(name)));
    this.baseTemp = -8 + 25 * this.rng();
    this.pressure = 1013 + 8 * normal(this.rng);
    this.wind = 2 + 6 * this.rng();
  }

  read(t: number, dt: number): WeatherReading {
    const rng = this.rng;
    const step = Math.sqrt(dt / 60);
    this.drift = clamp(this.drift * 0.999 + 0.05 * step * normal(rng), -6, 6);
    const daily = 4 * Math.sin(2 * Math.PI * ((t % 86_400) / 86_400 - 0.375));
    const temp = clamp(this.baseTemp + daily + this.drift, -40, 45);
    // Wet spells start on average every 3 h and last about 1 h.
    if (this.wet ? rng() < dt / 3600 : rng() < dt / 10_800) this.wet = !this.wet;
    this.intensity = this.wet ? clamp(0.8 * this.intensity + 0.2 * exponential(rng, 2), 0.1, 30) : 0;
    this.pressure = clamp(this.pressure + 0.05 * step * normal(rng) - (this.wet ? 0.01 * step : 0), 960, 1050);
    this.wind = clamp(this.wind + 0.3 * step * normal(rng), 0, 35);
    // Decided on the published (rounded) temperature, so the output is consistent with itself.
    const snowing = this.wet && round(temp, 1) <= 0.5;
    const visibility = this.wet ? 10_000 / (1 + this.intensity * (snowing ? 4 : 1)) : 10_000 - 500 * rng();
    return {
      station: this.name,
      timestamp: t,
      temp: round(temp, 1),
      snow: snowing ? round(this.intensity, 1) : 0,
      rain: this.wet && !snowing ? round(this.intensity, 1) : 0,
      pressure: round(this.pressure, 1),
      wind: round(this.wind, 1),
      visibility: Math.round(visibility / 10) * 10,
    };
  }
}

/** Readings in time order (stations in the given order within one time). Deterministic for a seed. */
export function* generateWeather(options: WeatherOptions): Generator<WeatherReading> {
  const startS = options.startS ?? currentMinuteS();
  const intervalS = options.intervalS ?? 60;
  if (!(intervalS > 0)) throw new RangeError(`generateWeather: intervalS must be > 0 (got ${intervalS})`);
  const seed = options.seed ?? 1;
  const stations = options.stations.map((s) => new Station(s, seed));
  for (let k = 0; ; k++) {
    const t = startS + k * intervalS;
    if (t >= startS + options.durationS) return;
    for (const s of stations) yield s.read(t, intervalS);
  }
}

/** The seed JSON of a reading, fields in canonical order. */
export function weatherJson(r: WeatherReading): string {
  return JSON.stringify({
    station: r.station,
    timestamp: r.timestamp,
    temp: r.temp,
    snow: r.snow,
    rain: r.rain,
    pressure: r.pressure,
    wind: r.wind,
    visibility: r.visibility,
  });
}
