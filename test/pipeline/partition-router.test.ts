import { describe, expect, it } from 'vitest';
import { PointIndexBytes, seedEventJson, type SeedLoopEvent } from '../../src/codec/seed-json.js';
import { generateRoadPoints, roadPointsCsv } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import type { IncomingRecord } from '../../src/kafka/client.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { Admission, type PartitionStart } from '../../src/pipeline/admission.js';
import { PackedColumns } from '../../src/pipeline/columns.js';
import { packRecords } from '../../src/pipeline/dispatcher.js';
import { type AdmittedSink, PartitionRouter } from '../../src/pipeline/partition-router.js';
import type { ShardDeadLetter, ShardPartitionStart } from '../../src/pipeline/shard-protocol.js';
import { parseRoadPoints } from '../../src/road/points.js';

const spec = windowSpec({ graceS: 30 });
const PARTITIONS = 3;
/**
 * The wall clock of every setup: fixed, so the generated traffic (and its incidents) is the same
 * whenever the test runs, and two setups of one test see the same data.
 */
const NOW_S = 1_800_000_000;
const fresh: PartitionStart = { resumed: false, publishedThrough: -Infinity, maxEventTime: -Infinity, caughtUp: false };

/**
 * One shard's PartitionRouter with a recording kernel sink, and the host's part played by a host
 * Admission fed from the router's reports (as the Dispatcher does).
 */
function setup(slots: number[] = [0, 1, 2], pointCount = 6, learned = new Int32Array(new SharedArrayBuffer(4 * pointCount)).fill(-1)) {
  const points = generateRoadPoints(pointCount, 3);
  const table = parseRoadPoints(roadPointsCsv(points), 'test');
  const nowS = NOW_S;
  const received: { t: number; point: number; slot: number }[] = [];
  const violations: string[] = [];
  const host = new Admission(spec, PARTITIONS, nowS, (i) => i >= 0 && i < pointCount);
  const events = new PackedColumns(64);
  const sink: AdmittedSink = {
    events,
    slotOf: new Int32Array(64),
    offsetOf: new Float64Array(64),
    ingest: () => {
      const c = events.columns;
      for (let i = 0; i < c.count; i++) {
        const pane = Math.floor(c.tOut2[i] / 60);
        const firstNeeded = (host.nextEnd - spec.longS) / 60;
        // The kernel's ring follows W as the shard was told it: never behind the host's.
        if (!host.started) violations.push('event before the start');
        else if (pane >= firstNeeded + spec.ringPanes) violations.push(`event pane ${pane} beyond the ring`);
        received.push({ t: c.tOut2[i], point: c.point[i], slot: sink.slotOf[i] });
      }
      c.count = 0;
    },
  };
  const router = new PartitionRouter(
    spec,
    PARTITIONS,
    { count: pointCount, indexOf: (id) => table.indexOf(id), byBytes: PointIndexBytes.fromIds(table.points.map((p) => p.pointId)), pointId: (i) => table.byIndex(i).pointId, idBytes: table.points.map((p) => Buffer.from(p.pointId)) },
    sink,
  );
  const starts: ShardPartitionStart[] = slots.map((slot) => ({ slot, ...fresh, readFrom: 0, replayUntil: 0 }));
  router.assign(starts, learned, nowS);
  host.setAssigned(slots, new Map(slots.map((s) => [s, fresh])), nowS);
  const dead: ShardDeadLetter[] = [];
  const parks: [number, boolean][] = [];
  const parked = new Map<number, boolean>();
  let startSent = false;
  /** The host's side of one report: partitions' progress into W, then W (and the start) back to the shard. */
  const sync = () => {
    for (let round = 0; round < 100; round++) {
      sink.ingest();
      const report = router.takeReport();
      dead.push(...report.dead);
      for (const p of report.partitions) {
        if ((parked.get(p.slot) ?? false) !== p.parked) parks.push([p.slot, p.parked]);
        parked.set(p.slot, p.parked);
        host.setBacklog(p.slot, p.parked);
        host.report(p.slot, p.firstTime, p.maxEventTime, nowS);
      }
      if (!host.started || (startSent && !host.hasFinalEnd)) return;
      const ends: number[] = [];
      host.takeFinalEnds(ends);
      router.follow(startSent ? NaN : host.startWatermark, host.watermark, nowS);
      startSent = true;
    }
  };
  const route = (records: IncomingRecord[], slot: number) => {
    router.route(packRecords(records, slot, nowS));
    sync();
  };
  const startS = Math.floor(nowS / 60) * 60 - 3600;
  const traffic = [...generateTraffic({ points, durationS: 20 * 60, startS, seed: 9, dailyProfile: false })];
  const partitionOf = (e: SeedLoopEvent) => table.indexOf(e.point_id)! % PARTITIONS;
  const records = (p: number, list: SeedLoopEvent[]): IncomingRecord[] =>
    list.map((e, i) => ({ topic: 'car', partition: p, offset: BigInt(i), key: Buffer.from(e.point_id), value: Buffer.from(seedEventJson(e)), headers: {}, timestampMs: 0 }));
  return { host, router, route, received, violations, dead, parks, traffic, partitionOf, records, nowS, learned };
}

describe('PartitionRouter: a shard decodes, admits and aligns its partitions', () => {
  it('admits every event once, never beyond the ring, with whole partitions arriving one after another', () => {
    const { host, router, route, received, violations, dead, parks, traffic, partitionOf, records } = setup();
    for (let p = 0; p < PARTITIONS; p++) route(records(p, traffic.filter((e) => partitionOf(e) === p)), p);
    expect(dead).toEqual([]);
    expect(violations).toEqual([]);
    // Whole partitions one after another: the first two park (before the start), then all resume.
    expect(parks.slice(0, 2)).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(new Map(parks).get(0)).toBe(false);
    expect(router.backlogRecords).toBe(0);
    expect(received.length).toBe(traffic.length);
    expect(new Set(received.map((r) => `${r.point}@${r.t}`)).size).toBe(received.length);
    const W = Math.min(...[0, 1, 2].map((p) => Math.max(...traffic.filter((e) => partitionOf(e) === p).map((e) => e.timestamp_out_2)))) - 30;
    expect(host.watermark).toBe(W);
  });

  it('interleaved small batches admit the same events and reach the same W as whole partitions', () => {
    const a = setup();
    const b = setup();
    for (let p = 0; p < PARTITIONS; p++) a.route(a.records(p, a.traffic.filter((e) => a.partitionOf(e) === p)), p);
    const perPartition = [0, 1, 2].map((p) => b.records(p, b.traffic.filter((e) => b.partitionOf(e) === p)));
    const rounds = Math.ceil(Math.max(...perPartition.map((r) => r.length)) / 20);
    for (let k = 0; k < rounds; k++) {
      for (let p = 0; p < PARTITIONS; p++) {
        const slice = perPartition[p].slice(k * 20, (k + 1) * 20);
        if (slice.length > 0) b.route(slice, p);
      }
    }
    const key = (r: { t: number; point: number }) => `${r.point}@${r.t}`;
    expect(b.violations).toEqual([]);
    expect(b.host.watermark).toBe(a.host.watermark);
    expect(new Set(b.received.map(key))).toEqual(new Set(a.received.map(key)));
  });

  it('dead-letters bad records with a reason and goes on; records re-read after an assignment write none again', () => {
    const { route, dead, traffic, partitionOf, records, router, nowS } = setup([0]);
    const good = records(0, traffic.filter((e) => partitionOf(e) === 0)).slice(0, 50);
    const bad: IncomingRecord[] = [
      { ...good[0], offset: 1000n, value: Buffer.from('not json') },
      { ...good[0], offset: 1001n, value: Buffer.from(JSON.stringify({ ...JSON.parse(good[1].value!.toString()), point_id: 'X' })) },
      { ...good[0], offset: 1002n, value: Buffer.from(JSON.stringify({ ...JSON.parse(good[2].value!.toString()), speed: -1 })) },
      { ...good[0], offset: 1003n, value: null },
    ];
    route([...good.slice(0, 10), ...bad, ...good.slice(10)], 0);
    expect(dead.map((d) => [d.offset, d.reason])).toEqual([
      [1000, 'INVALID_JSON'],
      [1001, 'UNKNOWN_POINT_ID'],
      [1002, 'SPEED_OUT_OF_RANGE'],
      [1003, 'INVALID_JSON'],
    ]);
    // A new assignment: offsets before 1002 were processed by an earlier owner.
    router.assign([{ slot: 0, ...fresh, readFrom: 0, replayUntil: 1002 }], new Int32Array(new SharedArrayBuffer(24)).fill(-1), nowS);
    router.route(packRecords([...good.slice(0, 10), ...bad, ...good.slice(10)], 0, nowS));
    // The first event parked the partition until the host starts the stream there.
    const w0 = (JSON.parse(good[0].value!.toString()) as SeedLoopEvent).timestamp_out_2 - 30;
    router.follow(w0, w0, nowS);
    expect(router.takeReport().dead.map((d) => [d.offset, d.reason])).toEqual([
      [1002, 'SPEED_OUT_OF_RANGE'],
      [1003, 'INVALID_JSON'],
    ]);
  });

  it('dead-letters an event whose record key is not its point_id (KEY_MISMATCH), after the field checks', () => {
    const { route, dead, traffic, partitionOf, records } = setup([0]);
    const good = records(0, traffic.filter((e) => partitionOf(e) === 0)).slice(0, 20);
    const other = traffic.find((e) => partitionOf(e) !== 0)!.point_id;
    const bad: IncomingRecord[] = [
      { ...good[5], offset: 2000n, key: Buffer.from(other) },
      { ...good[5], offset: 2001n, key: Buffer.from(other), value: Buffer.from(JSON.stringify({ ...JSON.parse(good[5].value!.toString()), speed: -1 })) },
      { ...good[5], offset: 2002n, key: null },
      { ...good[5], offset: 2003n, key: Buffer.from(`${JSON.parse(good[5].value!.toString()).point_id}x`) },
    ];
    route([...good.slice(0, 10), ...bad, ...good.slice(10)], 0);
    expect(dead.map((d) => [d.offset, d.reason])).toEqual([
      [2000, 'KEY_MISMATCH'],
      [2001, 'SPEED_OUT_OF_RANGE'],
      [2003, 'KEY_MISMATCH'],
    ]);
    expect(dead[0].detail).toContain(JSON.parse(good[5].value!.toString()).point_id);
  });

  it('dead-letters events of a point that arrive on a second partition read by another shard (POINT_ON_TWO_PARTITIONS)', () => {
    // Two shards share the learned array, as in the service: shard A reads partition 0, B partition 1.
    const a = setup([0, 1]);
    const b = setup([0, 1], 6, a.learned);
    const onZero = a.records(0, a.traffic.filter((e) => a.partitionOf(e) === 0)).slice(0, 20);
    const onOne = a.records(1, a.traffic.filter((e) => a.partitionOf(e) === 1)).slice(0, 20);
    a.route(onZero, 0);
    a.route(onOne, 1);
    // A producer with another partitioner sends an event of partition 0's first point to partition 1.
    b.route(onOne, 1);
    b.route(onZero, 0);
    const stray: IncomingRecord = { ...onZero[15], partition: 1, offset: 500n };
    b.route([stray], 1);
    expect(a.dead).toEqual([]);
    const pointOfStray = JSON.parse(stray.value!.toString()).point_id as string;
    expect(b.dead.filter((d) => d.offset === 500).map((d) => [d.slot, d.reason])).toEqual([[1, 'POINT_ON_TWO_PARTITIONS']]);
    expect(b.dead.find((d) => d.offset === 500)!.detail).toContain(`point ${pointOfStray} is counted on partition 0`);
  });
});
