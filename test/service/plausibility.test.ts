import { describe, expect, it } from 'vitest';
import type { SeedLoopEvent } from '../../src/codec/seed-json.js';
import { computeWindowStats } from '../../src/kernel/reference.js';
import { windowQuality } from '../../src/pipeline/plausibility.js';
import {
  byKey,
  createTopics,
  dataset,
  expectedLastEnd,
  jsonRecords,
  parseRows,
  produce,
  readTopic,
  runUntilEnd,
  uniqueTopics,
  weatherRecords,
} from './scenario.js';

/*
 * End to end through the broker and the service: a loop stuck "occupied" on one point for one minute
 * shows up as OCCUPANCY_OVER_1 in exactly the rows whose windows hold it, risk.reliable false, and in
 * ServiceStats.implausibleRows; every row's quality is what the checks give on the reference's
 * statistics of the raw events.
 */

const MINUTES = 14;

describe('implausible windows end to end (real broker)', () => {
  it('a stuck loop is flagged in its rows, counted, and every row quality matches the reference statistics', async () => {
    const d = dataset(4, MINUTES, 5);
    const faulty = d.points[1]!;
    // Minute 6 of the stream: each of faulty's vehicles there reports 100 s on loop 1 (the loop stayed
    // on after each vehicle), several times the minute for any number of lanes.
    const stuckFrom = d.startS + 6 * 60;
    const stuck = (e: SeedLoopEvent) => e.point_id === faulty.pointId && e.timestamp_out_2 >= stuckFrom && e.timestamp_out_2 < stuckFrom + 60;
    const events = d.events.map((e) => (stuck(e) ? { ...e, timestamp_in_1: e.timestamp_out_1 - 100 } : e));
    expect(events.filter(stuck).length).toBeGreaterThanOrEqual(4);

    const t = uniqueTopics();
    await createTopics(t);
    await produce(t.weather, weatherRecords(d.weather));
    await produce(t.car, jsonRecords(d, events));
    const lastEnd = expectedLastEnd(d, events);
    const service = await runUntilEnd(t, d, 2, lastEnd);
    expect(service.stats.deadLetters).toBe(0);
    const rows = [...byKey(parseRows(await readTopic(t.output, service.stats.rowsOut))).values()];

    // The short window of the stuck minute, and only that short window of the point, is flagged for occupancy.
    const occupancyFlagged = rows.filter((r) => r.short.quality.flags.includes('OCCUPANCY_OVER_1'));
    expect(occupancyFlagged.map((r) => [r.point_id, r.window_end])).toEqual([[faulty.pointId, stuckFrom + 60]]);
    expect(occupancyFlagged[0]!.risk.reliable).toBe(false);
    expect(occupancyFlagged[0]!.short.occupancy).toBeGreaterThan(1);

    // The counter counts exactly the published rows marked unreliable.
    expect(service.stats.implausibleRows).toBe(rows.filter((r) => !r.risk.reliable).length);
    expect(service.stats.implausibleRows).toBeGreaterThanOrEqual(1);

    // Every row's quality is the checks applied to the reference's statistics of the raw events.
    for (const r of rows) {
      const p = d.points.find((x) => x.pointId === r.point_id)!;
      const raw = events
        .filter((e) => e.point_id === r.point_id)
        .map((e) => ({ tIn1: e.timestamp_in_1, tOut1: e.timestamp_out_1, tOut2: e.timestamp_out_2, speed: e.speed, gapM: e.gap_meters, gapS: e.gap_seconds, length: e.length, lane: e.lane }));
      const short = windowQuality(computeWindowStats(raw, r.window_end - 60, r.window_end, p.allowedSpeedKmh));
      const long = windowQuality(computeWindowStats(raw, r.window_end - 600, r.window_end, p.allowedSpeedKmh));
      expect([r.short.quality, r.long.quality, r.risk.reliable], `${r.point_id}@${r.window_end}`).toEqual([short, long, short.plausible && long.plausible]);
    }
  }, 120_000);
});
