import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, KafkaError } from '../../src/errors.js';
import { KafkaClient, type OutgoingRecord } from '../../src/kafka/client.js';
import { MAX_RECORD_BYTES } from '../../src/kafka/record-size.js';
import { isRetriable, type RetryInfo } from '../../src/kafka/retry.js';
import { brokers, uniqueTopic } from './helpers.js';

/** `count` records of about 300 bytes, keyed by 20 points, each value carrying its index. */
function records(count: number, valueBytes = 300): OutgoingRecord[] {
  const pad = 'x'.repeat(valueBytes - 12);
  return Array.from({ length: count }, (_, i) => ({ key: `P${i % 20}`, value: `${String(i).padStart(10, '0')}:${pad}` }));
}

/**
 * Reads a one-partition topic from the start until `expected` records arrived and checks that the
 * values carry the indices 0, 1, 2, … in order; returns how many records it saw.
 */
async function readInOrder(client: KafkaClient, topic: string, expected: number): Promise<number> {
  let next = 0;
  let outOfOrder: string | undefined;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const consumer = await client.consume({
    groupId: `test-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch: async (batch) => {
      for (const r of batch) {
        const index = Number(r.value!.toString('latin1', 0, 10));
        if (index !== next && outOfOrder === undefined) outOfOrder = `record ${next} was ${index}`;
        next++;
      }
      if (next >= expected) done();
    },
  });
  try {
    await all;
  } finally {
    await consumer.close();
  }
  expect(outOfOrder).toBeUndefined();
  return next;
}

describe('Producer against the real broker', () => {
  const client = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-producer' });
  afterAll(() => client.close());

  it('sends 200 000 records of ~300 bytes in one call, all of them, in order', async () => {
    const topic = uniqueTopic('bulk');
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await client.producer();
    try {
      await producer.send(topic, records(200_000));
    } finally {
      await producer.close();
    }
    expect((await client.endOffsets(topic)).get(0)).toBe(200_000n);
    expect(await readInOrder(client, topic, 200_000)).toBe(200_000);
  }, 120_000);

  it('splits a send into requests under maxRequestBytes: a topic that refuses larger batches takes them all', async () => {
    // The broker refuses any record batch over 20 000 bytes on this topic.
    const topic = uniqueTopic('small-batches');
    await client.ensureTopics([{ topic, partitions: 1, config: { 'max.message.bytes': '20000' } }]);
    const sent = records(600); // about 220 kB

    // logLevel nothing: kafkajs would log the refusal it reports.
    const whole = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-whole', logLevel: 'nothing' });
    const retries: RetryInfo[] = [];
    const chunked = new KafkaClient({
      brokers: brokers(),
      clientId: 'saferoads-test-chunked',
      maxRequestBytes: 16_000,
      onRetry: (i) => retries.push(i),
    });
    try {
      // With the default budget the whole send is one batch: refused at once (not retriable).
      const wholeProducer = await whole.producer();
      const error = await wholeProducer.send(topic, sent).catch((e: unknown) => e);
      await wholeProducer.close();
      expect(error).toBeInstanceOf(KafkaError);
      expect((error as Error).message).toMatch(new RegExp(`^cannot produce to ${topic}: .*larger than the max message size`));
      expect(isRetriable(error)).toBe(false);

      const producer = await chunked.producer();
      try {
        await producer.send(topic, sent);
      } finally {
        await producer.close();
      }
    } finally {
      await whole.close();
      await chunked.close();
    }
    expect(retries).toEqual([]);
    expect((await client.endOffsets(topic)).get(0)).toBe(600n);
    expect(await readInOrder(client, topic, 600)).toBe(600);
  });

  it('refuses a send holding a record over MAX_RECORD_BYTES before writing any of it', async () => {
    const topic = uniqueTopic('oversized');
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await client.producer();
    try {
      const batch = [...records(5), { key: 'P9', value: Buffer.alloc(MAX_RECORD_BYTES) }, ...records(5)];
      const error = await producer.send(topic, batch).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KafkaError);
      expect((error as Error).message).toBe(
        `cannot produce to ${topic}: record 5 of 11 (with key "P9") takes ${MAX_RECORD_BYTES + 72} bytes with its headers, ` +
          `more than the ${MAX_RECORD_BYTES} bytes one record may; nothing of this send was written`,
      );
    } finally {
      await producer.close();
    }
    expect((await client.endOffsets(topic)).get(0)).toBe(0n);
  });

  it('retries a send to a topic that does not exist yet until it does', async () => {
    const topic = uniqueTopic('late-topic');
    const retries: RetryInfo[] = [];
    let created: Promise<void> | undefined;
    const retrying = new KafkaClient({
      brokers: brokers(),
      clientId: 'saferoads-test-retry',
      // The topic appears after the first failure (an operator creating it, a cluster catching up).
      onRetry: (info) => {
        retries.push(info);
        created ??= client.ensureTopics([{ topic, partitions: 1 }]);
      },
    });
    const producer = await retrying.producer();
    try {
      await producer.send(topic, records(10));
    } finally {
      await producer.close();
      await retrying.close();
    }
    await created;
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0].what).toBe(`produce to ${topic}`);
    expect(retries[0].attempt).toBe(1);
    expect((retries[0].error as Error).message).toMatch(/does not host this topic-partition/);
    // At least once: a retried request may have been written before; here the first never was.
    expect(await readInOrder(client, topic, 10)).toBe(10);
  });

  it('gives up after maxOutageMs, naming the topic and the last cause', async () => {
    const topic = uniqueTopic('never');
    const impatient = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-outage', maxOutageMs: 0 });
    const producer = await impatient.producer();
    try {
      const error = await producer.send(topic, records(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KafkaError);
      expect((error as Error).message).toMatch(
        new RegExp(`^cannot produce to ${topic}: gave up after 1 attempt in 0\\.0 s: This server does not host this topic-partition`),
      );
      expect(isRetriable((error as Error).cause)).toBe(true);
    } finally {
      await producer.close();
      await impatient.close();
    }
  });

  it('refuses to send once closed, and an empty send sends nothing', async () => {
    const topic = uniqueTopic('closed');
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await client.producer();
    await producer.send(topic, []);
    await producer.close();
    const error = await producer.send(topic, records(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as Error).message).toBe(`cannot produce to ${topic}: the producer is closed`);
    expect((await client.endOffsets(topic)).get(0)).toBe(0n);
  });
});

describe('KafkaClientOptions', () => {
  it('refuses bad tuning values, naming the field', () => {
    const bad: [string, object][] = [
      ['maxRequestBytes', { maxRequestBytes: 100 }],
      ['maxRequestBytes', { maxRequestBytes: MAX_RECORD_BYTES + 1 }],
      ['maxOutageMs', { maxOutageMs: -1 }],
      ['startTimeoutMs', { startTimeoutMs: 1.5 }],
    ];
    for (const [field, options] of bad) {
      let error: unknown;
      try {
        new KafkaClient({ brokers: ['127.0.0.1:9092'], ...options });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect((error as Error).message).toMatch(new RegExp(`^${field} must be an integer from \\d+ to \\d+ \\(got `));
    }
    expect(() => new KafkaClient({ brokers: ['127.0.0.1:9092'], maxRequestBytes: 1_024, maxOutageMs: 0, startTimeoutMs: 0 })).not.toThrow();
  });
});
