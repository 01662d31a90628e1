/**
 * Seeded weather in the seed format (`{station, timestamp, temp, snow, rain, pressure, wind,
 * visibility}`), as a pure function of (seed, station, time): `WeatherModel.reading` gives the same
 * reading for the same instant whatever range is generated, so a backfill and a later real-time
 * run agree, and the traffic generator (which slows traffic in rain and snow) sees exactly the
 * weather that `generateWeather` publishes for the point's station.
 *
 * Per station: a base temperature (−8..17 °C), a daily cycle (±4 °C, warmest mid-afternoon UTC) and
 * a slow drift (value noise, 6 h lattice, ±4 °C). Precipitation comes in wet spells (a 2 h
 * value-noise "wetness" above a threshold: wet about a fifth of the time, spells of an hour or
 * two), mm/h, snow at or below 0.5 °C (decided on the published, rounded temperature), else rain.
 * Pressure (hPa) and wind (m/s) wander slowly; visibility (m) drops in rain, more in snow.
 */
import type { WeatherReading } from '../join/types.js';
import { clamp, deriveSeed, hash01, hashString, round, valueNoise } from './prng.js';
import { currentMinuteS } from './time.js';

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

/** What traffic needs of the weather at a point's station: precipitation, mm/h. */
export interface Precipitation {
  rain: number;
  snow: number;
}

/** Wetness (value noise in [0, 1)) above this is a wet spell. */
const WET_THRESHOLD = 0.66;
const HOUR = 3600;

/** Independent noise streams of one station (mixed with its hash). */
const STREAM = { base: 1, drift: 2, driftFast: 3, wet: 4, intensity: 5, pressure: 6, wind: 7, clearVisibility: 8 } as const;

class StationWeather {
  private readonly id: number;
  private readonly baseTemp: number;
  private readonly basePressure: number;
  private readonly baseWind: number;

  constructor(
    readonly name: string,
    private readonly seed: number,
  ) {
    this.id = hashString(name);
    this.baseTemp = -8 + 25 * hash01(seed, deriveSeed(this.id, STREAM.base), 0);
    this.basePressure = 1013 + 16 * (hash01(seed, deriveSeed(this.id, STREAM.base), 1) - 0.5);
    this.baseWind = 2 + 6 * hash01(seed, deriveSeed(this.id, STREAM.base), 2);
  }

  private noise(stream: number, t: number, periodS: number): number {
    return valueNoise(this.seed, deriveSeed(this.id, stream), t, periodS);
  }

  read(t: number): WeatherReading {
    const daily = 4 * Math.sin(2 * Math.PI * ((((t % 86_400) + 86_400) % 86_400) / 86_400 - 0.375));
    const drift = 8 * (this.noise(STREAM.drift, t, 6 * HOUR) - 0.5) + (this.noise(STREAM.driftFast, t, 40 * 60) - 0.5);
    const temp = round(clamp(this.baseTemp + daily + drift, -40, 45), 1);
    const wetness = this.noise(STREAM.wet, t, 2 * HOUR);
    const wet = wetness > WET_THRESHOLD;
    const excess = wet ? (wetness - WET_THRESHOLD) / (1 - WET_THRESHOLD) : 0;
    const intensity = wet ? round(clamp(0.1 + 8 * excess * (0.3 + this.noise(STREAM.intensity, t, 30 * 60)), 0.1, 30), 1) : 0;
    // Decided on the published (rounded) temperature, so the output is consistent with itself.
    const snowing = wet && temp <= 0.5;
    const pressure = clamp(this.basePressure + 20 * (this.noise(STREAM.pressure, t, 12 * HOUR) - 0.5) - 3 * excess, 960, 1050);
    const wind = clamp(this.baseWind + 8 * (this.noise(STREAM.wind, t, 3 * HOUR) - 0.5) + 3 * excess, 0, 35);
    const visibility = wet
      ? 10_000 / (1 + intensity * (snowing ? 4 : 1))
      : 10_000 - 500 * hash01(this.seed, deriveSeed(this.id, STREAM.clearVisibility), Math.floor(t));
    return {
      station: this.name,
      timestamp: t,
      temp,
      snow: snowing ? intensity : 0,
      rain: wet && !snowing ? intensity : 0,
      pressure: round(pressure, 1),
      wind: round(wind, 1),
      visibility: Math.round(visibility / 10) * 10,
    };
  }
}

/** The weather of every station for one seed: a pure function of (station, time). */
export class WeatherModel {
  private readonly stations = new Map<string, StationWeather>();
  /** Per station, the precipitation of the last minute asked for (traffic asks in time order). */
  private readonly minuteCache = new Map<string, { minute: number; value: Precipitation }>();

  constructor(readonly seed: number) {}

  private station(name: string): StationWeather {
    let s = this.stations.get(name);
    if (!s) this.stations.set(name, (s = new StationWeather(name, this.seed)));
    return s;
  }

  /** The reading of `station` at epoch second `t`. */
  reading(station: string, t: number): WeatherReading {
    return this.station(station).read(t);
  }

  /** Precipitation at `station` during the minute of `t` (the reading at its start). */
  precipitation(station: string, t: number): Precipitation {
    const minute = Math.floor(t / 60);
    const hit = this.minuteCache.get(station);
    if (hit && hit.minute === minute) return hit.value;
    const r = this.reading(station, minute * 60);
    const value = { rain: r.rain, snow: r.snow };
    this.minuteCache.set(station, { minute, value });
    return value;
  }
}

/** Readings in time order (stations in the given order within one time). Deterministic for a seed. */
export function* generateWeather(options: WeatherOptions): Generator<WeatherReading> {
  const startS = options.startS ?? currentMinuteS();
  const intervalS = options.intervalS ?? 60;
  if (!(intervalS > 0)) throw new RangeError(`generateWeather: intervalS must be > 0 (got ${intervalS})`);
  const model = new WeatherModel(options.seed ?? 1);
  for (let k = 0; ; k++) {
    const t = startS + k * intervalS;
    if (t >= startS + options.durationS) return;
    for (const s of options.stations) yield model.reading(s, t);
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
