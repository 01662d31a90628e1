import type { CommitOffset, Consumer, OutgoingRecord, Producer } from '../kafka/client.js';
import { deadLetterRecord, type DeadLetter } from '../pipeline/dead-letter.js';
import type { Flush } from '../pipeline/dispatcher.js';
import type { ShardReport } from '../pipeline/shard-protocol.js';
import { KEY_F64, KEY_POINT, KEY_WINDOW_END, SHADOW_DIFFERS, SHADOW_NONE } from '../pipeline/shard-protocol.js';
import type { ScoringModels } from '../model/model-schedule.js';
import type { RiskRecord } from '../join/types.js';
import { NO_METRICS, type ServiceMetrics } from '../observe/metrics.js';

/** Counters of what went through (read them any time; they only grow). */
export interface ServiceStats {
  carRecords: number;
  weatherReadings: number;
  deadLetters: number;
  weatherDeadLetters: number;
  rowsOut: number;
  /** Rows published with a quality flag in either window (implausible statistics: a faulty loop or producer). */
  implausibleRows: number;
  /** Points whose events arrive on another partition than --partitioner puts their key on. */
  partitionerMismatches: number;
  /** Rows published with a shadow score, and those whose two scores fall in different risk levels. */
  shadowRows: number;
  shadowDisagreements: number;
  /** Records of the models topic refused (bad model, unknown key): dead letters on its .dlq topic. */
  modelDeadLetters: number;
  /** The last window end whose rows are acknowledged (NaN: none yet). */
  lastEnd: number;
  /**
   * Emission latency samples, ms: from the watermark passing a window end to its rows acknowledged
   * by Kafka (the latest LATENCY_SAMPLES).
   */
  emissionLatencyMs: number[];
}

export function emptyStats(): ServiceStats {
  return {
    carRecords: 0,
    weatherReadings: 0,
    deadLetters: 0,
    weatherDeadLetters: 0,
    rowsOut: 0,
    implausibleRows: 0,
    partitionerMismatches: 0,
    shadowRows: 0,
    shadowDisagreements: 0,
    modelDeadLetters: 0,
    lastEnd: NaN,
    emissionLatencyMs: [],
  };
}

const LATENCY_SAMPLES = 10_000;
const MAX_BATCHES_IN_FLIGHT = 8;

/** Which rows are this instance's to publish, and which shard's row of a point counts. */
export interface OutputScope {
  /** Whether the row of dense point `point` for window end `end` is published here. */
  publishes(point: number, end: number): boolean;
  /** The shard whose row of `point` counts: the one reading the partition its events arrive on (else its key's). */
  ownerShard(point: number): number;
  /**
   * The point's events arrived on a partition another shard reads than its key's (the producers'
   * partitioner is not --partitioner): both shards emit its rows; the owner's counts, the other's
   * stands in for window ends the owner emitted before it learned the point (identical: no events).
   */
  contested(point: number): boolean;
}

export interface PublisherOptions {
  producer: Producer;
  outputTopic: string;
  carDlqTopic: string;
  commitIntervalMs: number;
  /** The point_id of a dense point index (the record key). */
  pointIdOf: (point: number) => string;
  stats: ServiceStats;
  onRecord?: (record: RiskRecord) => void;
  log: (line: string) => void;
  /** A publish Kafka refused for good: the service stops (no commit after it). */
  onFailure: (error: unknown) => void;
  failed: () => boolean;
  metrics?: ServiceMetrics;
  /** The models that scored window end `end` (the host's schedule): labels of the shadow counts. */
  modelsAt?: (end: number) => ScoringModels<{ readonly id: string }>;
}

/**
 * The output side: each routed batch's rows and dead letters go out in order on one chain while the
 * next batch is routed (at most MAX_BATCHES_IN_FLIGHT wait: backpressure on the fetch). Offsets
 * with their restart points become committable once every output they depend on is acknowledged,
 * and are committed at most every commitIntervalMs: at-least-once.
 */
export class Publisher {
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** Offsets whose outputs are all acknowledged, per partition: what may be committed. */
  private readonly committable = new Map<number, CommitOffset>();
  private lastCommitMs = 0;
  private consumer?: Consumer;
  private readonly metrics: ServiceMetrics;

  constructor(private readonly o: PublisherOptions) {
    this.metrics = o.metrics ?? NO_METRICS;
  }

  /** The consumer commits go through (set once it exists). */
  useConsumer(consumer: Consumer): void {
    this.consumer = consumer;
  }

  /**
   * Queues a batch's outputs with the offsets they make committable; waits only when too many
   * batches are in flight.
   */
  async publish(flushes: Flush[], dead: DeadLetter[], offsets: CommitOffset[], scope: OutputScope): Promise<void> {
    this.inFlight++;
    this.chain = this.chain.then(async () => {
      if (this.o.failed()) return;
      try {
        await Promise.all([this.drain(flushes, scope), this.deadLetter(dead)]);
        for (const offset of offsets) this.committable.set(offset.partition, offset);
        if (Date.now() - this.lastCommitMs >= this.o.commitIntervalMs) await this.commit();
      } catch (error) {
        this.o.onFailure(error);
      } finally {
        this.inFlight--;
      }
    });
    if (this.inFlight >= MAX_BATCHES_IN_FLIGHT) await this.chain;
  }

  /** Resolves when the output side has room for more (too many batches in flight: once they are out). */
  async room(): Promise<void> {
    if (this.inFlight >= MAX_BATCHES_IN_FLIGHT) await this.chain;
  }

  /** Waits for every queued output. */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Waits for every queued output, then commits what they made committable. */
  async settle(): Promise<void> {
    await this.chain;
    if (!this.o.failed()) await this.commit();
  }

  /**
   * Forgets offsets a refused commit left (a new assignment: partitions kept get new restart points
   * from the new pipeline, partitions lost are their new owner's to commit).
   */
  forgetUncommitted(): void {
    this.committable.clear();
  }

  /** Commits the latest offsets whose outputs are acknowledged. */
  async commit(): Promise<void> {
    this.lastCommitMs = Date.now();
    if (!this.consumer || this.committable.size === 0) return;
    const offsets = [...this.committable.values()];
    this.committable.clear();
    try {
      await this.consumer.commit(offsets);
    } catch (error) {
      // A refused commit (a rebalance in progress, a coordinator moving, the broker away) loses
      // nothing: the next commit carries the same or later positions; until then a restart re-reads
      // a bit more.
      this.o.log(`saferoads: offset commit deferred: ${error instanceof Error ? error.message : String(error)}`);
      for (const offset of offsets) if (!this.committable.has(offset.partition)) this.committable.set(offset.partition, offset);
    }
  }

  private async deadLetter(dead: DeadLetter[]): Promise<void> {
    if (dead.length === 0) return;
    this.o.stats.deadLetters += dead.length;
    for (const d of dead) this.metrics.deadLetters(d.record.topic, d.reason, 1);
    await this.o.producer.send(this.o.carDlqTopic, dead.map(deadLetterRecord));
  }

  /** Awaits the shards' results in order and publishes one row per point and window end. */
  private async drain(flushes: Flush[], scope: OutputScope): Promise<void> {
    const stats = this.o.stats;
    for (const flush of flushes) {
      const results = await Promise.all(flush.results);
      const out: OutgoingRecord[] = [];
      let implausible = 0;
      // Shadow rows per window end of this flush: [end, rows, disagreements] (few ends per flush).
      let shadowed: number[] | undefined;
      const onRecord = this.o.onRecord;
      const publish = (result: ShardReport, row: number): void => {
        const value = result.values[row];
        // The shard joined and scored the row; a listener (dashboard, --print) gets it as an object.
        if (onRecord) onRecord(JSON.parse(value) as RiskRecord);
        if (result.reliable[row] === 0) implausible++;
        const shadow = result.shadow[row];
        if (shadow !== SHADOW_NONE) {
          const end = result.keys[row * KEY_F64 + KEY_WINDOW_END];
          shadowed ??= [];
          let k = shadowed.length - 3;
          while (k >= 0 && shadowed[k] !== end) k -= 3;
          if (k < 0) {
            k = shadowed.length;
            shadowed.push(end, 0, 0);
          }
          shadowed[k + 1]++;
          if (shadow === SHADOW_DIFFERS) shadowed[k + 2]++;
        }
        out.push({ key: this.o.pointIdOf(result.keys[row * KEY_F64 + KEY_POINT]), value });
      };
      let standIns: [ShardReport, number][] | undefined;
      let owned: Set<string> | undefined;
      results.forEach((result, shard) => {
        for (let row = 0; row < result.rowCount; row++) {
          const at = row * KEY_F64;
          const point = result.keys[at + KEY_POINT];
          const end = result.keys[at + KEY_WINDOW_END];
          if (!scope.publishes(point, end)) continue;
          if (scope.ownerShard(point) === shard) {
            publish(result, row);
            if (scope.contested(point)) (owned ??= new Set()).add(`${point}@${end}`);
          } else if (scope.contested(point)) (standIns ??= []).push([result, row]);
        }
      });
      for (const [result, row] of standIns ?? []) {
        const at = row * KEY_F64;
        if (!owned?.has(`${result.keys[at + KEY_POINT]}@${result.keys[at + KEY_WINDOW_END]}`)) publish(result, row);
      }
      if (out.length > 0) await this.o.producer.send(this.o.outputTopic, out);
      stats.rowsOut += out.length;
      stats.implausibleRows += implausible;
      if (out.length > 0) this.metrics.rowsOut(out.length, implausible);
      for (let k = 0; shadowed !== undefined && k < shadowed.length; k += 3) {
        stats.shadowRows += shadowed[k + 1];
        stats.shadowDisagreements += shadowed[k + 2];
        const models = this.o.modelsAt?.(shadowed[k]);
        if (models?.shadow) this.metrics.shadowRows(models.active.id, models.shadow.id, shadowed[k + 1], shadowed[k + 2]);
      }
      if (flush.finalEnds.length > 0) {
        const latencies = stats.emissionLatencyMs;
        if (latencies.length >= LATENCY_SAMPLES) latencies.shift();
        const latencyMs = performance.now() - flush.createdAtMs;
        latencies.push(latencyMs);
        this.metrics.emissionLatency(latencyMs / 1000);
      }
      for (const end of flush.finalEnds) if (!(end <= stats.lastEnd)) stats.lastEnd = end;
    }
  }
}
