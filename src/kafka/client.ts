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
}

export interface Consumer {
  /** Resolves once the consumer is running (joined its group). */
  readonly ready: Promise<void>;
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

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const consumer: KjsConsumer = this.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
    await wrap('cannot connect the consumer', consumer.connect());
    await wrap(
      `cannot subscribe to ${options.topics.join(', ')}`,
      consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? false }),
    );
    let joined!: () => void;
    const ready = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await wrap(
      'cannot start the consumer',
      consumer.run({
        autoCommit: options.autoCommit ?? true,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
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
    return { ready, close: () => consumer.disconnect() };
  }

  async close(): Promise<void> {
    await this.admin?.disconnect();
    this.admin = undefined;
  }
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
