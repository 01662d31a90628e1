import { ConfigError } from '../errors.js';
import type { RiskRecord } from '../join/types.js';
import type { WindowSpecOptions } from '../kernel/window-spec.js';
import { DEFAULT_MODEL_PATH } from '../model/risk-model.js';
import { DEFAULT_RISK_LEVELS, type RiskLevels } from '../model/risk-levels.js';
import { availableParallelism } from 'node:os';
import { DEFAULT_MAX_OUTAGE_MS, PARTITIONERS, type PartitionerName } from '../kafka/client.js';
import type { KafkaSecurity } from '../kafka/security.js';
import type { ServiceObserver } from '../observe/observability.js';
import type { LogTarget } from '../observe/log.js';

/** Everything `saferoads run` can be told (flags and SAFEROADS_* variables map onto these). */
export interface ServiceOptions {
  brokers: string[];
  /** TLS and SASL to the brokers (resolveKafkaSecurity); default plaintext. */
  security?: KafkaSecurity;
  clientId: string;
  /** Consumer group of the car topic: instances with the same id share its partitions. */
  groupId: string;
  carTopic: string;
  weatherTopic: string;
  outputTopic: string;
  carDlqTopic: string;
  weatherDlqTopic: string;
  /** Partitions of the car and output topics when saferoads creates them. */
  inputPartitions: number;
  /** Road-points CSV. */
  pointsPath: string;
  /** Risk model JSON; watched while running: a change takes over at a window boundary (model-control.ts). */
  modelPath: string;
  /** A second model JSON scored beside the active one (risk.shadow), watched like modelPath; none by default. */
  shadowModelPath?: string;
  /**
   * Compacted control topic of models (key `active` or `shadow`, value a model JSON; a tombstone on
   * `shadow` removes the shadow), read whole by every instance; its dead letters go to `<topic>.dlq`.
   */
  modelsTopic: string;
  /** How often the model files are looked at for a change, ms. */
  modelWatchIntervalMs: number;
  /**
   * Score bands (LOW / ELEVATED / HIGH): the shadow comparison counts rows whose two scores fall in
   * different bands; the dashboard shows them. Not given: the --model file's `levels`, else 0.3, 0.6.
   */
  riskLevels: RiskLevels;
  /** Worker threads, each owning one WASM kernel and the points routed to it. */
  shards: number;
  /**
   * Offsets are committed (with their restart points) at most this often, once the outputs they
   * depend on are acknowledged: a smaller value re-reads less after a crash, a larger one costs less.
   */
  commitIntervalMs: number;
  /**
   * The group hands the partitions of an instance that stopped heart-beating (killed outright) to
   * the others after this long; a graceful stop hands them over at once.
   */
  sessionTimeoutMs: number;
  /**
   * How long Kafka may be unreachable (no broker answered any request) before the service gives up
   * (`failed` rejects; the CLI exits 1), ms; also how long a produce request is retried. The first
   * connection gives up after 30 s, or this if shorter (--max-broker-outage, in seconds).
   */
  maxOutageMs: number;
  /**
   * A finite replay (a backtest): read every assigned partition up to its end offset as of the
   * assignment, close every window up to the last event, publish and commit, then `finished`
   * resolves. Meant for one instance.
   */
  untilEnd: boolean;
  /**
   * The partitioner of the producers of the car topic: which partition owns a point no event of
   * which was seen yet (its count-0 rows are published by that partition's owner). A point's rows
   * otherwise follow the partition its events arrive on.
   */
  partitioner: PartitionerName;
  windows: Partial<WindowSpecOptions>;
  timeZone: string;
  /** Country code for public holidays (date-holidays), or a list of local dates YYYY-MM-DD. */
  holidays: string | string[];
  /** Called for every published record (the CLI prints live scores with it). */
  onRecord?: (record: RiskRecord) => void;
  /**
   * Where the service logs: a function given one line of text each (the default writes them to
   * stderr), or a logger (src/observe/log.ts) given structured records (msg and fields).
   */
  log: LogTarget;
  onError: (error: unknown) => void;
  /** Metrics and health (`--http`); none by default. The caller owns its lifecycle. */
  observer?: ServiceObserver;
}

/** Shards by default: one core stays with the host thread (Kafka I/O, decode, join). */
export function defaultShards(): number {
  return Math.max(1, availableParallelism() - 1);
}

export const DEFAULT_SERVICE_OPTIONS = Object.freeze({
  clientId: 'saferoads',
  groupId: 'saferoads',
  carTopic: 'car',
  weatherTopic: 'weather',
  outputTopic: 'road-risk',
  carDlqTopic: 'car.dlq',
  weatherDlqTopic: 'weather.dlq',
  modelsTopic: 'saferoads.models',
  modelWatchIntervalMs: 1000,
  riskLevels: DEFAULT_RISK_LEVELS,
  inputPartitions: 3,
  commitIntervalMs: 1000,
  // The broker's smallest session by default (group.min.session.timeout.ms): the fastest takeover
  // after kill -9. kafkajs heartbeats also while a long step runs, so a busy instance stays in.
  sessionTimeoutMs: 6000,
  maxOutageMs: DEFAULT_MAX_OUTAGE_MS,
  untilEnd: false,
  partitioner: 'murmur2' as PartitionerName,
  modelPath: DEFAULT_MODEL_PATH,
  windows: Object.freeze({}),
  timeZone: 'Europe/Warsaw',
  holidays: 'PL',
  log: (line: string) => process.stderr.write(`${line}\n`),
  onError: () => undefined,
});

/** Fills defaults and checks every option. `brokers` may still be empty (the CLI may start a broker after this). */
export function resolveServiceOptions(options: Partial<ServiceOptions> & Pick<ServiceOptions, 'pointsPath'>): Readonly<ServiceOptions> {
  const o: ServiceOptions = { ...DEFAULT_SERVICE_OPTIONS, shards: defaultShards(), brokers: [], ...options } as ServiceOptions;
  // Not given (undefined): prepareService takes the model's levels, else the default.
  if (o.riskLevels === undefined) o.riskLevels = DEFAULT_RISK_LEVELS;
  if (!Number.isInteger(o.shards) || o.shards < 1 || o.shards > 256) {
    throw new ConfigError('--shards', `must be an integer from 1 to 256 (got ${o.shards})`);
  }
  if (!Number.isInteger(o.commitIntervalMs) || o.commitIntervalMs < 0) {
    throw new ConfigError('--commit-interval', `must be a non-negative integer of milliseconds (got ${o.commitIntervalMs})`);
  }
  if (!Number.isInteger(o.sessionTimeoutMs) || o.sessionTimeoutMs < 1000) {
    throw new ConfigError('--session-timeout', `must be an integer of at least 1000 milliseconds (got ${o.sessionTimeoutMs}); the broker also requires at least its group.min.session.timeout.ms (6000 by default)`);
  }
  if (!Number.isInteger(o.maxOutageMs) || o.maxOutageMs < 1000) {
    throw new ConfigError('--max-broker-outage', `must be at least 1 second (got ${o.maxOutageMs} ms)`);
  }
  if (!(PARTITIONERS as readonly string[]).includes(o.partitioner)) {
    throw new ConfigError('--partitioner', `must be one of ${PARTITIONERS.join(', ')} (got ${String(o.partitioner)}): murmur2 for Java and kafkajs producers, crc32 for librdkafka ones (Python confluent-kafka, Go, kcat)`);
  }
  if (!Number.isInteger(o.inputPartitions) || o.inputPartitions < 1) {
    throw new ConfigError('--partitions', `must be a positive integer (got ${o.inputPartitions})`);
  }
  if (!Number.isInteger(o.modelWatchIntervalMs) || o.modelWatchIntervalMs < 10) {
    throw new ConfigError('modelWatchIntervalMs', `must be an integer of at least 10 milliseconds (got ${o.modelWatchIntervalMs})`);
  }
  const levels = o.riskLevels;
  if (!(levels?.elevated > 0) || !(levels.high > levels.elevated) || !(levels.high < 1)) {
    throw new ConfigError('--risk-levels', `must be two scores ELEVATED,HIGH with 0 < ELEVATED < HIGH < 1 (got ${JSON.stringify(levels)})`);
  }
  if (o.shadowModelPath !== undefined && (typeof o.shadowModelPath !== 'string' || o.shadowModelPath.length === 0)) {
    throw new ConfigError('--shadow-model', 'must be the path of a model JSON file');
  }
  for (const key of ['groupId', 'carTopic', 'weatherTopic', 'outputTopic', 'carDlqTopic', 'weatherDlqTopic', 'modelsTopic'] as const) {
    const v = o[key];
    // The models topic's dead letters go to `<topic>.dlq`: that name must be valid too.
    const max = key === 'modelsTopic' ? 245 : 249;
    if (typeof v !== 'string' || !new RegExp(`^[a-zA-Z0-9._-]{1,${max}}$`).test(v)) {
      const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new ConfigError(flag, `must be 1-${max} characters of a-z A-Z 0-9 . _ - (got "${String(v)}")`);
    }
  }
  const topics = [o.carTopic, o.weatherTopic, o.outputTopic, o.carDlqTopic, o.weatherDlqTopic, o.modelsTopic, modelsDlqTopic(o.modelsTopic)];
  if (new Set(topics).size !== topics.length) {
    throw new ConfigError('--output-topic', `and the other topics must all differ (got ${topics.join(', ')})`);
  }
  return Object.freeze(o);
}

/** Where refused records of the models topic go. */
export function modelsDlqTopic(modelsTopic: string): string {
  return `${modelsTopic}.dlq`;
}
