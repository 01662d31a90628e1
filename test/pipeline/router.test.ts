import { describe, expect, it } from 'vitest';
import { seedEventJson, type SeedLoopEvent } from '../../src/codec/seed-json.js';
import { generateRoadPoints, roadPointsCsv } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import type { IncomingRecord } from '../../src/kafka/client.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { Admission } from '../../src/pipeline/admission.js';
import { viewPackedColumns } from '../../src/pipeline/columns.js';
import type { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { type Flush, Router } from '../../src/pipeline/router.js';
import type { SegmentResult } from '../../src/pipeline/shard-protocol.js';
import type { ShardPool } from '../../src/pipeline/shard-pool.js';
import { parseRoadPoints } from '../../src/road/points.js';
import { OffsetTracker } from '../../src/service/offsets.js';

const spec = windowSpec({ graceS: 30 });
const PARTITIONS = 3;

/**
 * A stand-in for the shard pool that keeps, per shard, what a kernel in external-watermark mode
 * would: whether it started, its next window end and W; and records every event it receives.
 */
class RecordingPool {
  readonly received: { shard: number; t: number; point: number }[] = [];
  readonly violations: string[] = [];
  readonly state: { started: boolean; nextEnd: number; w: number }[];
  constructor(readonly shards: number) {
    this.state = Array.from({ length: shards }, () => ({ started: false, nextEnd: NaN, w: -Infinity }));
  }
  segment(shard: number, buffer: ArrayBuffer, count: number, _nowS: number, startAt: number, advanceTo: number): Promise<SegmentResult> {
    const s = this.state[shard];
    if (!Number.isNaN(startAt)) {
      if (s.started) this.violations.push(`shard ${shard} started twice`);
      s.started = true;
      s.w = startAt;
      s.nextEnd = (Math.floor(startAt / 60) + 1) * 60;
    }
    const c = viewPackedColumns(buffer, count, count);
    for (let i = 0; i < count; i++) {
      const pane = Math.floor(c.tOut2[i] / 60);
      const firstNeeded = (s.nextEnd - spec.longS) / 60;
      if (!s.started) this.violations.push(`event before shard ${shard} started`);
      else if (pane < firstNeeded || pane >= firstNeeded + spec.ringPanes) this.violations.push(`event pane ${pane} outside the ring of shard ${shard}`);
      if (c.point[i] % this.shards !== shard) this.violations.push(`point ${c.point[i]} on shard ${shard}`);
      this.received.push({ shard, t: c.tOut2[i], point: c.point[i] });
    }
    if (!Number.isNaN(advanceTo)) {
      s.w = Math.max(s.w, advanceTo);
      while (s.nextEnd <= s.w) s.nextEnd += 60;
    }
    return Promise.resolve({ rows: new Float64Array(0), rowCount: 0, rejections: new Int32Array(0), finalEnds: [] });
  }
}

function setup(shards: number, pointCount = 6) {
  const points = generateRoadPoints(pointCount, 3);
  const table = parseRoadPoints(roadPointsCsv(points), 'test');
  const nowS = Date.now() / 1000;
  const admission = new Admission(spec, PARTITIONS, nowS, (i) => i >= 0 && i < pointCount);
  const pool = new RecordingPool(shards);
  const offsets = new OffsetTracker(PARTITIONS, spec.ringPanes + 2);
  const router = new Router(admission, pool as unknown as ShardPool, table, offsets, spec.advanceS, PARTITIONS);
  const startS = Math.floor(nowS / 60) * 60 - 3600;
  const events = [...generateTraffic({ points, durationS: 20 * 60, startS, seed: 9, dailyProfile: false })];
  const partitionOf = (e: SeedLoopEvent) => table.indexOf(e.point_id)! % PARTITIONS;
  const records = (p: number, list: SeedLoopEvent[]): IncomingRecord[] =>
    list.map((e, i) => ({ topic: 'car', partition: p, offset: BigInt(i), key: Buffer.from(e.point_id), value: Buffer.from(seedEventJson(e)), headers: {}, timestampMs: 0 }));
  return { admission, pool, offsets, router, events, partitionOf, records, startS, nowS };
}

describe('Router: decode, admit, route by point, align partitions', () => {
  it('routes every event once to its point\'s shard, never outside a shard\'s ring, with whole partitions arriving one after another', () => {
    const { pool, router, events, partitionOf, records, nowS } = setup(3);
    const flushes: Flush[] = [];
    const dead: DeadLetter[] = [];
    const parks: [number, boolean][] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      router.route(records(p, events.filter((e) => partitionOf(e) === p)), p, nowS, flushes, dead);
      parks.push(...router.takeParkChanges());
    }
    expect(dead).toEqual([]);
    expect(pool.violations).toEqual([]);
    // Whole partitions one after another: the first two park (they run ahead), then all resume.
    expect(parks.slice(0, 2)).toEqual([[0, true], [1, true]]);
    expect(new Map(parks).get(0)).toBe(false);
    expect(router.backlogRecords).toBe(0);
    // Everything up to W reached the shards; the rest waits for W (the last minute or so).
    const W = Math.min(...[0, 1, 2].map((p) => Math.max(...events.filter((e) => partitionOf(e) === p).map((e) => e.timestamp_out_2)))) - 30;
    const sent = pool.received.length;
    expect(sent).toBeGreaterThan(events.filter((e) => e.timestamp_out_2 < W - 60).length);
    expect(sent).toBeLessThanOrEqual(events.length);
    expect(flushes.flatMap((f) => f.finalEnds).at(-1)).toBe(Math.floor(W / 60) * 60);
  });

  it('interleaved small batches give the same events to the shards as whole partitions', () => {
    const a = setup(2);
    const b = setup(2);
    const flushes: Flush[] = [];
    const dead: DeadLetter[] = [];
    for (let p = 0; p < PARTITIONS; p++) a.router.route(a.records(p, a.events.filter((e) => a.partitionOf(e) === p)), p, a.nowS, flushes, dead);
    const perPartition = [0, 1, 2].map((p) => b.records(p, b.events.filter((e) => b.partitionOf(e) === p)));
    const rounds = Math.ceil(Math.max(...perPartition.map((r) => r.length)) / 20);
    for (let k = 0; k < rounds; k++) {
      for (let p = 0; p < PARTITIONS; p++) {
        const slice = perPartition[p].slice(k * 20, (k + 1) * 20);
        if (slice.length > 0) b.router.route(slice, p, b.nowS, flushes, dead);
      }
    }
    const key = (r: { t: number; point: number }) => `${r.point}@${r.t}`;
    expect(b.pool.violations).toEqual([]);
    expect(b.admission.watermark).toBe(a.admission.watermark);
    expect(new Set(b.pool.received.map(key))).toEqual(new Set(a.pool.received.map(key)));
  });

  it('dead-letters bad records with a reason and goes on; records re-read after an assignment write none again', () => {
    const { router, admission, events, partitionOf, records, nowS } = setup(1);
    // One partition is assigned: its first event starts the stream.
    admission.setAssigned([0]);
    const good = records(0, events.filter((e) => partitionOf(e) === 0)).slice(0, 50);
    const bad: IncomingRecord[] = [
      { ...good[0], offset: 1000n, value: Buffer.from('not json') },
      { ...good[0], offset: 1001n, value: Buffer.from(JSON.stringify({ ...JSON.parse(good[1].value!.toString()), point_id: 'X' })) },
      { ...good[0], offset: 1002n, value: Buffer.from(JSON.stringify({ ...JSON.parse(good[2].value!.toString()), speed: -1 })) },
    ];
    const flushes: Flush[] = [];
    const dead: DeadLetter[] = [];
    router.route([...good.slice(0, 10), ...bad, ...good.slice(10)], 0, nowS, flushes, dead);
    expect(dead.map((d) => [d.record.offset, d.reason])).toEqual([
      [1000n, 'INVALID_JSON'],
      [1001n, 'UNKNOWN_POINT_ID'],
      [1002n, 'SPEED_OUT_OF_RANGE'],
    ]);
    const again = setup(1);
    again.admission.setAssigned([0]);
    again.router.replayBefore(0, 1002);
    const replayed: DeadLetter[] = [];
    again.router.route([...good.slice(0, 10), ...bad, ...good.slice(10)], 0, nowS, [], replayed);
    // Offsets 1000 and 1001 were processed by an earlier owner; 1002 is new.
    expect(replayed.map((d) => [d.record.offset, d.reason])).toEqual([[1002n, 'SPEED_OUT_OF_RANGE']]);
  });

  it('dead-letters an event whose record key is not its point_id (KEY_MISMATCH), after the field checks', () => {
    const { router, admission, events, partitionOf, records, nowS } = setup(1);
    admission.setAssigned([0]);
    const good = records(0, events.filter((e) => partitionOf(e) === 0)).slice(0, 20);
    const other = events.find((e) => partitionOf(e) !== 0)!.point_id;
    const bad: IncomingRecord[] = [
      { ...good[5], offset: 2000n, key: Buffer.from(other) },
      { ...good[5], offset: 2001n, key: Buffer.from(other), value: Buffer.from(JSON.stringify({ ...JSON.parse(good[5].value!.toString()), speed: -1 })) },
      { ...good[5], offset: 2002n, key: null },
    ];
    const dead: DeadLetter[] = [];
    router.route([...good.slice(0, 10), ...bad, ...good.slice(10)], 0, nowS, [], dead);
    expect(dead.map((d) => [d.record.offset, d.reason])).toEqual([
      [2000n, 'KEY_MISMATCH'],
      [2001n, 'SPEED_OUT_OF_RANGE'],
    ]);
    expect(dead[0].detail).toContain(JSON.parse(good[5].value!.toString()).point_id);
  });

  it('dead-letters events of a point that arrive on a second partition (POINT_ON_TWO_PARTITIONS); the first keeps it', () => {
    const { router, admission, events, partitionOf, records, nowS } = setup(1);
    admission.setAssigned([0, 1]);
    const onZero = records(0, events.filter((e) => partitionOf(e) === 0)).slice(0, 20);
    const onOne = records(1, events.filter((e) => partitionOf(e) === 1)).slice(0, 20);
    // A producer with another partitioner sends an event of partition 0's first point to partition 1.
    const stray: IncomingRecord = { ...onZero[15], partition: 1, offset: 500n };
    const dead: DeadLetter[] = [];
    router.route(onZero, 0, nowS, [], dead);
    router.route(onOne, 1, nowS, [], dead);
    router.route([stray], 1, nowS, [], dead);
    expect(dead.map((d) => [d.record.partition, d.record.offset, d.reason])).toEqual([[1, 500n, 'POINT_ON_TWO_PARTITIONS']]);
    expect(dead[0].detail).toContain('counted on partition 0');
  });
});
