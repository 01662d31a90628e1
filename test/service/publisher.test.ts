import { describe, expect, it } from 'vitest';
import type { OutgoingRecord, Producer } from '../../src/kafka/client.js';
import type { RiskRecord } from '../../src/join/types.js';
import type { Flush } from '../../src/pipeline/router.js';
import { emptyStats, Publisher, type OutputScope } from '../../src/service/publisher.js';
import { builder, minuteOf, shardRows, T0, table, vehicle } from '../pipeline/rows.js';

/*
 * ServiceStats.implausibleRows: the rows published with a quality flag, counted where the publisher
 * publishes them (a fake producer, no broker).
 */

const END = T0 + 60;
const events = [
  ...minuteOf(T0, 20, 0, [1, 2]), // point 0: ordinary
  vehicle(T0 + 20, 1, 1, 40), // point 1: 80 s on one loop in one minute (occupancy 1.33)
  vehicle(T0 + 50, 1, 1, 40),
  ...minuteOf(T0, 65, 2, [3]), // point 2: 3,900 veh/h on one lane
];

async function publishAll(scope: OutputScope): Promise<{ sent: RiskRecord[]; stats: ReturnType<typeof emptyStats> }> {
  const sent: RiskRecord[] = [];
  const producer: Producer = {
    async send(_topic: string, records: readonly OutgoingRecord[]) {
      for (const r of records) sent.push(JSON.parse(String(r.value)) as RiskRecord);
    },
    async close() {},
  };
  const stats = emptyStats();
  const failures: unknown[] = [];
  const publisher = new Publisher({
    producer,
    outputTopic: 'road-risk',
    carDlqTopic: 'car.dlq',
    commitIntervalMs: 60_000,
    output: builder(table(3)),
    stats,
    log: () => undefined,
    onFailure: (e) => failures.push(e),
    failed: () => failures.length > 0,
  });
  const out = shardRows(3, events, END);
  const flush: Flush = {
    finalEnds: out.finalEnds,
    createdAtMs: performance.now(),
    results: [Promise.resolve({ rows: out.rows, rowCount: out.rowCount, rejections: new Int32Array(0), finalEnds: out.finalEnds })],
    sources: [[]],
  };
  await publisher.publish([flush], [], [], scope);
  await publisher.idle();
  expect(failures).toEqual([]);
  return { sent, stats };
}

describe('Publisher: ServiceStats.implausibleRows', () => {
  it('counts the published rows whose short or long window is flagged, and no others', async () => {
    const { sent, stats } = await publishAll({ publishes: () => true, isReplay: () => false });
    expect(stats.rowsOut).toBe(sent.length);
    expect(sent.length).toBe(6); // 3 points × window ends T0 and T0 + 60
    const flagged = sent.filter((r) => !r.short.quality.plausible || !r.long.quality.plausible);
    expect(flagged.map((r) => [r.point_id, r.window_end, r.short.quality.flags])).toEqual([
      ['P1', END, ['OCCUPANCY_OVER_1']],
      ['P2', END, ['FLOW_OVER_CAPACITY']],
    ]);
    expect(flagged.every((r) => !r.risk.reliable)).toBe(true);
    expect(stats.implausibleRows).toBe(2);
  });

  it('a row another instance publishes is not counted here', async () => {
    const { stats } = await publishAll({ publishes: (point) => point !== 1, isReplay: () => false });
    expect(stats.rowsOut).toBe(4);
    expect(stats.implausibleRows).toBe(1);
  });
});
