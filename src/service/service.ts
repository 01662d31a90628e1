import { ConfigError } from '../errors.js';
import { REASON_NAMES, ROW_POINT } from '../kernel/contract.js';
import { windowSpec, type WindowSpec, type WindowSpecOptions } from '../kernel/window-spec.js';
import { CalendarResolver } from '../join/calendar.js';
import type { RiskRecord, WeatherReading } from '../join/types.js';
import { KafkaClient, keyPartition, type CommitOffset, type Consumer, type IncomingRecord, type OutgoingRecord, type Producer, type Reader } from '../kafka/client.js';
import { loadRiskModel, type RiskModel } from '../model/risk-model.js';
import { Admission } from '../pipeline/admission.js';
import { deadLetterRecord, type DeadLetter } from '../pipeline/dead-letter.js';
import { RiskRecordBuilder } from '../pipeline/output.js';
import { type Flush, Router } from '../pipeline/router.js';
import { ShardPool } from '../pipeline/shard-pool.js';
import { OUT_ROW_F64 } from '../pipeline/shard-protocol.js';
import { loadRoadPoints, type RoadPointTable } from '../road/points.js';
import { decodeWeather } from '../weather/decode.js';
import { decodeRestartPoint, encodeRestartPoint, OffsetTracker } from './offsets.js';
import { resolveServiceOptions, type ServiceOptions } from './options.js';

export type ServiceInput = Partial<ServiceOptions> & Pick<ServiceOptions, 'pointsPath'>;

/** Configuration checked and loaded (points, model, calendar), before anything connects. */
export interface PreparedService {
  options: Readonly<ServiceOptions>;
  spec: WindowSpec;
  points: RoadPointTable;
  model: RiskModel;
  calendar: CalendarResolver;
}

/** Validates every option and loads the files; throws ConfigError (exit 2) for any mistake. */
export function prepareService(input: ServiceInput): PreparedService {
  const options = resolveServiceOptions(input);
  const spec = windowSpec(options.windows, '--');
  return {
    options,
    spec,
    points: loadRoadPoints(options.pointsPath, '--points'),
    model: loadRiskModel(options.modelPath, '--model'),
    calendar: new CalendarResolver({ timeZone: options.timeZone, holidays: options.holidays, startOffsetS: spec.shortS }, '--'),
  };
}

/** Counters of what went through (read them any time; they only grow). */
export interface ServiceStats {
  carRecords: number;
  weatherReadings: number;
  deadLetters: number;
  weatherDeadLetters: number;
  rowsOut: number;
  /** The last window end whose rows are acknowledged (NaN: none yet). */
  lastEnd: number;
  /**
   * Emission latency samples, ms: from the watermark passing a window end to its rows acknowledged
   * by Kafka (the latest LATENCY_SAMPLES).
   */
  emissionLatencyMs: number[];
}

const LATENCY_SAMPLES = 10_000;
const MAX_BATCHES_IN_FLIGHT = 8;

/**
 * The streaming service: Kafka `car` → decode → admit (watermark) → shard (WASM kernels, weather
 * attached) → join (road, calendar) → score → Kafka `road-risk`; bad records → dead-letter topics.
 *
 * Delivery is at-least-once: input offsets are committed only after every output row and dead
 * letter that depends on them is acknowledged, together with a restart point (offsets.ts), and a
 * restart first rebuilds the window state from the input before it emits again.
 */
export class SaferoadsService {
  readonly stats: ServiceStats = {
    carRecords: 0,
    weatherReadings: 0,
    deadLetters: 0,
    weatherDeadLetters: 0,
    rowsOut: 0,
    lastEnd: NaN,
    emissionLatencyMs: [],
  };
  private consumer?: Consumer;
  private weatherReader?: Reader;
  /**
   * Everything that depends on which partitions this instance owns; replaced on each assignment.
   * Empty (no partitions) until the consumer joined its group.
   */
  private assigned: number[] = [];
  private admission!: Admission;
  private offsets!: OffsetTracker;
  private router!: Router;
  /** Per point: whether its key's partition is assigned here (only owned points' rows are published). */
  private owned: Uint8Array;
  /** Per partition: the next offset to process; records before it are already in the state. */
  private readonly expectedNext = new Map<number, bigint>();
  /**
   * Publishing runs behind routing: each batch's rows and dead letters are sent in order on this
   * chain while the next batch is routed. At most MAX_BATCHES_IN_FLIGHT batches wait here.
   */
  private outputs: Promise<void> = Promise.resolve();
  private batchesInFlight = 0;
  /** Offsets (with restart points) whose outputs are all acknowledged: what may be committed. */
  private committable: CommitOffset[] = [];
  private lastCommitMs = 0;
  private assignedOnce!: () => void;
  private readonly firstAssignment = new Promise<void>((resolve) => (this.assignedOnce = resolve));
  private ticker?: NodeJS.Timeout;
  /** Every step that touches the router runs in this chain, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  private failure?: unknown;
  private stopped = false;
  private fail!: (error: unknown) => void;
  /**
   * Rejects with the first error that stopped the service's progress (a produce that Kafka refused
   * for good, a shard that crashed): the caller should stop it and exit non-zero.
   */
  readonly failed: Promise<never> = new Promise<never>((_, reject) => {
    this.fail = reject;
  });

  private constructor(
    readonly options: Readonly<ServiceOptions>,
    readonly spec: WindowSpec,
    private readonly points: RoadPointTable,
    private readonly client: KafkaClient,
    private readonly pool: ShardPool,
    private readonly producer: Producer,
    private readonly output: RiskRecordBuilder,
    private readonly partitions: number,
  ) {
    // Nobody may be listening yet; the rejection is still delivered to later listeners.
    this.failed.catch(() => undefined);
    this.owned = new Uint8Array(points.points.length);
    this.resetPipeline([]);
  }

  /** A fresh host stage (admission, offsets, router) for the partitions in `assigned`. */
  private resetPipeline(assigned: readonly number[]): void {
    const n = this.points.points.length;
    this.admission = new Admission(this.spec, this.partitions, Date.now() / 1000, (i) => i >= 0 && i < n);
    this.admission.setAssigned(assigned);
    this.offsets = new OffsetTracker(this.partitions, this.spec.ringPanes + 2);
    this.router = new Router(this.admission, this.pool, this.points, this.offsets, this.spec.advanceS, this.partitions);
    const mine = new Set(assigned);
    for (const p of this.points.points) this.owned[p.index] = mine.has(keyPartition(p.pointId, this.partitions)) ? 1 : 0;
    this.assigned = [...assigned].sort((a, b) => a - b);
  }

  /**
   * Validates the configuration (before connecting anywhere), connects, reads the weather topic up
   * to its end, rebuilds window state from the committed restart point, then starts consuming.
   */
  static async start(options: ServiceInput | PreparedService): Promise<SaferoadsService> {
    const { options: o, spec, points, model, calendar } = 'spec' in options ? options : prepareService(options);
    if (o.brokers.length === 0) throw new ConfigError('--brokers', 'must list at least one broker as host:port');

    const client = new KafkaClient({ brokers: o.brokers, clientId: o.clientId });
    await client.ensureTopics([
      { topic: o.carTopic, partitions: o.inputPartitions },
      { topic: o.weatherTopic, partitions: 1 },
      { topic: o.outputTopic, partitions: o.inputPartitions },
      { topic: o.carDlqTopic, partitions: 1 },
      { topic: o.weatherDlqTopic, partitions: 1 },
    ]);
    const partitions = await client.partitionCount(o.carTopic);
    const nowS = Date.now() / 1000;
    const pool = new ShardPool(o.shards);
    try {
      await pool.init(
        { spec: { ...spec }, pointCapacity: Math.max(points.points.length, 1), partitions, startWallClockS: nowS },
        points.points.map((p) => ({ index: p.index, allowedSpeedKmh: p.allowedSpeedKmh, station: p.station })),
      );
    } catch (error) {
      await pool.close();
      throw error;
    }
    const producer = await client.producer();
    const service = new SaferoadsService(o, spec, points, client, pool, producer, new RiskRecordBuilder(spec, points, calendar, model), partitions);
    try {
      await service.startWeather();
      await service.startConsuming();
    } catch (error) {
      await service.stop().catch(() => undefined);
      throw error;
    }
    return service;
  }

  /** The first failure stops the service's progress (no commit after it) and rejects `failed`. */
  private recordFailure(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.options.onError(error);
    this.fail(error);
  }

  /** Runs `step` after every earlier step; a failure stops the service's progress (no commit after it). */
  private serial(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      try {
        await step();
      } catch (error) {
        this.recordFailure(error);
        throw error;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  // ---- weather: global state, every instance reads all of it -------------------------------------

  private async startWeather(): Promise<void> {
    const { weatherTopic } = this.options;
    const until = await this.client.endOffsets(weatherTopic);
    this.weatherReader = await this.client.read({
      topic: weatherTopic,
      until,
      follow: true,
      onBatch: async (records) => {
        const readings: WeatherReading[] = [];
        const dead: OutgoingRecord[] = [];
        for (const record of records) {
          const decoded = decodeWeather(record.value);
          if (decoded.ok) readings.push(decoded.reading);
          else dead.push(deadLetterRecord({ record, reason: decoded.reason, detail: decoded.detail }));
        }
        this.stats.weatherReadings += readings.length;
        this.stats.weatherDeadLetters += dead.length;
        // Shard queues are FIFO: rows emitted after this are joined with these readings.
        await Promise.all([
          readings.length > 0 ? this.pool.broadcastWeather(readings) : undefined,
          dead.length > 0 ? this.producer.send(this.options.weatherDlqTopic, dead) : undefined,
        ]);
      },
    });
    await this.weatherReader.caughtUp;
  }

  // ---- assignment: rebuild window state from the committed restart point ----------------------

  /**
   * Runs (in the serial chain) when the group gives this instance its partitions, at start and on
   * every rebalance: the window state is rebuilt for exactly the assigned partitions from their
   * committed restart points, and reading goes on from the committed offsets.
   */
  private async assign(assigned: readonly number[]): Promise<void> {
    const sorted = [...assigned].sort((a, b) => a - b);
    if (sorted.length === this.assigned.length && sorted.every((p, k) => p === this.assigned[k])) return;
    // What was processed under the old assignment is committed if the group still lets us; if not
    // (a rebalance in progress), the new owner re-reads a little more.
    await this.settle();
    await this.pool.reset();
    this.resetPipeline(sorted);
    this.stats.lastEnd = NaN;
    this.expectedNext.clear();
    if (sorted.length === 0) return;
    const { carTopic, groupId } = this.options;
    const committed = (await this.client.committedOffsets(groupId, carTopic)).filter((c) => sorted.includes(c.partition));
    const restart = committed
      .filter((c) => c.offset >= 0n)
      .map((c) => ({ partition: c.partition, committed: c.offset, point: decodeRestartPoint(c.metadata) }));
    // kafkajs goes on from where it was for partitions it kept, and keeps a partition the old
    // pipeline parked paused: every assigned partition restarts where the new state starts — its
    // committed offset, or the start of the log when it has none.
    const earliest = await this.client.startOffsets(carTopic);
    for (const p of sorted) {
      const committedAt = restart.find((r) => r.partition === p)?.committed ?? earliest.get(p) ?? 0n;
      this.offsets.startAt(p, Number(committedAt));
      this.expectedNext.set(p, committedAt);
      this.consumer?.seek(carTopic, p, committedAt);
      this.consumer?.resume(carTopic, p);
    }
    const known = restart.filter((r) => r.point !== undefined);
    if (known.length === 0) return;
    // All partitions are committed together with the same end; the minimum is the safe choice if
    // they ever differ (rows after it are emitted again, with the same values).
    const lastEnd = Math.min(...known.map((r) => r.point!.end));
    const from = new Map(known.map((r) => [r.partition, r.point!.rebuild]));
    const until = new Map(restart.map((r) => [r.partition, r.committed]));
    this.router.beginRebuild(lastEnd);
    const reader = await this.client.read({
      topic: carTopic,
      from,
      until,
      follow: false,
      // Already inside the serial chain: the rebuild's batches are routed right away.
      onBatch: async (records, batch) => {
        this.stats.carRecords += records.length;
        const flushes: Flush[] = [];
        this.router.route(records, batch.partition, Date.now() / 1000, flushes, []);
        await this.drain(flushes);
      },
    });
    await reader.caughtUp;
    await reader.close();
    const flushes: Flush[] = [];
    const dead: DeadLetter[] = [];
    this.router.endRebuild(Date.now() / 1000, flushes, dead);
    this.stats.lastEnd = lastEnd;
    await Promise.all([this.drain(flushes), this.deadLetter(dead)]);
    this.options.log(
      `saferoads: partitions ${sorted.join(',')} of ${carTopic}: window state rebuilt from the restart point (last window end ${new Date(lastEnd * 1000).toISOString()})`,
    );
  }

  // ---- the stream ------------------------------------------------------------------------------

  private async startConsuming(): Promise<void> {
    this.consumer = await this.client.consume({
      groupId: this.options.groupId,
      topics: [this.options.carTopic],
      fromBeginning: true,
      autoCommit: false,
      onBatch: (records, batch) => this.serial(() => this.process(records, batch.partition)),
      onAssignment: (assignment) => {
        const mine = assignment[this.options.carTopic] ?? [];
        this.options.log(`saferoads: group ${this.options.groupId} assigned partitions [${mine.join(',')}] of ${this.options.carTopic}`);
        void this.serial(() => this.assign(mine))
          .then(() => this.assignedOnce())
          .catch(() => undefined);
      },
    });
    await Promise.race([this.firstAssignment, this.failed]);
    this.ticker = setInterval(() => {
      void this.serial(async () => {
        const flushes: Flush[] = [];
        const dead: DeadLetter[] = [];
        this.router.tick(Date.now() / 1000, flushes, dead);
        this.applyParking();
        await this.publish(flushes, dead);
      }).catch(() => undefined);
    }, 1000);
    this.ticker.unref();
  }

  /** One batch of one partition: route, emit, dead-letter, then commit. */
  private async process(batch: IncomingRecord[], partition: number): Promise<void> {
    if (this.stopped || !this.assigned.includes(partition)) return; // after stop(), or fetched before a rebalance took it away
    // Records before the expected offset are already in the state (rebuilt, or a batch delivered
    // again after a seek).
    const expected = this.expectedNext.get(partition) ?? -1n;
    const records = batch[0] !== undefined && batch[0].offset < expected ? batch.filter((r) => r.offset >= expected) : batch;
    if (records.length === 0) return;
    this.expectedNext.set(partition, records[records.length - 1].offset + 1n);
    this.stats.carRecords += records.length;
    const flushes: Flush[] = [];
    const dead: DeadLetter[] = [];
    this.router.route(records, partition, Date.now() / 1000, flushes, dead);
    this.applyParking();
    await this.publish(flushes, dead);
  }

  /**
   * Queues a batch's outputs on the publishing chain with the offsets they make committable, and
   * waits only when too many batches are in flight (backpressure on the fetch).
   */
  private async publish(flushes: Flush[], dead: DeadLetter[]): Promise<void> {
    if (flushes.length === 0 && dead.length === 0 && !this.admission.started) return;
    const offsets = this.restartOffsets();
    this.batchesInFlight++;
    this.outputs = this.outputs.then(async () => {
      if (this.failure !== undefined) return;
      try {
        await Promise.all([this.drain(flushes), this.deadLetter(dead)]);
        if (offsets.length > 0) this.committable = offsets;
        if (Date.now() - this.lastCommitMs >= this.options.commitIntervalMs) await this.commit();
      } catch (error) {
        this.recordFailure(error);
      } finally {
        this.batchesInFlight--;
      }
    });
    if (this.batchesInFlight >= MAX_BATCHES_IN_FLIGHT) await this.outputs;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Pauses fetching partitions the router parked (they run ahead of the others), resumes the rest. */
  private applyParking(): void {
    for (const [partition, parked] of this.router.takeParkChanges()) {
      if (parked) this.consumer?.pause(this.options.carTopic, partition);
      else this.consumer?.resume(this.options.carTopic, partition);
    }
  }

  private async deadLetter(dead: DeadLetter[]): Promise<void> {
    if (dead.length === 0) return;
    this.stats.deadLetters += dead.length;
    await this.producer.send(this.options.carDlqTopic, dead.map(deadLetterRecord));
  }

  /** Awaits the shards' results in order, publishes the rows, dead-letters shard refusals. */
  private async drain(flushes: Flush[]): Promise<void> {
    for (const flush of flushes) {
      const results = await Promise.all(flush.results);
      const out: OutgoingRecord[] = [];
      const dead: DeadLetter[] = [];
      results.forEach((result, k) => {
        for (let row = 0; row < result.rowCount; row++) {
          if (this.owned[result.rows[row * OUT_ROW_F64 + ROW_POINT]] === 0) continue;
          const record = this.output.build(result.rows, row);
          this.options.onRecord?.(record);
          out.push({ key: record.point_id, value: JSON.stringify(record) });
        }
        for (let j = 0; j < result.rejections.length; j += 2) {
          const source = flush.sources[k][result.rejections[j]];
          const reason = REASON_NAMES[result.rejections[j + 1]];
          if (source && !this.router.rebuilding) dead.push({ record: source, reason, detail: `refused by the shard kernel: ${reason}` });
        }
      });
      await Promise.all([out.length > 0 ? this.producer.send(this.options.outputTopic, out) : undefined, this.deadLetter(dead)]);
      this.stats.rowsOut += out.length;
      if (flush.finalEnds.length > 0) {
        const latencies = this.stats.emissionLatencyMs;
        if (latencies.length >= LATENCY_SAMPLES) latencies.shift();
        latencies.push(performance.now() - flush.createdAtMs);
      }
      for (const end of flush.finalEnds) if (!(end <= this.stats.lastEnd)) this.stats.lastEnd = end;
    }
  }

  /**
   * Every assigned partition's position with its restart point, as of now: the last window end taken
   * for emission (its rows are in the flushes just queued) and the offsets the windows after it
   * need. Empty before the first window end (a restart then re-reads from the committed offsets).
   */
  private restartOffsets(): CommitOffset[] {
    if (!this.admission.started) return [];
    const lastEnd = this.admission.nextEnd - this.spec.advanceS;
    const firstPane = (lastEnd + this.spec.advanceS - this.spec.longS) / this.spec.advanceS;
    const offsets: CommitOffset[] = [];
    for (const p of this.assigned) {
      const position = this.offsets.positionOf(p);
      if (position < 0) continue;
      offsets.push({
        topic: this.options.carTopic,
        partition: p,
        offset: BigInt(position),
        metadata: encodeRestartPoint({ end: lastEnd, rebuild: BigInt(this.offsets.rebuildOffset(p, firstPane)) }),
      });
    }
    return offsets;
  }

  /** Commits the latest offsets whose outputs are acknowledged (at most every commitIntervalMs). */
  private async commit(): Promise<void> {
    const offsets = this.committable;
    this.lastCommitMs = Date.now();
    if (!this.consumer || offsets.length === 0) return;
    this.committable = [];
    try {
      await this.consumer.commit(offsets);
    } catch (error) {
      // A refused commit (a rebalance in progress, a coordinator moving) loses nothing: the next
      // commit carries the same or later positions, and until then a restart re-reads a bit more.
      this.options.log(`saferoads: offset commit deferred: ${error instanceof Error ? error.message : String(error)}`);
      if (this.committable.length === 0) this.committable = offsets;
    }
  }

  /** Waits for every queued output, then commits what they made committable. */
  private async settle(): Promise<void> {
    await this.outputs;
    await this.commit();
  }

  /** The partitions of the car topic this instance owns now. */
  get assignedPartitions(): readonly number[] {
    return this.assigned;
  }

  /** Resolves when everything handed to the service so far is processed, published and committed. */
  async idle(): Promise<void> {
    await this.chain;
    await this.outputs;
    await this.chain.then(() => this.settle());
  }

  /** Graceful stop: finish the batch in hand, publish and commit, then disconnect and end the shards. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    // Stop fetching, finish what was fetched, publish it and commit while still in the group.
    for (const p of this.assigned) this.consumer?.pause(this.options.carTopic, p);
    await this.chain;
    await this.outputs;
    if (this.failure === undefined) await this.commit();
    await this.consumer?.close().catch(() => undefined);
    await this.chain;
    await this.weatherReader?.close().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
    await this.client.close().catch(() => undefined);
    await this.pool.close();
  }
}
