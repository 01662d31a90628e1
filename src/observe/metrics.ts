/**
 * The service's metrics behind one small interface: the service pushes counts per batch (never
 * per event) through ServiceMetrics; gauges are read from the ServiceProbe when Prometheus
 * scrapes. PromMetrics is the prom-client implementation (`/metrics`), NO_METRICS the one for
 * `--http off` and tests.
 *
 * No label carries a point_id or a record key: every label value comes from a bounded set (topic
 * names, partitions, shards, dead-letter reasons, weather stations of the road-points table, model
 * ids of the active and shadow models, at most MAX_SHADOW_PAIRS pairs).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REASON_NAMES, Reason } from '../kernel/contract.js';
import { INVALID_JSON, MISSING_FIELD, UNKNOWN_POINT_ID, WRONG_TYPE } from '../codec/seed-json.js';
import { KEY_MISMATCH, POINT_ON_TWO_PARTITIONS } from '../pipeline/partition-router.js';
import { WeatherRejectReason } from '../weather/decode.js';
import { ModelRejectReason } from '../model/model-record.js';
import type { ServiceProbe } from './probe.js';

/** What the service counts as it goes. Each call covers a batch, not an event. */
export interface ServiceMetrics {
  /** `count` records of `topic` partition `partition` were read (one consumed batch). */
  recordsIn(topic: string, partition: number, count: number): void;
  /** `count` records of `topic` went to its dead-letter topic with `reason`. */
  deadLetters(topic: string, reason: string, count: number): void;
  /** Risk rows acknowledged by Kafka, `implausible` of them with a quality flag. */
  rowsOut(rows: number, implausible: number): void;
  /** A point was first seen on another partition than --partitioner puts its key on. */
  partitionerMismatch(): void;
  /** From the watermark passing a window end to its rows acknowledged, seconds. */
  emissionLatency(seconds: number): void;
  /** A newly assigned partition finished re-reading what an earlier owner processed, seconds after the assignment. */
  rebuilt(partition: number, seconds: number): void;
  /**
   * Rows acknowledged that carried a shadow score: `rows` scored by `active` and `shadow` (model
   * ids), `disagreements` of them with the two scores in different risk levels.
   */
  shadowRows(active: string, shadow: string, rows: number, disagreements: number): void;
}

/** Metrics that go nowhere (`--http off`, library use, tests). */
export const NO_METRICS: ServiceMetrics = Object.freeze({
  recordsIn: () => undefined,
  deadLetters: () => undefined,
  rowsOut: () => undefined,
  partitionerMismatch: () => undefined,
  emissionLatency: () => undefined,
  rebuilt: () => undefined,
  shadowRows: () => undefined,
});

export const METRIC_PREFIX = 'saferoads_';

/**
 * Dead-letter reasons known in advance, shown at 0 from the start so that `increase()` sees the
 * first one: the router's (reasonName, kernel reasons, FlatBuffers), the JSON decoder's, and the
 * kernel names the publisher uses for shard refusals.
 */
export const CAR_DEAD_LETTER_REASONS: readonly string[] = Object.freeze([
  ...new Set([
    ...REASON_NAMES.filter((name) => name !== REASON_NAMES[Reason.OK]),
    UNKNOWN_POINT_ID,
    KEY_MISMATCH,
    POINT_ON_TWO_PARTITIONS,
    'INVALID_FLATBUFFERS',
    INVALID_JSON,
    MISSING_FIELD,
    WRONG_TYPE,
  ]),
]);
export const WEATHER_DEAD_LETTER_REASONS: readonly string[] = Object.freeze(Object.values(WeatherRejectReason));
export const MODEL_DEAD_LETTER_REASONS: readonly string[] = Object.freeze(Object.values(ModelRejectReason));

/** Distinct reasons kept per topic; a reason beyond them is counted as OTHER (a label set stays bounded). */
export const MAX_REASONS_PER_TOPIC = 64;
export const OTHER_REASON = 'OTHER';

/**
 * Distinct (active, shadow) model id pairs counted; later pairs count as (OTHER, OTHER). Model ids
 * come from the models topic, which anyone with write access can fill: the label set stays bounded.
 */
export const MAX_SHADOW_PAIRS = 32;

export const EMISSION_LATENCY_BUCKETS_S = Object.freeze([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
export const REBUILD_BUCKETS_S = Object.freeze([0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900]);

export interface PromMetricsOptions {
  /** prom-client's process and Node.js metrics (CPU, memory, event-loop lag, GC). */
  defaultMetrics: boolean;
}

export const DEFAULT_PROM_METRICS_OPTIONS: Readonly<PromMetricsOptions> = Object.freeze({ defaultMetrics: true });

/** prom-client implementation: its own registry (several services in one process do not mix). */
export class PromMetrics implements ServiceMetrics {
  readonly registry = new Registry();
  private probe?: ServiceProbe;
  private readonly recordsInTotal: Counter<'topic' | 'partition'>;
  private readonly deadLettersTotal: Counter<'topic' | 'reason'>;
  private readonly rowsOutTotal: Counter;
  private readonly implausibleRowsTotal: Counter;
  private readonly mismatchesTotal: Counter;
  private readonly emissionLatencyS: Histogram;
  private readonly rebuildS: Histogram;
  private readonly shadowRowsTotal: Counter<'active' | 'shadow'>;
  private readonly shadowDisagreementsTotal: Counter<'active' | 'shadow'>;
  /** Per "active\0shadow": the two counters' label children (bounded by MAX_SHADOW_PAIRS). */
  private readonly shadowChildren = new Map<string, [Counter.Internal, Counter.Internal]>();
  /** Label children looked up once: per topic, by partition / by reason (a batch then allocates nothing). */
  private readonly recordsInChildren = new Map<string, Counter.Internal[]>();
  private readonly deadLetterChildren = new Map<string, Map<string, Counter.Internal>>();

  constructor(options: Partial<PromMetricsOptions> = {}) {
    const o = { ...DEFAULT_PROM_METRICS_OPTIONS, ...options };
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    if (o.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.recordsInTotal = new Counter({ name: `${p}records_in_total`, help: 'Records read, per topic and partition', labelNames: ['topic', 'partition'], registers });
    this.deadLettersTotal = new Counter({ name: `${p}dead_letters_total`, help: 'Records sent to the dead-letter topic, per source topic and reason', labelNames: ['topic', 'reason'], registers });
    this.rowsOutTotal = new Counter({ name: `${p}rows_out_total`, help: 'Risk rows published and acknowledged', registers });
    this.implausibleRowsTotal = new Counter({ name: `${p}implausible_rows_total`, help: 'Risk rows published with a quality flag (risk.reliable false)', registers });
    this.mismatchesTotal = new Counter({
      name: `${p}partitioner_mismatches_total`,
      help: 'Points whose events arrive on another partition than --partitioner puts their key on',
      registers,
    });
    this.emissionLatencyS = new Histogram({
      name: `${p}emission_latency_seconds`,
      help: 'From the watermark passing a window end to its rows acknowledged by Kafka',
      buckets: [...EMISSION_LATENCY_BUCKETS_S],
      registers,
    });
    this.rebuildS = new Histogram({
      name: `${p}rebuild_duration_seconds`,
      help: "From a partition's assignment to the end of its re-read (window state rebuilt)",
      buckets: [...REBUILD_BUCKETS_S],
      registers,
    });
    this.shadowRowsTotal = new Counter({
      name: `${p}shadow_rows_total`,
      help: 'Risk rows published with a shadow score, per active and shadow model id',
      labelNames: ['active', 'shadow'],
      registers,
    });
    this.shadowDisagreementsTotal = new Counter({
      name: `${p}shadow_level_disagreements_total`,
      help: 'Risk rows whose active and shadow scores fall in different risk levels (--risk-levels), per active and shadow model id',
      labelNames: ['active', 'shadow'],
      registers,
    });
    // Gauges are read at scrape time from the probe: the hot path never touches them.
    const metrics = this;
    new Gauge({
      name: `${p}watermark_seconds`,
      help: 'The stream watermark W, epoch seconds (NaN before the stream started)',
      registers,
      collect() {
        this.set(metrics.probe ? finiteOrNaN(metrics.probe.watermarkS()) : NaN);
      },
    });
    new Gauge({
      name: `${p}watermark_lag_seconds`,
      help: 'Wall clock minus the watermark, seconds (NaN before the stream started)',
      registers,
      collect() {
        this.set(metrics.probe ? finiteOrNaN(Date.now() / 1000 - metrics.probe.watermarkS()) : NaN);
      },
    });
    new Gauge({
      name: `${p}consumer_lag_records`,
      help: 'Per assigned partition of the car topic: end offset minus position',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        const probe = metrics.probe;
        probe?.consumerLag((partition, lag) => this.set({ topic: probe.carTopic, partition: String(partition) }, lag));
      },
    });
    new Gauge({
      name: `${p}shard_queue_depth`,
      help: 'Tasks handed to a shard thread and not finished (the running one included)',
      labelNames: ['shard'],
      registers,
      collect() {
        this.reset();
        metrics.probe?.shards().forEach((s, shard) => this.set({ shard: String(shard) }, s.pending));
      },
    });
    new Gauge({
      name: `${p}kernel_state_bytes`,
      help: "WASM memory of a shard's window kernel, bytes",
      labelNames: ['shard'],
      registers,
      collect() {
        this.reset();
        metrics.probe?.shards().forEach((s, shard) => this.set({ shard: String(shard) }, s.kernelBytes));
      },
    });
    new Gauge({
      name: `${p}weather_age_seconds`,
      help: "Wall clock minus a station's latest reading, seconds (+Inf: none yet); stations of the road-points table",
      labelNames: ['station'],
      registers,
      collect() {
        this.reset();
        const nowS = Date.now() / 1000;
        for (const [station, t] of metrics.probe?.weatherLatest() ?? []) this.set({ station }, nowS - t);
      },
    });
  }

  /** Where the gauges read from; also shows the known dead-letter reasons of its topics at 0. */
  bind(probe: ServiceProbe): void {
    this.probe = probe;
    // inc(0) creates the series (a label child alone does not).
    for (const reason of CAR_DEAD_LETTER_REASONS) this.deadLetterChild(probe.carTopic, reason).inc(0);
    for (const reason of WEATHER_DEAD_LETTER_REASONS) this.deadLetterChild(probe.weatherTopic, reason).inc(0);
    if (probe.modelsTopic !== undefined) for (const reason of MODEL_DEAD_LETTER_REASONS) this.deadLetterChild(probe.modelsTopic, reason).inc(0);
  }

  recordsIn(topic: string, partition: number, count: number): void {
    let children = this.recordsInChildren.get(topic);
    if (children === undefined) this.recordsInChildren.set(topic, (children = []));
    (children[partition] ??= this.recordsInTotal.labels(topic, String(partition))).inc(count);
  }

  deadLetters(topic: string, reason: string, count: number): void {
    this.deadLetterChild(topic, reason).inc(count);
  }

  rowsOut(rows: number, implausible: number): void {
    this.rowsOutTotal.inc(rows);
    if (implausible > 0) this.implausibleRowsTotal.inc(implausible);
  }

  partitionerMismatch(): void {
    this.mismatchesTotal.inc();
  }

  emissionLatency(seconds: number): void {
    this.emissionLatencyS.observe(seconds);
  }

  rebuilt(_partition: number, seconds: number): void {
    this.rebuildS.observe(seconds);
  }

  shadowRows(active: string, shadow: string, rows: number, disagreements: number): void {
    const key = `${active}\0${shadow}`;
    let children = this.shadowChildren.get(key);
    if (children === undefined) {
      const [a, s] = this.shadowChildren.size >= MAX_SHADOW_PAIRS ? [OTHER_REASON, OTHER_REASON] : [active, shadow];
      children = [this.shadowRowsTotal.labels(a, s), this.shadowDisagreementsTotal.labels(a, s)];
      // Both series from the first row on (increase() sees the first disagreement).
      children[1].inc(0);
      if (a === active) this.shadowChildren.set(key, children);
    }
    children[0].inc(rows);
    if (disagreements > 0) children[1].inc(disagreements);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private deadLetterChild(topic: string, reason: string): Counter.Internal {
    let byReason = this.deadLetterChildren.get(topic);
    if (byReason === undefined) this.deadLetterChildren.set(topic, (byReason = new Map()));
    let child = byReason.get(reason);
    if (child === undefined) {
      const label = byReason.size >= MAX_REASONS_PER_TOPIC ? OTHER_REASON : reason;
      child = byReason.get(label) ?? this.deadLettersTotal.labels(topic, label);
      // An unknown reason beyond the bound is not remembered: the map stays bounded too.
      if (label === reason) byReason.set(reason, child);
    }
    return child;
  }
}

function finiteOrNaN(v: number): number {
  return Number.isFinite(v) ? v : NaN;
}
