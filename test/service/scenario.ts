/**
 * A deterministic generated stream pushed through the real broker and the real service, and the
 * rows the plain TS reference computes for it (test oracle). Shared by the service tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { encodeSeedEvents } from '../../src/codec/loop-event-batch.js';
import { seedEventJson, type SeedLoopEvent } from '../../src/codec/seed-json.js';
import { generateRoadPoints, roadPointsCsv, stationsOf, type GeneratedRoadPoint } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather, weatherJson } from '../../src/generate/weather.js';
import { type IncomingRecord, KafkaClient, type OutgoingRecord } from '../../src/kafka/client.js';
import { WINDOW_STAT_FIELDS, type WindowStats } from '../../src/kernel/contract.js';
import { computeWindowStats, type StatEvent } from '../../src/kernel/reference.js';
import type { PublishedWindowStats, RiskRecord, WeatherReading } from '../../src/join/types.js';
import { PUBLISHED_NAMES } from '../../src/pipeline/output.js';
import { SaferoadsService } from '../../src/service/service.js';
import type { ServiceOptions } from '../../src/service/options.js';
import { brokers, serviceTopics, type ServiceTopics, uniqueTopic } from '../kafka/helpers.js';

export const PARTITIONS = 3;
export const GRACE_S = 30;

export type Topics = ServiceTopics;

export function uniqueTopics(): Topics {
  return serviceTopics(uniqueTopic('s'));
}

export interface Dataset {
  points: GeneratedRoadPoint[];
  pointsPath: string;
  events: SeedLoopEvent[];
  weather: WeatherReading[];
  startS: number;
}

/**
 * `minutes` of traffic for `n` points ending well in the past (the skew check uses the wall clock).
 * `ratePerSecond` (vehicles/s over all points) defaults to the points' typical traffic; the daily
 * profile is off, so how much traffic there is does not depend on when the test runs.
 */
export function dataset(n: number, minutes: number, seed: number, ratePerSecond?: number): Dataset {
  const points = generateRoadPoints(n, seed);
  const dir = mkdtempSync(join(tmpdir(), 'saferoads-points-'));
  const pointsPath = join(dir, 'points.csv');
  writeFileSync(pointsPath, roadPointsCsv(points));
  const startS = Math.floor(Date.now() / 60_000) * 60 - (minutes + 30) * 60;
  // No generated incidents either: whether one falls into the window would depend on the start time.
  const events = [...generateTraffic({ points, ratePerSecond, durationS: minutes * 60, startS, seed, dailyProfile: false, incidentsPerPointDay: 0 })];
  const weather = [...generateWeather({ stations: stationsOf(points), startS: startS - 120, durationS: minutes * 60 + 240, intervalS: 90, seed })];
  return { points, pointsPath, events, weather, startS };
}

/** Each point's events go to partition (point index % PARTITIONS), so the test knows every partition's content. */
export function partitionOf(d: Dataset, pointId: string): number {
  return d.points.findIndex((p) => p.pointId === pointId) % PARTITIONS;
}

export function jsonRecords(d: Dataset, events: readonly SeedLoopEvent[]): OutgoingRecord[] {
  return events.map((e) => ({ key: e.point_id, value: seedEventJson(e), partition: partitionOf(d, e.point_id) }));
}

/**
 * FlatBuffers LoopEventBatch messages: per point, runs of up to `perMessage` events spanning less
 * than `spanS` of event time (as `saferoads generate` chunks them: a message held longer would
 * make other points' events on its partition late), in time order.
 */
export function flatBufferRecords(d: Dataset, events: readonly SeedLoopEvent[], perMessage = 25, spanS = 5): OutgoingRecord[] {
  const messages: { t: number; record: OutgoingRecord }[] = [];
  const byPoint = new Map<string, SeedLoopEvent[]>();
  for (const e of events) byPoint.set(e.point_id, [...(byPoint.get(e.point_id) ?? []), e]);
  for (const [pointId, list] of byPoint) {
    for (let i = 0; i < list.length; ) {
      let j = i + 1;
      while (j < list.length && j - i < perMessage && list[j].timestamp_out_2 - list[i].timestamp_out_2 < spanS) j++;
      const chunk = list.slice(i, j);
      i = j;
      messages.push({
        t: chunk[0].timestamp_in_1,
        record: { key: pointId, value: Buffer.from(encodeSeedEvents([pointId], chunk)), partition: partitionOf(d, pointId) },
      });
    }
  }
  return messages.sort((a, b) => a.t - b.t).map((m) => m.record);
}

export function weatherRecords(readings: readonly WeatherReading[]): OutgoingRecord[] {
  return readings.map((r) => ({ key: r.station, value: weatherJson(r) }));
}

export async function produce(topic: string, records: OutgoingRecord[], chunk = 2000): Promise<void> {
  const client = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-producer' });
  const producer = await client.producer();
  for (let i = 0; i < records.length; i += chunk) await producer.send(topic, records.slice(i, i + chunk));
  await producer.close();
  await client.close();
}

export async function createTopics(t: Topics): Promise<void> {
  const client = new KafkaClient({ brokers: brokers() });
  await client.ensureTopics([
    { topic: t.car, partitions: PARTITIONS },
    { topic: t.weather, partitions: 1 },
  ]);
  await client.close();
}

export function startService(t: Topics, d: Dataset, shards: number, extra: Partial<ServiceOptions> = {}): Promise<SaferoadsService> {
  return SaferoadsService.start({
    brokers: brokers(),
    pointsPath: d.pointsPath,
    shards,
    groupId: t.group,
    carTopic: t.car,
    weatherTopic: t.weather,
    outputTopic: t.output,
    carDlqTopic: t.carDlq,
    weatherDlqTopic: t.weatherDlq,
    inputPartitions: PARTITIONS,
    windows: { graceS: GRACE_S },
    log: () => undefined,
    ...extra,
  });
}

/**
 * The last window end the service can emit for `events`: W = min over the (given) partitions of
 * (max time − grace). `where` says which partition an event's record went to.
 */
export function expectedLastEnd(
  d: Dataset,
  events: readonly SeedLoopEvent[],
  partitions: readonly number[] = [0, 1, 2],
  where: (pointId: string) => number = (id) => partitionOf(d, id),
): number {
  const max = new Array<number>(PARTITIONS).fill(-Infinity);
  for (const e of events) {
    const p = where(e.point_id);
    max[p] = Math.max(max[p], e.timestamp_out_2);
  }
  return Math.floor((Math.min(...partitions.map((p) => max[p])) - GRACE_S) / 60) * 60;
}

/** Records keyed by point_id and left to the default partitioner (as real producers do). */
export function keyedJsonRecords(events: readonly SeedLoopEvent[]): OutgoingRecord[] {
  return events.map((e) => ({ key: e.point_id, value: seedEventJson(e) }));
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads a whole topic (every partition from the start) until `count` records arrived. */
export async function readTopic(topic: string, count: number, timeoutMs = 30_000): Promise<IncomingRecord[]> {
  const client = new KafkaClient({ brokers: brokers() });
  const got: IncomingRecord[] = [];
  const until = await client.endOffsets(topic);
  const reader = await client.read({ topic, until, follow: false, onBatch: async (records) => void got.push(...records) });
  await Promise.race([
    reader.caughtUp,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`reading ${topic}: ${got.length} of ${count} records`)), timeoutMs)),
  ]);
  await reader.close();
  await client.close();
  expect(got.length).toBe(count);
  return got;
}

export function parseRows(records: readonly IncomingRecord[]): RiskRecord[] {
  return records.map((r) => {
    const row = JSON.parse(r.value!.toString()) as RiskRecord;
    expect(r.key?.toString()).toBe(row.point_id);
    return row;
  });
}

/** Rows keyed by "point@end"; a (point, end) emitted twice must carry the same value. */
export function byKey(rows: readonly RiskRecord[]): Map<string, RiskRecord> {
  const map = new Map<string, RiskRecord>();
  for (const row of rows) {
    const key = `${row.point_id}@${row.window_end}`;
    const seen = map.get(key);
    if (seen) expect(row).toEqual(seen);
    map.set(key, row);
  }
  return map;
}

/**
 * Tolerance: the kernel sums per pane and then over panes, the reference over raw events, so sums
 * differ in the last bits: relative 1e-9 (absolute 1e-9 near 0); the standard deviation comes from
 * a sum of squares in the kernel, so it gets an absolute 1e-6 km/h.
 */
export function expectStatsClose(got: PublishedWindowStats, want: WindowStats, where: string): void {
  for (const f of WINDOW_STAT_FIELDS) {
    const g = got[PUBLISHED_NAMES[f]] as number | null;
    const w = want[f];
    if (w === null || g === null) {
      expect(g, `${where} ${f}`).toBe(w);
      continue;
    }
    const tol = f === 'speedStdKmh' ? 1e-6 : Math.max(1e-9, Math.abs(w) * 1e-9);
    expect(Math.abs(g - w), `${where} ${f}: got ${g}, want ${w}`).toBeLessThanOrEqual(tol);
  }
}

function statEvents(events: readonly SeedLoopEvent[]): Map<string, StatEvent[]> {
  const map = new Map<string, StatEvent[]>();
  for (const e of events) {
    const list = map.get(e.point_id) ?? [];
    list.push({
      tIn1: e.timestamp_in_1,
      tOut1: e.timestamp_out_1,
      tOut2: e.timestamp_out_2,
      speed: e.speed,
      gapM: e.gap_meters,
      gapS: e.gap_seconds,
      length: e.length,
      lane: e.lane,
    });
    map.set(e.point_id, list);
  }
  return map;
}

/**
 * Asserts the rows are exactly what the reference computes from the raw events: every point has a
 * row for every window end from `firstEnd` to `lastEnd`, and each row's statistics and weather
 * (the latest reading of its station at or before the end) are right. Returns the number of rows.
 */
export function expectRowsMatchReference(
  rows: ReadonlyMap<string, RiskRecord>,
  d: Dataset,
  events: readonly SeedLoopEvent[],
  weather: readonly WeatherReading[],
  firstEnd: number,
  lastEnd: number,
): void {
  const raw = statEvents(events);
  let expected = 0;
  for (let end = firstEnd; end <= lastEnd; end += 60) {
    for (const p of d.points) {
      expected++;
      const row = rows.get(`${p.pointId}@${end}`);
      expect(row, `row ${p.pointId}@${end}`).toBeDefined();
      const evs = raw.get(p.pointId) ?? [];
      expectStatsClose(row!.short, computeWindowStats(evs, end - 60, end, p.allowedSpeedKmh), `${p.pointId}@${end} short`);
      expectStatsClose(row!.long, computeWindowStats(evs, end - 600, end, p.allowedSpeedKmh), `${p.pointId}@${end} long`);
      expect(row!.short.start).toBe(end - 60);
      expect(row!.long.start).toBe(end - 600);
      const reading = weather.filter((r) => r.station === p.station && r.timestamp <= end).sort((a, b) => a.timestamp - b.timestamp).at(-1);
      if (reading === undefined) expect(row!.weather).toBeNull();
      else {
        expect(row!.weather?.timestamp, `${p.pointId}@${end} weather`).toBe(reading.timestamp);
        // == : JSON has no -0, so a -0 reading arrives as 0.
        expect(row!.weather?.temp == reading.temp, `${p.pointId}@${end} temp ${row!.weather?.temp} vs ${reading.temp}`).toBe(true);
        expect(row!.weather?.age_s).toBe(end - reading.timestamp);
      }
      expect(row!.road.allowed_speed).toBe(p.allowedSpeedKmh);
      expect(row!.risk.score).toBeGreaterThan(0);
      expect(row!.risk.score).toBeLessThan(1);
    }
  }
  expect(rows.size).toBe(expected);
}

/** The same dataset with the integer ids 1..n the seed's generator uses (as decimal strings here). */
export function withIntegerIds(d: Dataset): Dataset {
  const idOf = new Map(d.points.map((p, i) => [p.pointId, String(i + 1)]));
  const points = d.points.map((p) => ({ ...p, pointId: idOf.get(p.pointId)! }));
  const pointsPath = join(mkdtempSync(join(tmpdir(), 'saferoads-points-')), 'points.csv');
  writeFileSync(pointsPath, roadPointsCsv(points));
  return { ...d, points, pointsPath, events: d.events.map((e) => ({ ...e, point_id: idOf.get(e.point_id)! })) };
}

/** Runs the service with untilEnd until it finished (or failed), then stops it. */
export async function replayToEnd(t: Topics, d: Dataset, shards: number, extra: Partial<ServiceOptions> = {}): Promise<SaferoadsService> {
  const service = await startService(t, d, shards, { ...extra, untilEnd: true });
  try {
    await Promise.race([service.finished, service.failed]);
  } finally {
    await service.stop();
  }
  return service;
}

/** Starts the service and lets it run until window end `lastEnd` is published and it is idle; then stops it. */
export async function runUntilEnd(t: Topics, d: Dataset, shards: number, lastEnd: number): Promise<SaferoadsService> {
  const service = await startService(t, d, shards);
  try {
    await waitFor(() => service.stats.lastEnd === lastEnd, 60_000, `window end ${lastEnd} (at ${service.stats.lastEnd})`);
    await service.idle();
  } finally {
    await service.stop();
  }
  return service;
}

/** The last window end a finite replay (untilEnd) publishes: the end of the pane holding the last event. */
export function replayLastEnd(events: readonly SeedLoopEvent[]): number {
  return (Math.floor(Math.max(...events.map((e) => e.timestamp_out_2)) / 60) + 1) * 60;
}
