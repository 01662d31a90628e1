import { describe, expect, it } from 'vitest';
import { defaultStartS } from '../../src/cli/generate.js';
import { type Clock, pump, REALTIME_SPAN_S } from '../../src/cli/generate-pump.js';
import type { SeedLoopEvent } from '../../src/codec/seed-json.js';
import { generateRoadPoints, stationsOf } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather } from '../../src/generate/weather.js';
import type { WeatherReading } from '../../src/join/types.js';

/** A clock that only moves when slept on (or when a write takes time): deterministic and instant. */
class FakeClock implements Clock {
  sleeps = 0;
  constructor(private now: number) {}
  nowMs(): number {
    return this.now;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps++;
    // Timers may fire a little early: the pump must not write before the event time anyway.
    this.now += Math.max(1, ms - 3);
    return Promise.resolve();
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

/** Runs the pump like `generate --realtime` does and returns, per record, (write time − event time) in ms. */
async function lags(clock: FakeClock, startS: number, durationS: number, writeMs = 0): Promise<{ car: number[]; weather: number[] }> {
  const points = generateRoadPoints(6, 3);
  const traffic = generateTraffic({ points, startS, durationS, seed: 3 });
  const weatherStart = Math.ceil(startS / 60) * 60;
  const weather = generateWeather({ stations: stationsOf(points), startS: weatherStart, durationS: startS + durationS - weatherStart, seed: 3 });
  const car: number[] = [];
  const readings: number[] = [];
  await pump(
    traffic,
    weather,
    {
      car: async (list: SeedLoopEvent[]) => {
        for (const e of list) car.push(clock.nowMs() - e.timestamp_out_2 * 1000);
        clock.advance(writeMs);
      },
      weather: async (list: WeatherReading[]) => {
        for (const r of list) readings.push(clock.nowMs() - r.timestamp * 1000);
        clock.advance(writeMs);
      },
    },
    { realtime: true, batchSize: 500, perPoint: false, clock },
  );
  return { car, weather: readings };
}

describe('generate --realtime pacing (injected clock)', () => {
  it('without --start: the data starts now and every record is written when the clock reaches its event time, within 1 s', async () => {
    const began = Date.UTC(2026, 0, 5, 7, 59, 42, 317);
    const clock = new FakeClock(began);
    const startS = defaultStartS(true, 300, began);
    expect(startS * 1000).toBeGreaterThanOrEqual(began);
    expect(startS * 1000 - began).toBeLessThan(1000);
    const { car, weather } = await lags(clock, startS, 300, 20);
    expect(car.length).toBeGreaterThan(500);
    expect(weather.length).toBeGreaterThan(0);
    for (const lag of [...car, ...weather]) {
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThanOrEqual(1000);
    }
    // Paced, not written at once: the clock went through the whole range, one wait per chunk or so.
    expect(clock.nowMs()).toBeGreaterThan(began + 295_000);
    expect(clock.sleeps).toBeGreaterThan(300 / REALTIME_SPAN_S / 2);
  });

  it('with a --start in the past: what is already due goes at once, the rest in real time', async () => {
    const began = Date.UTC(2026, 0, 5, 8, 0, 0);
    const clock = new FakeClock(began);
    const { car } = await lags(clock, began / 1000 - 120, 240);
    // The first two minutes were due before the run began: written immediately (lag = their age).
    expect(Math.max(...car)).toBeGreaterThan(100_000);
    expect(car.filter((lag) => lag > 1000).length).toBeGreaterThan(car.length * 0.3);
    expect(Math.min(...car)).toBeGreaterThanOrEqual(0);
    expect(clock.nowMs()).toBeGreaterThan(began + 115_000);
  });

  it('without --realtime never waits', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 5, 8));
    const points = generateRoadPoints(3, 1);
    const { events } = await pump(
      generateTraffic({ points, startS: clock.nowMs() / 1000 + 3600, durationS: 120 }),
      [],
      { car: async () => undefined, weather: async () => undefined },
      { realtime: false, batchSize: 500, perPoint: false, clock },
    );
    expect(events).toBeGreaterThan(0);
    expect(clock.sleeps).toBe(0);
  });
});
