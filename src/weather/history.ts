import { ConfigError } from '../errors.js';
import type { PublishedWeather, WeatherReading } from '../join/types.js';

/**
 * A short, per-station history of weather readings, so the join can ask "what was the weather of
 * station S at window end T" — the latest reading with timestamp <= T — instead of "what is the
 * newest reading we happen to hold". The difference matters on a replay or a lagging consumer: the
 * weather topic is read ahead of (or behind) the loop topic, and "last value wins" (the Spark
 * updateStateByKey of the talk) would join a reading from the future to an old window.
 *
 * Per station the readings are kept sorted by timestamp (an array; stations report about once a
 * second to once an hour, so inserts are nearly always appends). Memory is bounded: at most
 * `maxPerStation` readings per station, the oldest go first. `prune(beforeT)` drops what no future
 * window can need once the join's window ends have passed `beforeT`.
 *
 * Exactness: `latestAtOrBefore(s, t)` equals a scan over every reading of `s` ever added (the last
 * added wins among equal timestamps) for every t at or after the last `prune` bound, unless
 * `maxPerStation` or more readings of `s` newer than t were added — only then has the bound evicted
 * the answer (the evicted reading always has `maxPerStation` newer ones). The service only asks about
 * window ends not yet final, which lie after its prune bound and close to the newest readings.
 */
export interface WeatherHistoryOptions {
  /** Readings kept per station at most (>= 1). 2 048 cover 34 hours at one reading a minute. */
  maxPerStation: number;
}

export const DEFAULT_WEATHER_HISTORY_OPTIONS: Readonly<WeatherHistoryOptions> = Object.freeze({
  maxPerStation: 2048,
});

/**
 * How far behind the watermark the service keeps readings (event time): a partition reassigned
 * from a restart point up to this far behind is joined exactly as on its first run.
 */
export const WEATHER_RETENTION_S = 24 * 3600;

/** What `add` did with a reading (for metrics and tests). */
export type WeatherAddOutcome = 'added' | 'replaced' | 'dropped';

export class WeatherHistory {
  readonly options: Readonly<WeatherHistoryOptions>;
  private readonly byStation = new Map<string, WeatherReading[]>();

  /** `prefix` names the options in error messages as the caller's user knows them. */
  constructor(options: Partial<WeatherHistoryOptions> = {}, prefix = 'weather.') {
    const o = { ...DEFAULT_WEATHER_HISTORY_OPTIONS, ...options };
    if (!Number.isInteger(o.maxPerStation) || o.maxPerStation < 1) {
      throw new ConfigError(
        `${prefix}maxPerStation`,
        `must be a positive integer number of readings (got ${String(o.maxPerStation)}); fix: use e.g. ${DEFAULT_WEATHER_HISTORY_OPTIONS.maxPerStation}`,
      );
    }
    this.options = Object.freeze(o);
  }

  /**
   * Adds a reading. Arrival order does not matter: it is inserted at its timestamp. A reading with
   * the same station and timestamp as a held one replaces it (a corrected re-send wins). When the
   * station is over its bound the oldest reading is dropped — which is the new one itself when it
   * is older than everything held ('dropped').
   */
  add(reading: WeatherReading): WeatherAddOutcome {
    let list = this.byStation.get(reading.station);
    if (list === undefined) {
      list = [];
      this.byStation.set(reading.station, list);
    }
    const t = reading.timestamp;
    // Fast path: in-order arrival appends.
    const last = list.length > 0 ? list[list.length - 1] : undefined;
    let i: number;
    if (last === undefined || last.timestamp < t) {
      i = list.length;
    } else {
      i = upperBound(list, t); // first index with timestamp > t
      if (i > 0 && list[i - 1].timestamp === t) {
        list[i - 1] = reading;
        return 'replaced';
      }
    }
    if (list.length >= this.options.maxPerStation && i === 0) return 'dropped';
    list.splice(i, 0, reading);
    if (list.length > this.options.maxPerStation) list.shift();
    return 'added';
  }

  /** The latest reading of `station` with timestamp <= t, or undefined if none is held. */
  latestAtOrBefore(station: string, t: number): WeatherReading | undefined {
    const list = this.byStation.get(station);
    if (list === undefined) return undefined;
    const i = upperBound(list, t);
    return i > 0 ? list[i - 1] : undefined;
  }

  /**
   * Forgets readings no query at or after `beforeT` can need: per station everything older than the
   * newest reading with timestamp <= beforeT. That reading itself is kept — it is the answer for
   * every t in [its timestamp, next reading) — so a station that stopped reporting keeps its last
   * value (the output shows its growing age rather than dropping the weather).
   */
  prune(beforeT: number): void {
    for (const list of this.byStation.values()) {
      const keepFrom = upperBound(list, beforeT) - 1;
      if (keepFrom > 0) list.splice(0, keepFrom);
    }
  }

  /** Readings held for `station` (0 if none). */
  sizeOf(station: string): number {
    return this.byStation.get(station)?.length ?? 0;
  }

  /** Stations with at least one reading held. */
  get stationCount(): number {
    return this.byStation.size;
  }
}

/** A reading as published in a RiskRecord, with its age at the window end (seconds, >= 0 when joined by latestAtOrBefore). */
export function toPublished(reading: WeatherReading, windowEnd: number): PublishedWeather {
  return {
    station: reading.station,
    timestamp: reading.timestamp,
    age_s: windowEnd - reading.timestamp,
    temp: reading.temp,
    snow: reading.snow,
    rain: reading.rain,
    pressure: reading.pressure,
    wind: reading.wind,
    visibility: reading.visibility,
  };
}

/** First index whose timestamp is > t (list sorted ascending); list.length if none. */
function upperBound(list: readonly WeatherReading[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].timestamp <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
