/**
 * The output loop of `saferoads generate`: merges loop events and weather readings into one
 * event-time line, cuts it into chunks (one produce request per topic each) and, with --realtime,
 * writes each chunk once the wall clock has reached the event time of everything in it.
 *
 * Real time means event time ≈ wall clock: a chunk spans at most REALTIME_SPAN_S of event time and
 * is written when the clock reaches its latest item, so every record goes out no earlier than its
 * event time and at most REALTIME_SPAN_S (plus the write itself, plus --jitter) after it. Items
 * whose time has already passed (a --start in the past) go out at once. The clock is injected, so
 * the tests can check that promise without waiting.
 */
import type { SeedLoopEvent } from '../codec/seed-json.js';
import type { WeatherReading } from '../join/types.js';

/** Seconds of event time in one chunk: as fast as possible (few large requests) / in real time. */
export const BATCH_SPAN_S = 5;
export const REALTIME_SPAN_S = 0.5;

export interface Clock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: Clock = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PumpSink {
  car(events: SeedLoopEvent[]): Promise<void>;
  weather(readings: WeatherReading[]): Promise<void>;
}

export interface PumpOptions {
  realtime: boolean;
  /** A chunk closes at this many loop events (FlatBuffers: of one point, `perPoint`). */
  batchSize: number;
  perPoint: boolean;
  clock?: Clock;
}

type Item = { t: number; car: SeedLoopEvent; weather?: undefined } | { t: number; weather: WeatherReading; car?: undefined };

/** Loop events with the weather readings of the same time merged in (a reading before the events of its second). */
function* timeline(traffic: Iterable<SeedLoopEvent>, weather: Iterator<WeatherReading>): Generator<Item> {
  let next = weather.next();
  for (const e of traffic) {
    while (!next.done && next.value.timestamp <= e.timestamp_out_2) {
      yield { t: next.value.timestamp, weather: next.value };
      next = weather.next();
    }
    yield { t: e.timestamp_out_2, car: e };
  }
  for (; !next.done; next = weather.next()) yield { t: next.value.timestamp, weather: next.value };
}

/** Waits until the clock reaches epoch second `t` (never returns early, whatever the timer does). */
export async function waitUntil(clock: Clock, t: number): Promise<void> {
  const dueMs = t * 1000;
  for (let now = clock.nowMs(); now < dueMs; now = clock.nowMs()) await clock.sleep(dueMs - now);
}

/** Writes everything to `sink`; resolves to the counts written. */
export async function pump(
  traffic: Iterable<SeedLoopEvent>,
  weather: Iterable<WeatherReading>,
  sink: PumpSink,
  options: PumpOptions,
): Promise<{ events: number; readings: number }> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const spanS = options.realtime ? REALTIME_SPAN_S : BATCH_SPAN_S;
  let cars: SeedLoopEvent[] = [];
  let readings: WeatherReading[] = [];
  const perPoint = new Map<string, number>();
  let fullest = 0;
  let chunkStart = Number.NaN;
  let chunkLatest = -Infinity;
  let events = 0;
  let written = 0;

  const flush = async () => {
    if (options.realtime) await waitUntil(clock, chunkLatest);
    if (readings.length > 0) await sink.weather(readings);
    if (cars.length > 0) await sink.car(cars);
    events += cars.length;
    written += readings.length;
    cars = [];
    readings = [];
    perPoint.clear();
    fullest = 0;
    chunkStart = Number.NaN;
    chunkLatest = -Infinity;
  };

  for (const item of timeline(traffic, weather[Symbol.iterator]())) {
    const full = options.perPoint ? fullest >= options.batchSize : cars.length >= options.batchSize;
    if (!Number.isNaN(chunkStart) && (full || item.t - chunkStart >= spanS)) await flush();
    if (Number.isNaN(chunkStart)) chunkStart = item.t;
    chunkLatest = Math.max(chunkLatest, item.t);
    if (item.weather) readings.push(item.weather);
    else {
      cars.push(item.car);
      if (options.perPoint) {
        const n = (perPoint.get(item.car.point_id) ?? 0) + 1;
        perPoint.set(item.car.point_id, n);
        if (n > fullest) fullest = n;
      }
    }
  }
  if (!Number.isNaN(chunkStart)) await flush();
  return { events, readings: written };
}
