import { describe, expect, it } from 'vitest';
import type { OutgoingRecord, Producer } from '../../src/kafka/client.js';
import type { RiskRecord } from '../../src/join/types.js';
import type { Flush } from '../../src/pipeline/dispatcher.js';
import { ROW_POINT, ROW_WINDOW_END } from '../../src/kernel/contract.js';
import { KEY_F64, KEY_POINT, KEY_WINDOW_END, OUT_ROW_F64 } from '../../src/pipeline/shard-protocol.js';
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

/** A shard's report carrying `rows` (and nothing else). */
function report(rows: Float64Array, rowCount: number, finalEnds: number[]) {
  // As a shard does: every row joined and scored into its record.
  const records = Array.from({ length: rowCount }, (_, row) => output.build(rows, row));
  const values = records.map((r) => JSON.stringify(r));
  const reliable = Uint8Array.from(records, (r) => (r.risk.reliable ? 1 : 0));
  const keys = new Float64Array(rowCount * KEY_F64);
  for (let row = 0; row < rowCount; row++) {
    keys[row * KEY_F64 + KEY_POINT] = rows[row * OUT_ROW_F64 + ROW_POINT];
    keys[row * KEY_F64 + KEY_WINDOW_END] = rows[row * OUT_ROW_F64 + ROW_WINDOW_END];
  }
  return Promise.resolve({ keys, rowCount, values, reliable, shadow: new Uint8Array(rowCount), finalEnds, partitions: [], dead: [], learned: [] });
}

const points = table(3);
const output = builder(points);

/** The rows of `out` whose point passes `keep`, as another shard's result. */
function onlyPoints(out: { rows: Float64Array; rowCount: number }, keep: (point: number) => boolean): { rows: Float64Array; rowCount: number } {
  const picked: number[] = [];
  for (let r = 0; r < out.rowCount; r++) if (keep(out.rows[r * OUT_ROW_F64 + ROW_POINT])) picked.push(r);
  const rows = new Float64Array(picked.length * OUT_ROW_F64);
  picked.forEach((r, k) => rows.set(out.rows.subarray(r * OUT_ROW_F64, (r + 1) * OUT_ROW_F64), k * OUT_ROW_F64));
  return { rows, rowCount: picked.length };
}

const oneShard = { ownerShard: () => 0, contested: () => false };

async function publishAll(
  scope: OutputScope,
  shardResults?: (out: ReturnType<typeof shardRows>) => { rows: Float64Array; rowCount: number }[],
): Promise<{ sent: RiskRecord[]; stats: ReturnType<typeof emptyStats> }> {
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
    pointIdOf: (point) => points.byIndex(point).pointId,
    stats,
    log: () => undefined,
    onFailure: (e) => failures.push(e),
    failed: () => failures.length > 0,
  });
  const out = shardRows(3, events, END);
  const flush: Flush = {
    finalEnds: out.finalEnds,
    createdAtMs: performance.now(),
    results: (shardResults ? shardResults(out) : [out]).map((r) => report(r.rows, r.rowCount, out.finalEnds)),
  };
  await publisher.publish([flush], [], [], scope);
  await publisher.idle();
  expect(failures).toEqual([]);
  return { sent, stats };
}

describe('Publisher: ServiceStats.implausibleRows', () => {
  it('counts the published rows whose short or long window is flagged, and no others', async () => {
    const { sent, stats } = await publishAll({ publishes: () => true, ...oneShard });
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
    const { stats } = await publishAll({ publishes: (point) => point !== 1, ...oneShard });
    expect(stats.rowsOut).toBe(4);
    expect(stats.implausibleRows).toBe(1);
  });

  it('one row per point and window end when two shards emit a contested point: the owner\'s, else the stand-in', async () => {
    // Shard 0 holds points 0 and 1 by key; point 1's events arrived on shard 1's partition
    // (contested): shard 1 emitted it too. Point 2 is shard 1's own; point 0's stand-in from
    // shard 1 exists but shard 0 owns it.
    const scope = { publishes: () => true, ownerShard: (p: number) => (p === 0 ? 0 : 1), contested: (p: number) => p !== 2 };
    const { sent } = await publishAll(scope, (out) => [onlyPoints(out, (p) => p !== 2), onlyPoints(out, () => true)]);
    const key = (r: RiskRecord) => `${r.point_id}@${r.window_end}`;
    expect(sent.map(key).sort()).toEqual([...new Set(sent.map(key))].sort());
    const { sent: single } = await publishAll({ publishes: () => true, ...oneShard });
    expect(sent.map(key).sort()).toEqual(single.map(key).sort());
    // The owner lacks the row (it emitted before it learned the point): the stand-in is published.
    const { sent: standIn } = await publishAll(scope, (out) => [onlyPoints(out, () => true), onlyPoints(out, (p) => p === 2)]);
    expect(standIn.map(key).sort()).toEqual(single.map(key).sort());
  });
});
