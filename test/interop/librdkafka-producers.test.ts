/**
 * The producers users have: kcat and Python confluent-kafka (both librdkafka, whose default
 * partitioner hashes keys with CRC32, not Java's murmur2), writing point_id as a JSON integer and
 * the key as its decimal string, as the seed's generator/loops.py does. Their topics must give the
 * output a kafkajs-written topic gives, with 1, 2 and 3 instances in one consumer group.
 *
 * The tools are found on PATH (kcat or kafkacat; a python3 that can import confluent_kafka, else
 * /usr/bin/python3). `.ci/run` installs them (Debian: kcat, python3-confluent-kafka).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { seedEventJson, type SeedLoopEvent } from '../../src/codec/seed-json.js';
import type { RiskRecord } from '../../src/join/types.js';
import { keyPartitionWith, type PartitionerName } from '../../src/kafka/client.js';
import type { SaferoadsService } from '../../src/service/service.js';
import { brokers } from '../kafka/helpers.js';
import {
  byKey,
  createTopics,
  dataset,
  expectedLastEnd,
  expectRowsMatchReference,
  PARTITIONS,
  parseRows,
  produce,
  readTopic,
  replayLastEnd,
  replayToEnd,
  startService,
  type Topics,
  uniqueTopics,
  waitFor,
  weatherRecords,
  withIntegerIds,
} from '../service/scenario.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

function found(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function kcatCommand(): string {
  const command = ['kcat', 'kafkacat'].find((c) => found(c, ['-V']));
  if (!command) throw new Error('kcat is not installed (Debian: apt-get install kcat); .ci/run installs it');
  return command;
}

function pythonWithConfluentKafka(): string {
  const python = ['python3', '/usr/bin/python3'].find((p) => found(p, ['-c', 'import confluent_kafka']));
  if (!python) throw new Error('no python3 can import confluent_kafka (Debian: apt-get install python3-confluent-kafka); .ci/run installs it');
  return python;
}

// Nine points with the seed's integer ids: both partitioners spread them over all three partitions.
const data = withIntegerIds(dataset(9, 16, 21));

/** The event as the seed's generator serialises it: point_id a JSON integer. */
function seedStyleJson(e: SeedLoopEvent): string {
  return JSON.stringify({ ...(JSON.parse(seedEventJson(e)) as object), point_id: Number(e.point_id) });
}

type ProducerName = 'kcat' | 'confluent-kafka' | 'kafkajs';
const PARTITIONER: Record<ProducerName, PartitionerName> = { kcat: 'crc32', 'confluent-kafka': 'crc32', kafkajs: 'murmur2' };

/** Writes the dataset's events to `topic` with the named client and its default partitioner. */
async function write(producer: ProducerName, topic: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'saferoads-interop-'));
  const bootstrap = brokers().join(',');
  if (producer === 'kafkajs') {
    await produce(topic, data.events.map((e) => ({ key: e.point_id, value: seedStyleJson(e) })));
  } else if (producer === 'kcat') {
    const file = join(dir, 'car.keyed');
    writeFileSync(file, data.events.map((e) => `${e.point_id}\t${seedStyleJson(e)}\n`).join(''));
    await run(kcatCommand(), ['-b', bootstrap, '-t', topic, '-P', '-K', '\t', '-l', file], { timeout: 60_000 });
  } else {
    const file = join(dir, 'car.ndjson');
    writeFileSync(file, data.events.map((e) => `${seedStyleJson(e)}\n`).join(''));
    await run(pythonWithConfluentKafka(), [join(here, 'confluent_producer.py'), bootstrap, topic, file], { timeout: 60_000 });
  }
}

/** Checks that `topic` holds every event, point_id a JSON integer, where `producer`'s partitioner puts it. */
async function expectPlacedBy(producer: ProducerName, topic: string): Promise<void> {
  const records = await readTopic(topic, data.events.length);
  for (const r of records) {
    const value = JSON.parse(r.value!.toString()) as { point_id: unknown };
    expect(typeof value.point_id).toBe('number');
    expect(r.partition).toBe(keyPartitionWith(PARTITIONER[producer], r.key!.toString(), PARTITIONS));
  }
}

/** Fresh topics with the weather on them. */
async function freshTopics(): Promise<Topics> {
  const t = uniqueTopics();
  await createTopics(t);
  await produce(t.weather, weatherRecords(data.weather));
  return t;
}

const rowJson = (rows: Map<string, RiskRecord>) => new Map([...rows].map(([k, row]) => [k, JSON.stringify(row)]));
const where = (producer: ProducerName) => (pointId: string) => keyPartitionWith(PARTITIONER[producer], pointId, PARTITIONS);

/** Every producer's single-instance replay, to compare the groups with. */
const replays = new Map<ProducerName, Map<string, string>>();
const replayEnd = replayLastEnd(data.events);

describe('topics written by librdkafka clients (kcat, Python confluent-kafka) and by kafkajs', () => {
  it('librdkafka puts the seed keys 1, 2, 3 on partitions 2, 1, 1 of three (our crc32), kafkajs on 0, 2, 2 (murmur2)', () => {
    expect(['1', '2', '3'].map(where('kcat'))).toEqual([2, 1, 1]);
    expect(['1', '2', '3'].map(where('kafkajs'))).toEqual([0, 2, 2]);
    expect(new Set(data.points.map((p) => where('kcat')(p.pointId))).size).toBe(PARTITIONS);
    expect(new Set(data.points.map((p) => where('kafkajs')(p.pointId))).size).toBe(PARTITIONS);
  });

  it.each(['kcat', 'confluent-kafka', 'kafkajs'] as const)('one instance replays the %s topic: every window right, no dead letter', async (producer) => {
    const t = await freshTopics();
    await write(producer, t.car);
    await expectPlacedBy(producer, t.car);
    const service = await replayToEnd(t, data, 2, { partitioner: PARTITIONER[producer] });
    expect(service.stats.deadLetters).toBe(0);
    expect(service.stats.lastEnd).toBe(replayEnd);
    const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
    expectRowsMatchReference(rows, data, data.events, data.weather, data.startS, replayEnd);
    replays.set(producer, rowJson(rows));
  }, 120_000);

  it('a service left at --partitioner murmur2 on a librdkafka topic says so: counted per point, logged with the fix; its rows stay right', async () => {
    const t = await freshTopics();
    await write('kcat', t.car);
    const lines: string[] = [];
    const service = await replayToEnd(t, data, 1, { partitioner: 'murmur2', log: (line) => lines.push(line) });
    const misplaced = data.points.filter((p) => where('kcat')(p.pointId) !== where('kafkajs')(p.pointId));
    expect(misplaced.length).toBeGreaterThan(0);
    expect(service.stats.partitionerMismatches).toBe(misplaced.length);
    const warnings = lines.filter((l) => l.includes('--partitioner murmur2 puts its key on'));
    expect(warnings.length).toBe(Math.min(misplaced.length, 5));
    expect(warnings[0]).toContain('set --partitioner crc32');
    const rows = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));
    expect(rowJson(rows)).toEqual(replays.get('kcat'));
  }, 120_000);

  it('the three single-instance replays are byte-identical', () => {
    const kafkajs = replays.get('kafkajs');
    expect(kafkajs?.size).toBeGreaterThan(0);
    expect(replays.get('kcat')).toEqual(kafkajs);
    expect(replays.get('confluent-kafka')).toEqual(kafkajs);
  });

  it.each([
    ['kcat', 2],
    ['kcat', 3],
    ['confluent-kafka', 2],
    ['confluent-kafka', 3],
    ['kafkajs', 2],
    ['kafkajs', 3],
  ] as const)('%s topic, %i instances in one group: every row they publish equals the replay, none missing', async (producer, instances) => {
    const replay = replays.get(producer);
    if (!replay) throw new Error(`the ${producer} replay did not run`);
    // Live: the instances share the partitions first, then the producer writes.
    const t = await freshTopics();
    const started: SaferoadsService[] = [];
    try {
      for (let i = 0; i < instances; i++) started.push(await startService(t, data, 1, { partitioner: PARTITIONER[producer] }));
      await waitFor(
        () => started.every((s) => s.assignedPartitions.length > 0) && started.reduce((n, s) => n + s.assignedPartitions.length, 0) === PARTITIONS,
        60_000,
        'every partition assigned, every instance with some',
      );
      await write(producer, t.car);
      const endOf = (s: SaferoadsService) => expectedLastEnd(data, data.events, s.assignedPartitions, where(producer));
      await waitFor(() => started.every((s) => s.stats.lastEnd === endOf(s)), 90_000, 'every instance at its last window end').catch((e: Error) => {
        throw new Error(`${e.message}: ${started.map((s) => `[${s.assignedPartitions.join(',')}] at ${s.stats.lastEnd}, want ${endOf(s)}`).join('; ')}`);
      });
      for (const s of started) await s.idle();
    } finally {
      for (const s of started) await s.stop();
    }
    const owner = new Map<number, number>();
    for (const s of started) for (const p of s.assignedPartitions) owner.set(p, expectedLastEnd(data, data.events, s.assignedPartitions, where(producer)));
    const total = started.reduce((n, s) => n + s.stats.rowsOut, 0);
    const rows = rowJson(byKey(parseRows(await readTopic(t.output, total))));
    let compared = 0;
    for (const [key, expected] of replay) {
      const [pointId, end] = key.split('@');
      if (Number(end) > owner.get(where(producer)(pointId))!) continue;
      expect(rows.get(key), key).toBe(expected);
      compared++;
    }
    // Nothing the replay lacks (a live start could only add rows before a point's first replayed
    // end), and most of the replay covered: the group's last windows wait for the watermark.
    for (const key of rows.keys()) expect(replay.has(key), key).toBe(true);
    expect(compared).toBe(rows.size);
    expect(compared).toBeGreaterThan(replay.size * 0.8);
  }, 180_000);
});
