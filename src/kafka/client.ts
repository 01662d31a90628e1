/**
 * The one place saferoads talks to kafkajs. Everything else uses these small types, so the client
 * library can be swapped (or its quirks fixed) here alone.
 */
import { isIP } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { crc32 } from 'node:zlib';
import kafkajs from 'kafkajs';
import type { Admin, Consumer as KjsConsumer, Kafka as KjsKafka, KafkaConfig, Message as KjsMessage, Producer as KjsProducer, SASLOptions } from 'kafkajs';
import { ConfigError, KafkaError, SaferoadsError } from '../errors.js';
import { chunkEnds, MAX_RECORD_BYTES, recordBytes } from './record-size.js';
import { type RetryInfo, TransientError, withRetry } from './retry.js';
import { type KafkaSecurity, tlsConnectionOptions } from './security.js';

const { Kafka, logLevel: KjsLogLevel, Partitioners, CompressionTypes, ConfigResourceTypes } = kafkajs;

export type LogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** One log record of the Kafka client library (kafkajs), for KafkaClientOptions.logger. */
export interface KafkaLogRecord {
  level: Exclude<LogLevel, 'nothing'>;
  /** The part of the client that logged: Consumer, Producer, Connection, BrokerPool… */
  namespace: string;
  message: string;
  /** The record's other fields (broker, groupId, error, retry counts…). */
  fields: Record<string, unknown>;
}

export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId?: string;
  logLevel?: LogLevel;
  /** Where the client library's log records go (up to logLevel); default: one line each on stderr. */
  logger?: (record: KafkaLogRecord) => void;
  /** Milliseconds to wait for a TCP connection. */
  connectionTimeoutMs?: number;
  /**
   * Most bytes (by recordBytes) of records in one produce request, 1 024 to 900 000 (the default):
   * Producer.send splits larger lists. Below the broker's default message.max.bytes (1 048 588).
   */
  maxRequestBytes?: number;
  /**
   * How long Producer.send keeps retrying a request through retriable broker trouble, ms from its
   * first failure (default 300 000), before it throws.
   */
  maxOutageMs?: number;
  /**
   * How long connecting and the admin calls (ensureTopics, partitionCount, offsets) retry retriable
   * errors (a broker or topic still starting), ms from the first failure (default 60 000).
   */
  startTimeoutMs?: number;
  /**
   * How long the first connection to the cluster retries brokers that cannot be reached (refused,
   * unknown host, timed out), ms (default 30 000, at most startTimeoutMs): a wrong address fails in
   * one line naming the cause (unreachableReason) instead of after startTimeoutMs.
   */
  reachTimeoutMs?: number;
  /** Called before each retry wait of a produce request or an admin call (to log it). */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Called whenever a broker answered a request of any consumer, producer or admin of this client
   * (a fetch, a heartbeat, a produce, metadata): evidence that Kafka is reachable. Cheap, often.
   */
  onContact?: () => void;
  /** TLS and SASL (resolveKafkaSecurity); default plaintext. */
  security?: KafkaSecurity;
}

/** KafkaClientOptions's tuning fields with their defaults applied, validated (clientSettings). */
interface ClientSettings {
  maxRequestBytes: number;
  maxOutageMs: number;
  startTimeoutMs: number;
  reachTimeoutMs: number;
}

export const DEFAULT_MAX_REQUEST_BYTES = MAX_RECORD_BYTES;
export const DEFAULT_MAX_OUTAGE_MS = 300_000;
export const DEFAULT_START_TIMEOUT_MS = 60_000;
export const DEFAULT_REACH_TIMEOUT_MS = 30_000;

/** The one place KafkaClientOptions are checked: a ConfigError naming the field for a bad value. */
function clientSettings(options: KafkaClientOptions): ClientSettings {
  const whole = (field: keyof KafkaClientOptions, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const value = options[field] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(field, `must be an integer from ${min} to ${max} (got ${String(value)})`);
    }
    return value;
  };
  return {
    // Below 1 kB almost every record would be a request of its own. Above MAX_RECORD_BYTES a request
    // gains nothing and nears the broker's default limit; it also keeps the one-record size check
    // (Producer.send) to the records that fill a request alone.
    maxRequestBytes: whole('maxRequestBytes', DEFAULT_MAX_REQUEST_BYTES, 1_024, MAX_RECORD_BYTES),
    maxOutageMs: whole('maxOutageMs', DEFAULT_MAX_OUTAGE_MS, 0),
    startTimeoutMs: whole('startTimeoutMs', DEFAULT_START_TIMEOUT_MS, 0),
    reachTimeoutMs: Math.min(whole('reachTimeoutMs', DEFAULT_REACH_TIMEOUT_MS, 0), whole('startTimeoutMs', DEFAULT_START_TIMEOUT_MS, 0)),
  };
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
  /**
   * Called when a fetch response came back (records or not): evidence that the partitions it did not
   * deliver have nothing new. Not called while the broker cannot be reached.
   */
  onFetch?: () => void;
  /**
   * kafkajs stopped the consumer after an error; `restarting` tells whether it starts it again
   * itself (retriable errors: a broker that went away) or gave up (the caller must act).
   */
  onCrash?: (error: unknown, restarting: boolean) => void;
  /**
   * The group drops a member that sent no heartbeat for this long (default 10 000 ms): how long the
   * partitions of a process killed outright wait for a new owner.
   */
  sessionTimeoutMs?: number;
  /** Longest wait of a fetch for new records, ms (default 1 000). */
  maxWaitTimeMs?: number;
  /** Fetch tuning (validated by fetchSettings); every field optional, the defaults unchanged. */
  fetch?: FetchOptions;
}

/**
 * Fetch tuning of a consumer (kafkajs's consumer and run() settings). Leaving a field out keeps
 * today's value: maxBytes 10 MiB, maxBytesPerPartition 1 MiB, minBytes 1, maxWaitTimeInMs the
 * consumer's maxWaitTimeMs (1 000), partitionsConsumedConcurrently 1.
 */
export interface FetchOptions {
  /** Most bytes one fetch response may hold, over all partitions (1 024 to 2^31 − 1). */
  maxBytes?: number;
  /** Most bytes one fetch response may hold per partition (1 024 to 2^31 − 1). */
  maxBytesPerPartition?: number;
  /** Bytes the broker waits for before it answers a fetch, up to maxWaitTimeInMs (1 to 2^31 − 1). */
  minBytes?: number;
  /** Longest wait of a fetch for minBytes, ms (0 to 60 000); overrides ConsumeOptions.maxWaitTimeMs. */
  maxWaitTimeInMs?: number;
  /**
   * Partitions whose batches are handed to onBatch at the same time (1 to 100): above 1, onBatch
   * calls of different partitions overlap (each partition's stay in order).
   */
  partitionsConsumedConcurrently?: number;
}

const FETCH_LIMITS: Readonly<Record<keyof FetchOptions, readonly [number, number]>> = {
  maxBytes: [1_024, 2 ** 31 - 1],
  maxBytesPerPartition: [1_024, 2 ** 31 - 1],
  minBytes: [1, 2 ** 31 - 1],
  maxWaitTimeInMs: [0, 60_000],
  partitionsConsumedConcurrently: [1, 100],
};

/**
 * The one place FetchOptions are checked: a ConfigError naming the field (`fetch.maxBytes`…) for an
 * unknown field or a value that is not an integer in range. Returns only the fields given.
 */
export function fetchSettings(fetch: FetchOptions | undefined): FetchOptions {
  if (fetch === undefined) return {};
  if (typeof fetch !== 'object' || fetch === null || Array.isArray(fetch)) {
    throw new ConfigError('fetch', `must be an object of fetch settings (got ${String(fetch)})`);
  }
  const out: FetchOptions = {};
  for (const [field, value] of Object.entries(fetch)) {
    const limits = (FETCH_LIMITS as Record<string, readonly [number, number] | undefined>)[field];
    if (limits === undefined) throw new ConfigError(`fetch.${field}`, `is not a fetch setting (known: ${Object.keys(FETCH_LIMITS).join(', ')})`);
    if (value === undefined) continue;
    const [min, max] = limits;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(`fetch.${field}`, `must be an integer from ${min} to ${max} (got ${String(value)})`);
    }
    out[field as keyof FetchOptions] = value;
  }
  return out;
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
  /** Fetch tuning (ConsumeOptions.fetch); default: unchanged. */
  fetch?: FetchOptions;
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
  // A new topic's leader before it took the partition on; ensureTopics waits it out.
  'is not the leader for that topic-partition',
];

/**
 * Failures KafkaClient reports itself, in one line that names the fix (a refused SASL login, a
 * broker certificate that is not trusted): kafkajs's own log lines about them would only repeat it.
 */
const REPORTED_BY_SAFEROADS = [
  /SASL \S+(?: \S+)? authentication failed/i,
  /SASL \S+ mechanism is not supported/i,
  /SaslAuthenticate.*Authentication failed/i,
  /certificate|altnames/i,
  // A broker that cannot be reached: the first connection fails in one line of its own (reach),
  // and the service logs an outage once when it begins and once when it ends (BrokerWatch), not
  // kafkajs's line per connection attempt and crash of each consumer, producer and admin.
  /Connection error|Connection timeout|Closed connection|connection closed|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE/i,
  /Failed to connect to seed broker|Request timed out|Restarting the consumer in|KafkaJSNumberOfRetriesExceeded/i,
];

/**
 * Why `error` says a broker could not be reached, in a few words ("connection refused", "host not
 * found", "connection timed out"), from its cause chain; undefined for any other error.
 */
export function unreachableReason(error: unknown): string | undefined {
  let e = error;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    const text = `${e.name} ${(e as { code?: unknown }).code ?? ''} ${e.message}`;
    if (/ECONNREFUSED/.test(text)) return 'connection refused';
    if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'host not found';
    if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'host unreachable';
    if (/ETIMEDOUT|Connection timeout/i.test(text)) return 'connection timed out';
    if (/ECONNRESET|EPIPE|Closed connection|connection closed|KafkaJSConnectionClosedError/i.test(text)) return 'connection closed';
    if (/KafkaJSConnectionError|Connection error/i.test(text)) return 'connection error';
    if (/Request timed out|KafkaJSRequestTimeoutError/i.test(text)) return 'request timed out';
    if (e.cause === e) break;
    e = e.cause;
  }
  return undefined;
}

function stderrLine({ namespace, message, fields }: KafkaLogRecord): void {
  process.stderr.write(`[kafkajs ${namespace}] ${message}${fields.error ? `: ${String(fields.error)}` : ''}\n`);
}

const LEVEL_NAME: Readonly<Record<number, KafkaLogRecord['level']>> = {
  [KjsLogLevel.ERROR]: 'error',
  [KjsLogLevel.WARN]: 'warn',
  [KjsLogLevel.INFO]: 'info',
  [KjsLogLevel.DEBUG]: 'debug',
};

function logCreator(level: number, sink: (record: KafkaLogRecord) => void = stderrLine) {
  return () =>
    ({ namespace, level: entryLevel, log }: { namespace: string; level: number; log: Record<string, unknown> }) => {
      if (entryLevel > level) return;
      const text = `${String(log.message)} ${String(log.error ?? '')}`;
      // Retried or reported by saferoads: shown only when debugging, and then as debug records.
      const expected = RETRIABLE_NOISE.some((n) => text.includes(n)) || REPORTED_BY_SAFEROADS.some((n) => n.test(text));
      if (level < KjsLogLevel.DEBUG && expected) return;
      const { message, timestamp: _t, logger: _l, level: _v, label: _b, stack, ...fields } = log;
      // A stack trace only when debugging: the error's message names what failed.
      if (level >= KjsLogLevel.DEBUG && stack !== undefined) fields.stack = stack;
      sink({ level: expected ? 'debug' : (LEVEL_NAME[entryLevel] ?? 'error'), namespace, message: String(message), fields });
    };
}

const LEVELS: Record<LogLevel, number> = {
  nothing: KjsLogLevel.NOTHING,
  error: KjsLogLevel.ERROR,
  warn: KjsLogLevel.WARN,
  info: KjsLogLevel.INFO,
  debug: KjsLogLevel.DEBUG,
};

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

/** records[start..end) as kafkajs messages (strings go as they are: kafkajs encodes them directly). */
function toMessages(records: readonly OutgoingRecord[], start: number, end: number): KjsMessage[] {
  const messages: KjsMessage[] = new Array(end - start);
  for (let i = start; i < end; i++) {
    const r = records[i];
    messages[i - start] = {
      key: r.key ?? null,
      value: r.value,
      headers: r.headers,
      partition: r.partition,
      timestamp: r.timestampMs === undefined ? undefined : String(r.timestampMs),
    };
  }
  return messages;
}

/**
 * Throws, naming the record, when one of `records` is larger than MAX_RECORD_BYTES. Only a record
 * that fills a chunk alone can be (maxRequestBytes is at most MAX_RECORD_BYTES), so only those are
 * measured again.
 */
function refuseOversizedRecords(topic: string, records: readonly OutgoingRecord[], ends: readonly number[]): void {
  for (let chunk = 0, start = 0; chunk < ends.length; start = ends[chunk++]) {
    if (ends[chunk] - start !== 1) continue;
    const bytes = recordBytes(records[start]);
    if (bytes > MAX_RECORD_BYTES) {
      const key = records[start].key;
      const shown = key === undefined || key === null ? null : typeof key === 'string' ? key.slice(0, 80) : key.toString('utf8', 0, 80);
      const named = shown === null ? 'without key' : `with key ${JSON.stringify(shown)}`;
      throw new KafkaError(
        `cannot produce to ${topic}: record ${start} of ${records.length} (${named}) takes ${bytes} bytes with its headers, ` +
          `more than the ${MAX_RECORD_BYTES} bytes one record may; nothing of this send was written`,
      );
    }
  }
}

/**
 * Node's codes for a broker certificate that does not verify against the CAs given: no retry can
 * help (kafkajs would report each as a retriable connection error and try for minutes).
 */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
]);

/** host and port of `host:port` or `[v6]:port`. */
function hostPort(broker: string): { host: string; port: number } {
  const i = broker.lastIndexOf(':');
  return { host: broker.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(broker.slice(i + 1)) };
}

/** One TLS handshake with `broker`: undefined when it succeeded, else the error (ETIMEDOUT after `timeoutMs`). */
function tlsHandshake(broker: string, options: ConnectionOptions, timeoutMs: number): Promise<NodeJS.ErrnoException | undefined> {
  const { host, port } = hostPort(broker);
  return new Promise((resolve) => {
    // As kafkajs connects: SNI with a host name, none with an address.
    const socket = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...options });
    const done = (error?: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(error);
    };
    const timer = setTimeout(() => done(Object.assign(new Error(`no TLS handshake within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('secureConnect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(error));
  });
}

/**
 * Shakes hands with the brokers in turn until one answers, and throws a non-retriable KafkaError
 * with the fix when its certificate is not trusted, does not name the host, or the port does not
 * speak TLS. Resolves true once a handshake succeeded, false when no broker could be reached (the
 * caller's connect then retries and reports that as usual).
 */
export async function checkBrokerCertificates(brokers: readonly string[], tls: KafkaSecurity['tls'] & object, timeoutMs: number): Promise<boolean> {
  const options = tlsConnectionOptions(tls);
  for (const broker of brokers) {
    const error = await tlsHandshake(broker, options, timeoutMs);
    if (error === undefined) return true;
    const code = error.code ?? '';
    // OpenSSL's messages span lines and name its source files: keep its reason ("wrong version number").
    const reason = /SSL routines:[^:]*:([^:]+):/.exec(error.message)?.[1] ?? error.message.split('\n')[0];
    const why = `${code ? `${code}: ` : ''}${reason}`;
    if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
      const ca = tls.caFile ? `the CA in --tls-ca ${tls.caFile}` : "Node's public CAs (no --tls-ca given)";
      throw new KafkaError(`cannot connect to Kafka at ${broker} over TLS: its certificate is not trusted by ${ca} (${why}); give the CA that signed the brokers' certificates with --tls-ca FILE`);
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      throw new KafkaError(`cannot connect to Kafka at ${broker} over TLS: its certificate does not name this host (${why}); connect by a name the certificate lists, or fix the certificate (--tls-no-verify-hostname skips this check, insecurely)`);
    }
    if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|unknown protocol/i.test(error.message)) {
      throw new KafkaError(`cannot connect to Kafka at ${broker} over TLS: the port does not speak TLS (${why}); is it a PLAINTEXT or SASL_PLAINTEXT listener? check --security-protocol and the port`);
    }
  }
  return false;
}

/** A refused SASL login (or a mechanism the broker does not offer) as one line with the fix; anything else as it is. */
function explainAuthFailure(error: unknown, brokers: readonly string[], security: KafkaSecurity | undefined): unknown {
  const sasl = security?.sasl;
  if (sasl === undefined || error instanceof SaferoadsError) return error;
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++, e = e.cause) {
    const message = e.message;
    if (e.name === 'KafkaJSSASLAuthenticationError' || /SASL .*(authentication failed|not supported)/i.test(message)) {
      const reason = message.replace(/^SASL \S+(?: \S+)? authentication failed: /i, '');
      const fix = /not supported|not enabled/i.test(message)
        ? 'choose a mechanism the listener enables with --sasl-mechanism'
        : 'check --sasl-username, the password (SAFEROADS_SASL_PASSWORD or --sasl-password-file) and --sasl-mechanism';
      return new KafkaError(
        `Kafka at ${brokers.join(',')} refused the SASL login of ${JSON.stringify(sasl.username)} with ${sasl.mechanism.toUpperCase()}: ${reason}; ${fix}`,
        { cause: e },
      );
    }
    if (e.cause === e) break;
  }
  return error;
}

function wrap<T>(what: string, promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    // Already one line of saferoads's own (a refused login, an untrusted certificate).
    if (error instanceof SaferoadsError) throw error;
    throw new KafkaError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
}

/** kafkajs's `ssl` and `sasl` settings for `security` (none for plaintext). */
function kafkajsSecurity(security: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (security === undefined) return {};
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security.tls) out.ssl = tlsConnectionOptions(security.tls);
  const sasl = security.sasl;
  if (sasl) {
    // A getter, so the password is read out of its Secret only when kafkajs authenticates: the
    // config object never holds it as a plain property that a debug dump would print.
    out.sasl = {
      mechanism: sasl.mechanism,
      username: sasl.username,
      get password() {
        return sasl.password.reveal();
      },
    } as SASLOptions;
  }
  return out;
}

export class KafkaClient {
  private readonly kafka: KjsKafka;
  private admin?: Admin;
  private readonly settings: ClientSettings;
  /** Resolved once a TLS handshake with a broker verified its certificate (checkBrokerCertificates). */
  private certificatesChecked = false;
  /** A broker answered once (reach). */
  private reached = false;
  private readonly config: KafkaConfig;

  constructor(readonly options: KafkaClientOptions) {
    this.settings = clientSettings(options);
    this.kafka = new Kafka((this.config = {
      brokers: [...options.brokers],
      clientId: options.clientId ?? 'saferoads',
      logLevel: LEVELS[options.logLevel ?? 'error'],
      logCreator: logCreator(LEVELS[options.logLevel ?? 'error'], options.logger),
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      ...kafkajsSecurity(options.security),
    }));
  }

  /**
   * Before the first connection over TLS: a certificate the client does not trust fails at once,
   * with the fix, instead of being retried as a connection error (kafkajs's view) until the start
   * timeout. Brokers that cannot be reached yet are left to the connect retries.
   */
  private async checkCertificates(): Promise<void> {
    const tls = this.options.security?.tls;
    if (tls === undefined || this.certificatesChecked) return;
    this.certificatesChecked = await checkBrokerCertificates(this.options.brokers, tls, this.options.connectionTimeoutMs ?? 3_000);
  }

  /** `connect()` of a kafkajs client, its certificates checked first and a refused login explained. */
  private async connectChecked(connect: () => Promise<void>): Promise<void> {
    await this.checkCertificates();
    try {
      await connect();
    } catch (error) {
      throw explainAuthFailure(error, this.options.brokers, this.options.security);
    }
  }

  /**
   * `fn` retried through retriable errors for up to startTimeoutMs: the calls made while starting,
   * when the broker, a new topic's leaders or the group coordinator may not be ready yet.
   */
  private startRetry<T>(what: string, fn: () => Promise<T>, initialDelayMs?: number): Promise<T> {
    return withRetry(what, fn, { deadlineMs: this.settings.startTimeoutMs, onRetry: this.options.onRetry, initialDelayMs });
  }

  /**
   * Before the first connection: waits, up to reachTimeoutMs, until a broker answers at all (with
   * kafkajs's own retries off, so that the limit holds to the second), and throws one KafkaError
   * naming the cause and the fix when none does. A broker that answers but is not ready yet, or
   * refuses the login, is left to the connect that follows (startTimeoutMs, its own messages).
   */
  private async reach(): Promise<void> {
    if (this.reached) return;
    const brokers = this.options.brokers.join(',');
    await withRetry(
      `reach Kafka at ${brokers}`,
      async () => {
        // Its own kafkajs client: an admin's retry setting does not reach its connect.
        const probe = new Kafka({ ...this.config, retry: { retries: 0 } }).admin();
        try {
          await this.connectChecked(() => probe.connect());
        } catch (error) {
          if (unreachableReason(error) !== undefined) throw error;
        } finally {
          await probe.disconnect().catch(() => undefined);
        }
      },
      { deadlineMs: this.settings.reachTimeoutMs, onRetry: this.options.onRetry },
    ).catch((error: unknown) => {
      const reason = unreachableReason(error);
      if (reason === undefined) throw error;
      const s = Number((this.settings.reachTimeoutMs / 1000).toFixed(1));
      throw new KafkaError(`cannot reach Kafka at ${brokers}: ${reason}; check --brokers (or KAFKA_BROKERS) and that Kafka runs there (retried for ${s} s)`, { cause: error });
    });
    this.reached = true;
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      await this.reach();
      const admin = await this.startRetry(`connect to Kafka at ${this.options.brokers.join(',')}`, async () => {
        // A fresh admin per attempt: nothing of a failed connect is left to reuse.
        const attempt = this.kafka.admin();
        const onContact = this.options.onContact;
        if (onContact) attempt.on(attempt.events.REQUEST, () => onContact());
        try {
          await this.connectChecked(() => attempt.connect());
          return attempt;
        } catch (error) {
          await attempt.disconnect().catch(() => undefined);
          throw error;
        }
      });
      // Two calls may have connected at once: keep one admin, close the other.
      if (this.admin) await admin.disconnect().catch(() => undefined);
      else this.admin = admin;
    }
    return this.admin;
  }

  /**
   * Creates the topics that do not exist yet (existing ones are left as they are) and waits until
   * every partition of those it created has a leader, so that the first produce or fetch does not
   * meet "no leader". Retries a broker or cluster that is still starting, up to startTimeoutMs.
   */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin = await this.connectedAdmin();
    // Every topic this call asked for, also in an attempt whose answer was lost: its leaders are awaited.
    const created = new Set<string>();
    await this.startRetry(`create topics ${specs.map((s) => s.topic).join(', ')}`, async () => {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length === 0) return;
      for (const s of missing) created.add(s.topic);
      // A topic that another process created meanwhile makes kafkajs answer false, not fail.
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions ?? 1,
          configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    });
    if (created.size > 0) await this.waitForLeaders(admin, [...created]);
  }

  /**
   * Waits until metadata shows a leader for every partition of `topics` and each leader answers for
   * its partitions. kafkajs's own wait (createTopics waitForLeaders) gives up after its request
   * timeout and does not cover a topic the broker does not list yet; this one lasts up to
   * startTimeoutMs.
   */
  private async waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
    await this.startRetry(
      `wait for the leaders of ${topics.join(', ')}`,
      async () => {
        const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
        for (const topic of topics) {
          const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
          const led = partitions.filter((p) => p.leader >= 0).length;
          if (partitions.length === 0 || led < partitions.length) {
            throw new TransientError(`${topic} has a leader for ${led} of its ${partitions.length} partitions`);
          }
        }
        // Metadata names a leader before that broker has taken the partition on (KRaft): a produce
        // then meets NOT_LEADER_OR_FOLLOWER, and kafkajs's retry of the whole request writes the
        // partitions that did succeed twice. Listing offsets asks each leader itself.
        for (const topic of topics) await admin.fetchTopicOffsets(topic);
      },
      // Leaders usually follow creation within a few hundred milliseconds: look again soon.
      50,
    );
  }

  async listTopics(): Promise<string[]> {
    const admin = await this.connectedAdmin();
    return this.startRetry('list topics', () => admin.listTopics());
  }

  /**
   * A producer (acks from all in-sync replicas). send() splits the records, in order, into requests
   * of at most maxRequestBytes (recordBytes) and sends them one after the other; it refuses, before
   * sending anything, a record larger than MAX_RECORD_BYTES (dead letters are cut to fit it by
   * deadLetterRecord). Each request is retried through retriable broker trouble for up to maxOutageMs
   * from its first failure. A retried request may have been written before its answer was lost, so a
   * record may arrive twice: delivery is at least once, as the pipeline's restart is anyway.
   */
  async producer(): Promise<Producer> {
    const producer: KjsProducer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    const onContact = this.options.onContact;
    if (onContact) producer.on(producer.events.REQUEST, () => onContact());
    await this.startRetry(`connect the producer to Kafka at ${this.options.brokers.join(',')}`, () => this.connectChecked(() => producer.connect()));
    const { maxRequestBytes, maxOutageMs } = this.settings;
    const onRetry = this.options.onRetry;
    // close() ends the retry waits of sends in flight at once, instead of up to maxOutageMs later.
    const closing = new AbortController();
    return {
      send: async (topic, records) => {
        const ends = chunkEnds(records, maxRequestBytes);
        refuseOversizedRecords(topic, records, ends);
        for (let chunk = 0, start = 0; chunk < ends.length; start = ends[chunk++]) {
          const end = ends[chunk];
          const what =
            ends.length === 1 ? `produce to ${topic}` : `produce records ${start}..${end - 1} of ${records.length} to ${topic}`;
          const messages = toMessages(records, start, end);
          await withRetry(
            what,
            () => {
              // kafkajs would say "The producer is disconnected", which it marks retriable.
              if (closing.signal.aborted) throw new KafkaError(`cannot ${what}: the producer is closed`);
              return producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
            },
            { deadlineMs: maxOutageMs, onRetry, signal: closing.signal },
          );
        }
      },
      close: () => {
        closing.abort();
        return producer.disconnect();
      },
    };
  }

  consume(options: ConsumeOptions): Promise<Consumer> {
    return this.startConsumer(options, () => undefined);
  }

  /** consume(), plus a hook once run() has started (kafkajs can seek only a running consumer). */
  private async startConsumer(options: ConsumeOptions, onStart: (consumer: KjsConsumer) => void): Promise<Consumer> {
    const fetch = fetchSettings(options.fetch);
    const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
    // A third of the session timeout at most, as the Java client recommends.
    const heartbeatInterval = Math.max(100, Math.min(3_000, Math.floor(sessionTimeout / 3)));
    const consumer: KjsConsumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout,
      heartbeatInterval,
      maxWaitTimeInMs: fetch.maxWaitTimeInMs ?? options.maxWaitTimeMs ?? 1_000,
      // Only the fetch settings given: kafkajs's defaults otherwise.
      ...(fetch.maxBytes === undefined ? {} : { maxBytes: fetch.maxBytes }),
      ...(fetch.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: fetch.maxBytesPerPartition }),
      ...(fetch.minBytes === undefined ? {} : { minBytes: fetch.minBytes }),
    });
    await wrap('cannot connect the consumer', this.connectChecked(() => consumer.connect()));
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
    const onFetch = options.onFetch;
    if (onFetch) consumer.on(consumer.events.FETCH, () => onFetch());
    const onContact = this.options.onContact;
    if (onContact) consumer.on(consumer.events.REQUEST, () => onContact());
    const onCrash = options.onCrash;
    if (onCrash) consumer.on(consumer.events.CRASH, (event) => onCrash(event.payload.error, event.payload.restart));
    await wrap(
      'cannot start the consumer',
      consumer.run({
        autoCommit: options.autoCommit ?? true,
        eachBatchAutoResolve: true,
        ...(fetch.partitionsConsumedConcurrently === undefined ? {} : { partitionsConsumedConcurrently: fetch.partitionsConsumedConcurrently }),
        eachBatch: async ({ batch, isStale, heartbeat }) => {
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
          // kafkajs heartbeats only between batches: while a long step runs (a flood of dead letters,
          // outputs waiting for a broker) keep the membership alive, or the group would hand the
          // partitions to another member in the middle of it.
          const beat = setInterval(() => void heartbeat().catch(() => undefined), heartbeatInterval);
          try {
            await options.onBatch(records, {
              topic: batch.topic,
              partition: batch.partition,
              highWatermark: BigInt(batch.highWatermark),
            });
          } finally {
            clearInterval(beat);
          }
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
  /** A topic's configuration value `name` as the broker reports it (undefined: not reported). */
  async topicConfig(topic: string, name: string): Promise<string | undefined> {
    const admin = await this.connectedAdmin();
    const { resources } = await this.startRetry(`read the configuration of ${topic}`, () =>
      admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }] }),
    );
    return resources[0]?.configEntries.find((e) => e.configName === name)?.configValue ?? undefined;
  }

  async partitionCount(topic: string): Promise<number> {
    const admin = await this.connectedAdmin();
    const { topics } = await this.startRetry(`read the metadata of ${topic}`, () => admin.fetchTopicMetadata({ topics: [topic] }));
    return topics[0].partitions.length;
  }

  /** The next offset to be written, per partition. */
  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    const admin = await this.connectedAdmin();
    const offsets = await this.startRetry(`read the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  }

  /** The earliest offset still in the log, per partition. */
  async startOffsets(topic: string): Promise<Map<number, bigint>> {
    const admin = await this.connectedAdmin();
    const offsets = await this.startRetry(`read the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, BigInt(o.low)]));
  }

  /** A group's committed offsets (and their metadata) for a topic. */
  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const admin = await this.connectedAdmin();
    const [result] = await this.startRetry(`read the committed offsets of group ${groupId}`, () =>
      admin.fetchOffsets({ groupId, topics: [topic] }),
    );
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
        fetch: options.fetch,
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
 * The producers' default partitioners saferoads knows: murmur2 (the Java client, kafkajs's
 * DefaultPartitioner) and crc32 (librdkafka's consistent_random for keyed records: Python
 * confluent-kafka, Go, C/C++, kcat).
 */
export const PARTITIONERS = ['murmur2', 'crc32'] as const;
export type PartitionerName = (typeof PARTITIONERS)[number];

/** The partition `partitioner` gives `key` on a topic of `partitions` partitions. */
export function keyPartitionWith(partitioner: PartitionerName, key: string, partitions: number): number {
  // librdkafka: rd_crc32(key) % partition count (unsigned), as zlib's crc32.
  return partitioner === 'crc32' ? crc32(key) % partitions : keyPartition(key, partitions);
}

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
