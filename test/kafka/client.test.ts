import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { type IncomingRecord, KafkaClient, keyPartitionWith, probeCluster } from '../../src/kafka/client.js';
import type { RetryInfo } from '../../src/kafka/retry.js';
import { brokers, uniqueTopic } from './helpers.js';

describe('KafkaClient against the real broker', () => {
  const client = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test' });
  afterAll(() => client.close());

  it('answers a metadata probe', async () => {
    expect(await probeCluster(brokers(), 5_000)).toBe(true);
  });

  it('a probe of a closed port says no', async () => {
    expect(await probeCluster(['127.0.0.1:1'], 1_000)).toBe(false);
  });

  it('round-trips keys, values and headers through a 3-partition topic', async () => {
    const topic = uniqueTopic('roundtrip');
    await client.ensureTopics([{ topic, partitions: 3 }]);
    // Creating again is a no-op, not an error.
    await client.ensureTopics([{ topic, partitions: 3 }]);
    expect(await client.listTopics()).toContain(topic);

    const binary = Buffer.from([0, 1, 2, 250, 255]);
    const sent: { key: string | null; value: string | Buffer | null; headers?: Record<string, string | Buffer> }[] = [
      { key: 'point-1', value: '{"speed":51.5}', headers: { source: 'test', n: '1' } },
      { key: 'point-2', value: binary, headers: { kind: Buffer.from([7, 8]) } },
      { key: null, value: 'no key' },
      { key: 'point-1', value: null, headers: { tombstone: 'yes' } },
      ...Array.from({ length: 50 }, (_, i) => ({ key: `p${i % 7}`, value: `v${i}`, headers: { i: String(i) } })),
    ];
    const producer = await client.producer();
    await producer.send(topic, sent);
    await producer.close();

    const received: IncomingRecord[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const consumer = await client.consume({
      groupId: uniqueTopic('g'),
      topics: [topic],
      fromBeginning: true,
      onBatch: async (records) => {
        received.push(...records);
        if (received.length >= sent.length) done();
      },
    });
    await all;
    await consumer.close();

    expect(received).toHaveLength(sent.length);
    const bytes = (v: string | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(v)).toString('base64');
    const signature = (key: string | null, value: string | Buffer | null, headers: Record<string, string | Buffer> = {}) =>
      JSON.stringify([key, value === null ? null : bytes(value), Object.entries(headers).map(([k, v]) => [k, bytes(v)]).sort()]);
    const want = sent.map((r) => signature(r.key, r.value, r.headers)).sort();
    const got = received.map((r) => signature(r.key?.toString() ?? null, r.value, r.headers)).sort();
    expect(got).toEqual(want);

    // Same key → same partition, and offsets increase within a partition.
    const partitionOfKey = new Map<string, number>();
    for (const r of received) {
      if (r.key === null) continue;
      const k = r.key.toString();
      if (partitionOfKey.has(k)) expect(partitionOfKey.get(k)).toBe(r.partition);
      partitionOfKey.set(k, r.partition);
    }
    const byPartition = new Map<number, bigint[]>();
    for (const r of received) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
    for (const offsets of byPartition.values()) {
      for (let i = 1; i < offsets.length; i++) expect(offsets[i]! > offsets[i - 1]!).toBe(true);
    }
    expect(byPartition.size).toBeGreaterThan(1);
  });

  it('read() takes only the listed partitions, from and up to the given offsets', async () => {
    const topic = uniqueTopic('read');
    await client.ensureTopics([{ topic, partitions: 3 }]);
    const producer = await client.producer();
    for (let p = 0; p < 3; p++) {
      await producer.send(topic, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `p${p}-${i}`, partition: p })));
    }
    await producer.close();
    const got: IncomingRecord[] = [];
    const reader = await client.read({
      topic,
      from: new Map([[1, 5n]]),
      until: new Map([[1, 12n]]),
      follow: false,
      onBatch: async (records) => void got.push(...records),
    });
    await reader.caughtUp;
    await reader.close();
    expect(got.map((r) => r.value!.toString())).toEqual(Array.from({ length: 7 }, (_, i) => `p1-${i + 5}`));
    expect(new Set(got.map((r) => r.partition))).toEqual(new Set([1]));
  });
});

describe('ensureTopics against the real broker', () => {
  const client = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-topics' });
  afterAll(() => client.close());

  it('creates the missing topics and returns once every partition has a leader', async () => {
    const specs = [
      { topic: uniqueTopic('led-a'), partitions: 6 },
      { topic: uniqueTopic('led-b'), partitions: 3, config: { 'retention.ms': '3600000' } },
      { topic: uniqueTopic('led-c') },
    ];
    await client.ensureTopics(specs);
    // A separate plain kafkajs admin looks right away, without any retry of ours.
    const admin = new kafkajs.Kafka({ brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      const leaders = Object.fromEntries(topics.map((t) => [t.name, t.partitions.map((p) => p.leader >= 0)]));
      expect(leaders).toEqual(Object.fromEntries(specs.map((s) => [s.topic, Array(s.partitions ?? 1).fill(true)])));
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: specs[1].topic, configNames: ['retention.ms'] }],
      });
      const [config] = resources;
      expect(config.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('3600000');
    } finally {
      await admin.disconnect();
    }
    expect(await client.partitionCount(specs[0].topic)).toBe(6);
  });

  it('lets two clients create the same topics at the same time', async () => {
    const specs = [
      { topic: uniqueTopic('race-a'), partitions: 4 },
      { topic: uniqueTopic('race-b'), partitions: 2 },
    ];
    // logLevel nothing: kafkajs logs the loser's TOPIC_ALREADY_EXISTS, which ensureTopics accepts.
    const one = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-topics-1', logLevel: 'nothing' });
    const other = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-topics-2', logLevel: 'nothing' });
    try {
      await Promise.all([one.ensureTopics(specs), other.ensureTopics(specs)]);
    } finally {
      await one.close();
      await other.close();
    }
    expect(await client.partitionCount(specs[0].topic)).toBe(4);
    expect(await client.partitionCount(specs[1].topic)).toBe(2);
  });

  it('fails at once, naming the topics, when the broker refuses the request itself', async () => {
    const retries: RetryInfo[] = [];
    const strict = new KafkaClient({
      brokers: brokers(),
      clientId: 'saferoads-test-bad-config',
      logLevel: 'nothing',
      onRetry: (i) => retries.push(i),
    });
    const topic = uniqueTopic('bad-config');
    try {
      const error = await strict.ensureTopics([{ topic, config: { 'cleanup.policy': 'sometimes' } }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KafkaError);
      expect((error as Error).message).toMatch(new RegExp(`^cannot create topics ${topic}: `));
    } finally {
      await strict.close();
    }
    expect(retries).toEqual([]);
    expect(await client.listTopics()).not.toContain(topic);
  });

  it('retries a broker that does not answer until reachTimeoutMs (at most startTimeoutMs), then names it, the cause and the fix', async () => {
    const retries: RetryInfo[] = [];
    const nowhere = new KafkaClient({
      brokers: ['127.0.0.1:1'],
      clientId: 'saferoads-test-nowhere',
      logLevel: 'nothing',
      startTimeoutMs: 500,
      onRetry: (i) => retries.push(i),
    });
    const error = await nowhere.ensureTopics([{ topic: uniqueTopic('never') }]).catch((e: unknown) => e);
    await nowhere.close();
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as Error).message).toMatch(
      /^cannot reach Kafka at 127\.0\.0\.1:1: connection refused; check --brokers \(or KAFKA_BROKERS\) and that Kafka runs there \(retried for 0\.5 s\)$/,
    );
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.map((r) => r.attempt)).toEqual(retries.map((_, i) => i + 1));
    expect(retries.every((r) => r.what === 'reach Kafka at 127.0.0.1:1')).toBe(true);
  });
});

describe('keyPartitionWith: the producers\' default partitioners', () => {
  it("murmur2 (Java, kafkajs) and crc32 (librdkafka) put the seed's keys 1, 2, 3 where those clients do", () => {
    // Seen with a kafkajs producer and with kcat / Python confluent-kafka on a 3-partition topic.
    expect(['1', '2', '3'].map((k) => keyPartitionWith('murmur2', k, 3))).toEqual([0, 2, 2]);
    expect(['1', '2', '3'].map((k) => keyPartitionWith('crc32', k, 3))).toEqual([2, 1, 1]);
  });

  it('always a partition of the topic', () => {
    for (const partitioner of ['murmur2', 'crc32'] as const) {
      for (let n = 1; n <= 12; n++) {
        for (const key of ['P0001', 'road-7/north', 'ż', '']) {
          const p = keyPartitionWith(partitioner, key, n);
          expect(Number.isInteger(p) && p >= 0 && p < n, `${partitioner} ${key} ${n}`).toBe(true);
        }
      }
    }
  });
});
