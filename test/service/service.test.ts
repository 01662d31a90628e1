import { describe, expect, it } from 'vitest';
import type { RiskRecord } from '../../src/join/types.js';
import { keyPartitionWith } from '../../src/kafka/client.js';
import {
  byKey,
  createTopics,
  dataset,
  expectedLastEnd,
  expectRowsMatchReference,
  flatBufferRecords,
  jsonRecords,
  keyedJsonRecords,
  parseRows,
  partitionOf,
  produce,
  readTopic,
  replayLastEnd,
  replayToEnd,
  runUntilEnd,
  startService,
  uniqueTopics,
  waitFor,
  weatherRecords,
  withIntegerIds,
} from './scenario.js';

const MINUTES = 14;
const data = dataset(6, MINUTES, 42);

async function runOnce(format: 'json' | 'flatbuffers', shards: number): Promise<Map<string, RiskRecord>> {
  const t = uniqueTopics();
  await createTopics(t);
  await produce(t.weather, weatherRecords(data.weather));
  await produce(t.car, format === 'json' ? jsonRecords(data, data.events) : flatBufferRecords(data, data.events));
  const lastEnd = expectedLastEnd(data, data.events);
  const service = await runUntilEnd(t, data, shards, lastEnd);
  expect(service.stats.deadLetters).toBe(0);
  const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
  expectRowsMatchReference(rows, data, data.events, data.weather, data.startS, lastEnd);
  return rows;
}

describe('the streaming service end to end (real broker)', () => {
  const runs = new Map<string, Map<string, RiskRecord>>();

  it.each([
    ['json', 1],
    ['json', 3],
    ['flatbuffers', 1],
    ['flatbuffers', 3],
  ] as const)('%s input, %i shard(s): the output is exactly what the reference computes', async (format, shards) => {
    runs.set(`${format}/${shards}`, await runOnce(format, shards));
  });

  it('JSON and FlatBuffers input, 1 and 3 shards, give identical output', () => {
    expect(runs.size).toBe(4);
    const [first, ...rest] = [...runs.values()];
    for (const other of rest) expect(other).toEqual(first);
  });
});

describe('a finite replay (untilEnd)', () => {
  it('reads every partition to its end, publishes every window up to the last event, commits, and finishes', async () => {
    const t = uniqueTopics();
    await createTopics(t);
    await produce(t.weather, weatherRecords(data.weather));
    await produce(t.car, jsonRecords(data, data.events));
    // Every window up to the end of the pane holding the last event, not only those the watermark
    // (the slowest partition − grace) would close in a live stream.
    const lastEnd = replayLastEnd(data.events);
    expect(lastEnd).toBeGreaterThan(expectedLastEnd(data, data.events));
    const service = await replayToEnd(t, data, 2);
    expect(service.stats.lastEnd).toBe(lastEnd);
    expect(service.stats.deadLetters).toBe(0);
    const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
    expectRowsMatchReference(rows, data, data.events, data.weather, data.startS, lastEnd);
    // Committed at the end: a second replay of the same group finds nothing new and publishes nothing.
    const again = await replayToEnd(t, data, 1);
    expect(again.stats.rowsOut).toBe(0);
  });
});

describe('a replay of many hours joins the weather exactly like live operation', () => {
  it('three hours of history (120 readings per station, read whole before traffic): every row has the reading at or before its end', async () => {
    const long = dataset(4, 180, 11, 1);
    const stations = new Set(long.points.map((p) => p.station));
    for (const station of stations) expect(long.weather.filter((r) => r.station === station).length).toBeGreaterThan(100);
    const t = uniqueTopics();
    await createTopics(t);
    await produce(t.weather, weatherRecords(long.weather));
    await produce(t.car, jsonRecords(long, long.events));
    const lastEnd = replayLastEnd(long.events);
    const service = await replayToEnd(t, long, 1);
    const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
    // Checks every row's statistics and its weather (the latest reading at or before its end).
    expectRowsMatchReference(rows, long, long.events, long.weather, long.startS, lastEnd);
    expect([...rows.values()].filter((r) => r.weather === null)).toEqual([]);
  }, 120_000);
});

describe('bad input goes to the dead-letter topics, and the stream goes on', () => {
  it('routes every kind of bad car and weather record with provenance; good rows are unaffected', async () => {
    const d = dataset(4, 12, 7);
    const t = uniqueTopics();
    await createTopics(t);
    const good = d.events;
    const template = good[0];
    const json = (patch: Record<string, unknown>) => JSON.stringify({ ...template, ...patch });
    const p0 = d.points.find((_, i) => i % 3 === 0)!.pointId;
    const other = d.points.find((p) => p.pointId !== p0)!.pointId;
    const nowS = Date.now() / 1000;
    const flat = flatBufferRecords(d, [template], 1)[0].value as Buffer;
    // Bad records go between good ones, all on partition 0 (point index 0 lives there).
    const records = jsonRecords(d, good);
    const p0Events = good.filter((e) => partitionOf(d, e.point_id) === 0);
    const step = Math.floor(p0Events.length / 16);
    // A LoopEventBatch with a good event (a copy of one on time where it is inserted) and a bad one.
    // (Of point p0 itself, as its key says: partition 0 may hold other points' events there.)
    const onTime = { ...p0Events[14 * step - 1], point_id: p0 };
    const mixed = flatBufferRecords(d, [onTime, { ...onTime, speed: 999 }], 2)[0].value as Buffer;
    const bad: { value: string | Buffer | null; reason: string }[] = [
      { value: '{"lane": 1, "speed": ', reason: 'INVALID_JSON' },
      { value: null, reason: 'INVALID_JSON' },
      { value: json({ gap_seconds: undefined }), reason: 'MISSING_FIELD' },
      { value: json({ speed: 'fast' }), reason: 'WRONG_TYPE' },
      { value: json({ speed: 1e999 }).replace('null', '1e999'), reason: 'NOT_FINITE' },
      { value: json({ speed: 512 }), reason: 'SPEED_OUT_OF_RANGE' },
      { value: json({ lane: 0 }), reason: 'LANE_OUT_OF_RANGE' },
      { value: json({ gap_meters: -3 }), reason: 'NEGATIVE_GAP' },
      { value: json({ length: 250 }), reason: 'LENGTH_OUT_OF_RANGE' },
      { value: json({ timestamp_out_1: template.timestamp_in_1 - 1 }), reason: 'BAD_TIMESTAMPS' },
      { value: json({ point_id: 'NO-SUCH-POINT' }), reason: 'UNKNOWN_POINT_ID' },
      { value: json({ timestamp_out_2: nowS + 3600 }), reason: 'TOO_FAR_AHEAD' },
      { value: Buffer.concat([flat.subarray(0, 8), Buffer.from([1, 2, 3])]), reason: 'INVALID_FLATBUFFERS' },
      { value: mixed, reason: 'SPEED_OUT_OF_RANGE' },
      // A valid, on-time event of another point keyed p0: counted, it would land with p0's owner.
      { value: json({ point_id: other, timestamp_out_2: p0Events[15 * step - 1].timestamp_out_2 }), reason: 'KEY_MISMATCH' },
    ];
    // Each bad record right after the ((k + 1) × step)-th good event of partition 0, then a late
    // event at the end of that partition (its pane closed long before).
    const withBad = [...records];
    bad.forEach((b, k) => {
      const at = good.indexOf(p0Events[(k + 1) * step - 1]) + 1 + k;
      withBad.splice(at, 0, { key: p0, value: b.value, partition: 0 });
    });
    withBad.push({ key: p0, value: json({ point_id: p0, timestamp_out_2: d.startS + 65 }), partition: 0 });
    const expectedReasons = [...bad.map((b) => b.reason), 'LATE'];
    await produce(t.weather, [
      ...weatherRecords(d.weather),
      { key: 'WS001', value: '{"station": "WS001", "timestamp": ' },
      { key: 'WS001', value: JSON.stringify({ station: 'WS001', timestamp: d.startS, temp: 5, snow: 0, rain: 0 }) },
      { key: 'WS001', value: JSON.stringify({ ...d.weather[0], pressure: 5000 }) },
    ]);
    await produce(t.car, withBad);
    // The mixed batch's good event counts once more.
    const effective = [...good, onTime];
    const lastEnd = expectedLastEnd(d, effective);
    const service = await startService(t, d, 2);
    try {
      await waitFor(() => service.stats.lastEnd === lastEnd, 60_000, `window end ${lastEnd}`);
      await service.idle();
    } finally {
      await service.stop();
    }
    expect(service.stats.deadLetters).toBe(expectedReasons.length);
    expect(service.stats.weatherDeadLetters).toBe(3);

    const dead = await readTopic(t.carDlq, expectedReasons.length);
    const carRecords = await readTopic(t.car, withBad.length);
    const byOffset = new Map(carRecords.filter((r) => r.partition === 0).map((r) => [r.offset.toString(), r]));
    expect(dead.map((r) => r.headers['saferoads-reason'].toString()).sort()).toEqual([...expectedReasons].sort());
    for (const r of dead) {
      expect(r.headers['saferoads-source-topic'].toString()).toBe(t.car);
      expect(r.headers['saferoads-source-partition'].toString()).toBe('0');
      const source = byOffset.get(r.headers['saferoads-source-offset'].toString());
      expect(source, 'the offset header points at the original record').toBeDefined();
      expect(r.value).toEqual(source!.value);
      expect(r.key?.toString()).toBe(p0);
      expect(r.headers['saferoads-detail'].toString().length).toBeGreaterThan(0);
    }
    const batch = dead.find((r) => r.headers['saferoads-rejected-events'] !== undefined);
    expect(JSON.parse(batch!.headers['saferoads-rejected-events'].toString())).toEqual([[1, 'SPEED_OUT_OF_RANGE']]);

    const weatherDead = await readTopic(t.weatherDlq, 3);
    expect(weatherDead.map((r) => r.headers['saferoads-reason'].toString()).sort()).toEqual(['INVALID_JSON', 'MISSING_FIELD', 'OUT_OF_RANGE']);

    const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
    expectRowsMatchReference(rows, d, effective, d.weather, d.startS, lastEnd);
  });
});

describe('weather joins by event time', () => {
  it('a reading between two window ends changes the later window only', async () => {
    const d = dataset(3, 12, 11);
    const t = uniqueTopics();
    await createTopics(t);
    const station = d.points[0].station;
    const t1 = d.startS + 300;
    const before = { station, timestamp: t1 - 30, temp: 4, snow: 0, rain: 0, pressure: 1010, wind: 3, visibility: 9000 };
    const between = { ...before, timestamp: t1 + 20, temp: -2, snow: 1.5 };
    const weather = [before, between];
    await produce(t.weather, weatherRecords(weather));
    await produce(t.car, jsonRecords(d, d.events));
    const lastEnd = expectedLastEnd(d, d.events);
    const service = await startService(t, d, 1);
    try {
      await waitFor(() => service.stats.lastEnd === lastEnd, 60_000, `window end ${lastEnd}`);
      await service.idle();
    } finally {
      await service.stop();
    }
    const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
    const at = (end: number) => rows.get(`${d.points[0].pointId}@${end}`)!;
    expect(at(t1).weather).toMatchObject({ timestamp: before.timestamp, temp: 4, snow: 0, age_s: 30 });
    expect(at(t1 + 60).weather).toMatchObject({ timestamp: between.timestamp, temp: -2, snow: 1.5, age_s: 40 });
    expect(at(t1 - 60).weather).toBeNull();
    // The later window is scored with the snow (precipitation 1.5 mm/h), the earlier one without.
    expect(at(t1 + 60).risk.contributions.precipitation).toBeGreaterThan(0);
    expect(at(t1).risk.contributions.precipitation ?? 0).toBe(0);
    expectRowsMatchReference(rows, d, d.events, weather, d.startS, lastEnd);
  });
});

describe('restart', () => {
  it('a graceful stop mid-stream and a restart give the output of an uninterrupted run', async () => {
    const d = dataset(6, 20, 5);
    const t = uniqueTopics();
    await createTopics(t);
    await produce(t.weather, weatherRecords(d.weather));
    // Stopped after 12 minutes: the restart re-reads only the last ~10 minutes before the cut.
    const cut = d.startS + 12 * 60 + 17;
    const first = d.events.filter((e) => e.timestamp_in_1 < cut);
    const second = d.events.filter((e) => e.timestamp_in_1 >= cut);
    await produce(t.car, jsonRecords(d, first));
    const firstEnd = expectedLastEnd(d, first);
    const a = await startService(t, d, 2);
    try {
      await waitFor(() => a.stats.lastEnd === firstEnd, 60_000, `window end ${firstEnd}`);
      await a.idle();
    } finally {
      await a.stop();
    }
    await produce(t.car, jsonRecords(d, second));
    const lastEnd = expectedLastEnd(d, d.events);
    const b = await startService(t, d, 2);
    try {
      await waitFor(() => b.stats.lastEnd === lastEnd, 60_000, `window end ${lastEnd} after the restart`);
      await b.idle();
    } finally {
      await b.stop();
    }
    // The restarted service re-read from its restart point, not the whole topic.
    // Windows after firstEnd need events from firstEnd + 60 − 600 on; events more than a few
    // seconds older (the generator's arrival order is within a second of event time) are not re-read.
    const beforeRestartPoint = first.filter((e) => e.timestamp_out_2 < firstEnd + 60 - 600 - 5).length;
    expect(b.stats.carRecords).toBeLessThanOrEqual(first.length + second.length - beforeRestartPoint);
    expect(beforeRestartPoint).toBeGreaterThan(0);
    const rows = byKey(parseRows(await readTopic(t.output, a.stats.rowsOut + b.stats.rowsOut)));
    expectRowsMatchReference(rows, d, d.events, d.weather, d.startS, lastEnd);
  });
});

describe('several instances in one consumer group', () => {
  // crc32: librdkafka's default (Python confluent-kafka, kcat), with --partitioner crc32.
  it.each(['murmur2', 'crc32'] as const)('a second instance joining mid-stream takes over partitions; together they publish every row right (%s producer)', async (partitioner) => {
    // Integer ids 1..9 as the seed uses them: both partitioners spread them over all 3 partitions.
    const d = withIntegerIds(dataset(9, 20, 13));
    const t = uniqueTopics();
    await createTopics(t);
    await produce(t.weather, weatherRecords(d.weather));
    const where = (pointId: string) => keyPartitionWith(partitioner, pointId, 3);
    expect(new Set(d.points.map((p) => where(p.pointId))).size).toBe(3);
    const cut = d.startS + 11 * 60 + 7;
    const first = d.events.filter((e) => e.timestamp_in_1 < cut);
    const second = d.events.filter((e) => e.timestamp_in_1 >= cut);
    // Records placed where that partitioner puts them, as the producer would.
    const placed = (events: typeof d.events) => keyedJsonRecords(events).map((r) => ({ ...r, partition: where(String(r.key)) }));
    await produce(t.car, placed(first));
    const a = await startService(t, d, 1, { partitioner });
    let b: Awaited<ReturnType<typeof startService>> | undefined;
    try {
      await waitFor(() => a.stats.lastEnd === expectedLastEnd(d, first, [0, 1, 2], where), 60_000, 'instance A alone');
      b = await startService(t, d, 1, { partitioner });
      const both = b;
      await waitFor(() => a.assignedPartitions.length + both.assignedPartitions.length === 3 && both.assignedPartitions.length > 0, 60_000, 'the rebalance');
      await produce(t.car, placed(second));
      const endOf = (s: typeof a) => expectedLastEnd(d, d.events, s.assignedPartitions, where);
      await waitFor(() => a.stats.lastEnd === endOf(a) && both.stats.lastEnd === endOf(both), 90_000, 'both instances at the end');
      await a.idle();
      await both.idle();
    } finally {
      await a.stop();
      await b?.stop();
    }
    const owners = new Map<number, number>();
    for (const p of a.assignedPartitions) owners.set(p, expectedLastEnd(d, d.events, a.assignedPartitions, where));
    for (const p of b!.assignedPartitions) owners.set(p, expectedLastEnd(d, d.events, b!.assignedPartitions, where));
    const rows = byKey(parseRows(await readTopic(t.output, a.stats.rowsOut + b!.stats.rowsOut)));
    // Every point: every window end up to the last its owner could emit, each right.
    for (const p of d.points) {
      const lastEnd = owners.get(where(p.pointId))!;
      const own = new Map([...rows].filter(([k]) => k.startsWith(`${p.pointId}@`)));
      const single = { ...d, points: [p] };
      expectRowsMatchReference(own, single, d.events.filter((e) => e.point_id === p.pointId), d.weather, d.startS, lastEnd);
    }
  });
});
