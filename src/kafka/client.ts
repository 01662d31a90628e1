/**
 * The one place saferoads talks to kafkajs. Everything else uses these small types, so the client
 * library can be swapped (or its quirks fixed) here alone.
 */
import kafkajs from 'kafkajs';
import type { Admin, Consumer as KjsConsumer, Kafka as KjsKafka, Producer as KjsProducer } from 'kafkajs';
import { KafkaError } from '../errors.js';

const { Kafka, logLevel: KjsLogLevel, Partitioners, CompressionTypes } = kafkajs;

export type LogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId?: string;
  logLevel?: LogLevel;
  /** Milliseconds to wait for a TCP connection. */
  connectionTimeoutMs?: number;
}

export type Bytes = Buffer | string;

export interface OutgoingRecord {
  key?: Bytes | null;
  value: Bytes | null;
  headers?: Record<string, Bytes>;
  partition?: number;
  /** Record timestamp, epoch milliseconds; default: now. */
  timestampMs?: number;
}

export interface IncomingRecord {
  topic: string;
  partition: number;
  /** Offsets are 64-bit: kept as bigint. */
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  timestampMs: number;
}

export interface TopicSpec {
  topic: string;
  partitions?: number;
  config?: Record<string, string>;
}

export interface Producer {
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumeOptions {
  groupId: string;
  topics: readonly string[];
  fromBeginning?: boolean;
  /** Called with each fetched batch of one partition, in offset order. */
  onBatch: (records: IncomingRecord[], batch: { topic: string; partition: number; highWatermark: bigint }) => Promise<void>;
  /** Commit offsets automatically after each batch (default true). */
  autoCommit?: boolean;
  /** Called after each group join with the partitions assigned to this member, per topic. */
  onAssignment?: (assignment: Record<string, number[]>) => void;
}

export interface Consumer {
  /** Resolves once the consumer is running (joined its group). */
  readonly ready: Promise<void>;
  /** Commits offsets (the next offset to read) with optional metadata, for this consumer's group. */
  commit(offsets: readonly CommitOffset[]): Promise<void>;
  /** Reads `partition` from `offset` next (batches fetched before are dropped, not delivered). */
  seek(topic: string, partition: number, offset: bigint): void;
  /** Stops fetching a partition (records already delivered are the caller's). */
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  close(): Promise<void>;
}

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: bigint;
  /** Free text stored with the offset (saferoads keeps its restart state here). */
  metadata?: string;
}

export interface CommittedOffset {
  partition: number;
  /** -1n when the group has no offset for the partition. */
  offset: bigint;
  metadata: string | null;
}

export interface ReadOptions {
  topic: string;
  /** First offset per partition; partitions not listed start at the earliest offset. */
  from?: ReadonlyMap<number, bigint>;
  /**
   * The partitions to read, each up to this offset (exclusive); when every one reached it, `caughtUp`
   * resolves. Partitions not listed are not read.
   */
  until: ReadonlyMap<number, bigint>;
  /** Keep reading past `until` (live updates) instead of stopping there. */
  follow: boolean;
  onBatch: ConsumeOptions['onBatch'];
}

export interface Reader {
  /** Resolves when every partition reached its `until` offset. */
  readonly caughtUp: Promise<void>;
  close(): Promise<void>;
}

/**
 * kafkajs logs some retriable conditions at ERROR while it retries them (a group coordinator that
 * is still loading right after a broker starts). They are noise unless debugging.
 */
const RETRIABLE_NOISE = [
  'coordinator is not available',
  'coordinator is loading',
  'There is no leader for this topic-partition',
  'does not host this topic-partition',
];

function logCreator(level: number) {
  return () =>
    ({ namespace, level: entryLevel, log }: { namespace: string; level: number; log: Record<string, unknown> }) => {
      if (entryLevel > level) return;
      const text = `${String(log.message)} ${String(log.error ?? '')}`;
      if (level < KjsLogLevel.DEBUG && RETRIABLE_NOISE.some((n) => text.includes(n))) return;
      process.stderr.write(`[kafkajs ${namespace}] ${String(log.message)}${log.error ? `: ${String(log.error)}` : ''}\n`);
    };
}

const LEVELS: Record<LogLevel, number> = {
  nothing: KjsLogLevel.NOTHING,
  error: KjsLogLevel.ERROR,
  warn: KjsLogLevel.WARN,
  info: KjsLogLevel.INFO,
  debug: KjsLogLevel.DEBUG,
};

function toBuffer(value: Bytes): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

function normaliseHeaders(headers: Record<string, unknown> | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    // kafkajs gives an array when a header name repeats; the last value wins, as in Java's lastHeader.
    const v = Array.isArray(value) ? value.at(-1) : value;
    out[name] = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
  }
  return out;
}

function wrap<T>(what: string, promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    throw new KafkaError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
}

export class KafkaClient {
  private readonly kafka: KjsKafka;
  private admin?: Admin;

  constructor(readonly options: KafkaClientOptions) {
    this.kafka = new Kafka({
      brokers: [...options.brokers],
      clientId: options.clientId ?? 'saferoads',
      logLevel: LEVELS[options.logLevel ?? 'error'],
      logCreator: logCreator(LEVELS[options.logLevel ?? 'error']),
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    });
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await wrap(`cannot connect to Kafka at ${this.options.brokers.join(',')}`, admin.connect());
      this.admin = admin;
    }
    return this.admin;
  }

  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin = await this.connectedAdmin();
    const existing = new Set(await wrap('cannot list topics', admin.listTopics()));
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await wrap(
      `cannot create topics ${missing.map((s) => s.topic).join(', ')}`,
      admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions ?? 1,
          configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      }),
    );
  }

  async listTopics(): Promise<string[]> {
    return wrap('cannot list topics', (await this.connectedAdmin()).listTopics());
  }

  async producer(): Promise<Producer> {
    const producer: KjsProducer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await wrap('cannot connect the producer', producer.connect());
    return {
      send: async (topic, records) => {
        await wrap(
          `cannot produce to ${topic}`,
          producer.send({
            topic,
            acks: -1,
            compression: CompressionTypes.None,
            messages: records.map((r) => ({
              key: r.key === undefined || r.key === null ? null : toBuffer(r.key),
              value: r.value === null ? null : toBuffer(r.value),
              headers: r.headers,
              partition: r.partition,
              timestamp: r.timestampMs === undefined ? undefined : String(r.timestampMs),
            })),
          }),
        );
      },
      close: () => producer.disconnect(),
    };
  }

  consume(options: ConsumeOptions): Promise<Consumer> {
    return this.startConsumer(options, () => undefined);
  }

  /** consume(), plus a hook once run() has started (kafkajs can seek only a running consumer). */
  private async startConsumer(options: ConsumeOptions, onStart: (consumer: KjsConsumer) => void): Promise<Consumer> {
    const consumer: KjsConsumer = this.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
    await wrap('cannot connect the consumer', consumer.connect());
    await wrap(
      `cannot subscribe to ${options.topics.join(', ')}`,
      consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? false }),
    );
    let joined!: () => void;
    const ready = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      options.onAssignment?.(event.payload.memberAssignment);
      joined();
    });
    await wrap(
      'cannot start the consumer',
      consumer.run({
        autoCommit: options.autoCommit ?? true,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch, isStale }) => {
          // A seek made this batch stale: its records come again from the new position.
          if (isStale()) return;
          const records: IncomingRecord[] = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: BigInt(m.offset),
            key: m.key ?? null,
            value: m.value ?? null,
            headers: normaliseHeaders(m.headers),
            timestampMs: Number(m.timestamp),
          }));
          await options.onBatch(records, {
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: BigInt(batch.highWatermark),
          });
        },
      }),
    );
    onStart(consumer);
    return {
      ready,
      commit: (offsets) =>
        wrap(
          'cannot commit offsets',
          consumer.commitOffsets(
            offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset.toString(), metadata: o.metadata ?? null })),
          ),
        ),
      seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset: offset.toString() }),
      pause: (topic, partition) => consumer.pause([{ topic, partitions: [partition] }]),
      resume: (topic, partition) => consumer.resume([{ topic, partitions: [partition] }]),
      close: () => consumer.disconnect(),
    };
  }

  /** Partitions of a topic. */
  async partitionCount(topic: string): Promise<number> {
    const admin = await this.connectedAdmin();
    const { topics } = await wrap(`cannot read metadata of ${topic}`, admin.fetchTopicMetadata({ topics: [topic] }));
    return topics[0].partitions.length;
  }

  /** The next offset to be written, per partition. */
  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    const admin = await this.connectedAdmin();
    const offsets = await wrap(`cannot read offsets of ${topic}`, admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  }

  /** The earliest offset still in the log, per partition. */
  async startOffsets(topic: string): Promise<Map<number, bigint>> {
    const admin = await this.connectedAdmin();
    const offsets = await wrap(`cannot read offsets of ${topic}`, admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, BigInt(o.low)]));
  }

  /** A group's committed offsets (and their metadata) for a topic. */
  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const admin = await this.connectedAdmin();
    const [result] = await wrap(`cannot read committed offsets of group ${groupId}`, admin.fetchOffsets({ groupId, topics: [topic] }));
    return (result?.partitions ?? []).map((p) => ({ partition: p.partition, offset: BigInt(p.offset), metadata: p.metadata }));
  }

  /**
   * Reads every partition of a topic from given offsets, outside any shared group (global state,
   * rebuilds): a private consumer group that never commits. Records before `from` are skipped.
   */
  async read(options: ReadOptions): Promise<Reader> {
    const { topic, until } = options;
    const reached = new Set<number>();
    for (const [partition, end] of until) if (end <= (options.from?.get(partition) ?? 0n)) reached.add(partition);
    let caughtUp!: () => void;
    const caught = new Promise<void>((resolve) => (caughtUp = resolve));
    const checkCaughtUp = () => {
      if (reached.size >= until.size) caughtUp();
    };
    checkCaughtUp();
    const groupId = `saferoads-reader-${topic}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const seeks = [...(options.from ?? new Map<number, bigint>())];
    const consumer = await this.startConsumer(
      {
        groupId,
        topics: [topic],
        fromBeginning: true,
        autoCommit: false,
        onBatch: async (records, batch) => {
          const end = until.get(batch.partition);
          // A partition not listed in `until` is not read (and does not count towards caughtUp).
          if (end === undefined) return;
          const from = options.from?.get(batch.partition) ?? 0n;
          const wanted = records.filter((r) => r.offset >= from && (options.follow || r.offset < end));
          if (wanted.length > 0) await options.onBatch(wanted, batch);
          const last = records.at(-1);
          if (last && last.offset + 1n >= end && !reached.has(batch.partition)) {
            reached.add(batch.partition);
            checkCaughtUp();
          }
        },
      },
      (kjs) => {
        for (const [partition, offset] of seeks) kjs.seek({ topic, partition, offset: offset.toString() });
      },
    );
    return { caughtUp: caught, close: () => consumer.close() };
  }

  async close(): Promise<void> {
    await this.admin?.disconnect();
    this.admin = undefined;
  }
}

const keyPartitioner = Partitioners.DefaultPartitioner();

/**
 * The partition the producers' default partitioner (murmur2, as in the Java client) gives `key` on a
 * topic of `partitions` partitions: where a point's records land, so who owns the point.
 */
export function keyPartition(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return keyPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}

/** True when a broker at `brokers` answers a metadata request within `timeoutMs`. */
export async function probeCluster(brokers: readonly string[], timeoutMs: number): Promise<boolean> {
  const kafka = new Kafka({
    brokers: [...brokers],
    clientId: 'saferoads-probe',
    logLevel: KjsLogLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
