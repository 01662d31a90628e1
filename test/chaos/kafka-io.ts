/**
 * The fault suite's Kafka plumbing: topics, whole-topic reads, cheap progress polls. Every call
 * takes the broker list (the broker-bounce case runs its own broker, not the shared one) and opens
 * its own short-lived client, so a broker outage costs one failed call, never a wedged client.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { type IncomingRecord, KafkaClient } from '../../src/kafka/client.js';
import { serviceTopics, type ServiceTopics } from '../kafka/helpers.js';

const { Kafka, logLevel, Partitioners, CompressionTypes } = kafkajs;

export type ChaosTopics = ServiceTopics;

/** Fresh topic names (and a consumer group) for one run. */
export function chaosTopics(tag: string): ChaosTopics {
  return serviceTopics(`chaos-${tag}-${randomUUID().slice(0, 8)}`);
}

async function withClient<T>(brokers: readonly string[], use: (client: KafkaClient) => Promise<T>): Promise<T> {
  const client = new KafkaClient({ brokers, clientId: 'saferoads-chaos', logLevel: 'nothing' });
  try {
    return await use(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Creates the run's topics as the service would (car and output with `partitions`, the others with
 * one, no special config: the DLQs keep the broker's default maximum record size).
 */
export function createTopics(brokers: readonly string[], t: ChaosTopics, partitions: number): Promise<void> {
  return withClient(brokers, (client) =>
    client.ensureTopics([
      { topic: t.car, partitions },
      { topic: t.weather, partitions: 1 },
      { topic: t.output, partitions },
      { topic: t.carDlq, partitions: 1 },
      { topic: t.weatherDlq, partitions: 1 },
    ]),
  );
}

/** A record for the input topics: keyed (the default partitioner places it) or with an explicit partition. */
export interface InputRecord {
  key: string | null;
  value: string | Buffer;
  partition?: number;
}

export interface InputProducer {
  send(topic: string, records: readonly InputRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The harness's producer of input, on kafkajs directly (not the service's adapter, which the fault
 * work changes): idempotent, so a request kafkajs retries (a partition without a leader yet, a
 * broker restarting) is never written twice — a plain producer retrying a request whose other
 * partitions were already written duplicates those records, and the input would differ from run to
 * run. Keys go through the default (murmur2, Java-compatible) partitioner, as the service requires.
 */
export async function inputProducer(brokers: readonly string[]): Promise<InputProducer> {
  const kafka = new Kafka({ brokers: [...brokers], clientId: 'saferoads-chaos-producer', logLevel: logLevel.NOTHING, connectionTimeout: 3_000 });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return {
    send: async (topic, records) => {
      await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: records.map((r) => ({ key: r.key, value: r.value, partition: r.partition })),
      });
    },
    close: () => producer.disconnect(),
  };
}

/** A value at least this large goes to Kafka alone in its request (a batch must fit max.message.bytes). */
export const ALONE_BYTES = 64 * 1024;

function valueBytes(r: { value: string | Buffer }): number {
  return typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length;
}

/**
 * Where the chunk starting at `start` ends: at most `max` records up to `limit` (exclusive), and a
 * large record (ALONE_BYTES) is a chunk of its own — sent with others, the partition's batch could
 * exceed the broker's maximum (1 048 588 bytes by default) although the record alone fits.
 */
export function chunkEnd(records: readonly { value: string | Buffer }[], start: number, max: number, limit = records.length): number {
  if (start < limit && valueBytes(records[start]!) >= ALONE_BYTES) return start + 1;
  let end = start;
  while (end < limit && end - start < max && valueBytes(records[end]!) < ALONE_BYTES) end++;
  return end;
}

/** Produces `records` in order (chunks sent one after the other: per-partition order is kept). */
export async function produceAll(brokers: readonly string[], topic: string, records: readonly InputRecord[], chunk = 2000): Promise<void> {
  const producer = await inputProducer(brokers);
  try {
    for (let i = 0; i < records.length; ) {
      const end = chunkEnd(records, i, chunk);
      await producer.send(topic, records.slice(i, end));
      i = end;
    }
  } finally {
    await producer.close();
  }
}

/** The next offset to be written, per partition (in partition order). */
export async function endOffsets(brokers: readonly string[], topic: string): Promise<bigint[]> {
  const map = await withClient(brokers, (client) => client.endOffsets(topic));
  return [...map.entries()].sort((a, b) => a[0] - b[0]).map(([, o]) => o);
}

/** Records on the topic now (sum of end offsets; every topic of the suite starts at offset 0). */
export async function recordCount(brokers: readonly string[], topic: string): Promise<number> {
  return (await endOffsets(brokers, topic)).reduce((a, b) => a + Number(b), 0);
}

/**
 * Reads partitions of `topic` from `from` (default: the start) up to the end offsets of the moment
 * of the call, outside any shared group. Throws if that takes longer than `timeoutMs`.
 */
export async function readTopic(
  brokers: readonly string[],
  topic: string,
  options: { from?: ReadonlyMap<number, bigint>; timeoutMs?: number } = {},
): Promise<IncomingRecord[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return withClient(brokers, async (client) => {
    const until = await client.endOffsets(topic);
    const got: IncomingRecord[] = [];
    const reader = await client.read({ topic, from: options.from, until, follow: false, onBatch: async (records) => void got.push(...records) });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        reader.caughtUp,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`reading ${topic}: ${got.length} records in ${timeoutMs} ms, not caught up`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await reader.close().catch(() => undefined);
    }
    return got.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  });
}

/**
 * Follows a topic by polling: each `read()` returns what arrived since the last one (one partition
 * position per partition), so a whole-topic view costs one pass over the data in total.
 */
export class TopicFollower {
  private readonly position = new Map<number, bigint>();
  readonly records: IncomingRecord[] = [];

  constructor(
    private readonly brokers: readonly string[],
    readonly topic: string,
  ) {}

  /** Reads what is new; returns how many records came. Throws when the broker does not answer. */
  async poll(timeoutMs = 60_000): Promise<number> {
    const fresh = await readTopic(this.brokers, this.topic, { from: this.position, timeoutMs });
    for (const r of fresh) {
      const next = r.offset + 1n;
      if (next > (this.position.get(r.partition) ?? 0n)) this.position.set(r.partition, next);
    }
    this.records.push(...fresh);
    return fresh.length;
  }
}
