import { ConfigError } from '../errors.js';
import type { WindowSpec } from '../kernel/window-spec.js';
import { DEFAULT_REACH_TIMEOUT_MS, KafkaClient, keyPartitionWith, PARTITIONERS, type Consumer, type IncomingRecord, type Producer } from '../kafka/client.js';
import type { RiskModel } from '../model/risk-model.js';
import type { PartitionStart } from '../pipeline/admission.js';
import { shardJoin } from '../pipeline/output.js';
import { ShardPool } from '../pipeline/shard-pool.js';
import type { RoadPointTable } from '../road/points.js';
import type { ServiceMetrics } from '../observe/metrics.js';
import { NO_OBSERVER, type ServiceObserver } from '../observe/observability.js';
import type { RiskRecord } from '../join/types.js';
import type { ServiceProbe } from '../observe/probe.js';
import { type Emit, emitter, kafkaLogging, type KafkaLogging } from '../observe/log.js';
import { modelsDlqTopic, type ServiceOptions } from './options.js';
import { prepareService, type PreparedService, type ServiceInput } from './prepare.js';
import { ModelControl } from './model-control.js';
import { ModelFeed } from './model-feed.js';
import { ModelFileWatch } from './model-file-watch.js';
import { ModelSchedule } from '../model/model-schedule.js';
import { emptyStats, Publisher, type ServiceStats } from './publisher.js';
import { Pipeline } from './pipeline.js';
import { planAssignment } from './restart.js';
import { BrokerWatch } from './broker-watch.js';
import { WeatherFeed } from './weather-feed.js';

/** The caller's onRecord and the observer's (the dashboard's history and event stream), both when both are given. */
function recordHook(onRecord: ((r: RiskRecord) => void) | undefined, observer: ServiceObserver): ((r: RiskRecord) => void) | undefined {
  const observe = observer.record?.bind(observer);
  if (observe === undefined || onRecord === undefined) return observe ?? onRecord;
  return (r) => {
    observe(r);
    onRecord(r);
  };
}

/** Points whose partitioner mismatch is logged one by one (the rest are counted). */
const MISMATCH_LOG_LINES = 5;

export type { ServiceStats } from './publisher.js';

export { prepareService, type PreparedService, type ServiceInput } from './prepare.js';

/**
 * The streaming service: Kafka `car` → decode → admit (watermark) → shard (WASM kernels, weather
 * attached) → join (road, calendar) → score → Kafka `road-risk`; bad records → dead-letter topics.
 *
 * Delivery is at-least-once: input offsets are committed only after every output row and dead
 * letter that depends on them is acknowledged, each partition with its own restart point
 * (offsets.ts), and whoever owns a partition next re-reads it from there before it publishes rows
 * of its points again (restart.ts). Windows depend only on each partition's log (admission.ts), so
 * a row published again is byte-identical.
 */
export class SaferoadsService {
  readonly stats: ServiceStats = emptyStats();
  private consumer?: Consumer;
  private readonly weather: WeatherFeed;
  /** Which model scores which window end, and how it changes (models topic, model files). */
  private readonly models: ModelControl;
  private readonly modelFeed: ModelFeed;
  private readonly modelWatches: ModelFileWatch[] = [];
  /** The first window end no shard was asked for, as of the last pipeline replaced (−Infinity: none). */
  private nextEndBefore = -Infinity;
  private readonly publisher: Publisher;
  private pipeline: Pipeline;
  private readonly keyPartitionOf: Int32Array;
  private readonly mismatchedPoints = new Set<number>();
  private readonly metrics: ServiceMetrics;
  /** The log option as a levelled log (a plain function gets the lines as they always were). */
  private readonly emit: Emit;
  /** The Kafka client's logging: quiet once stop() began. */
  private kafkaLogging?: KafkaLogging;
  /** Date.now() of the car consumer's last completed fetch. */
  private lastFetchMs = -Infinity;
  /** Kafka reachable or not (logged on change, /readyz), and the end of the service after --max-broker-outage. */
  private watch?: BrokerWatch;
  private assignmentSeen = false;
  private assignedOnce!: () => void;
  private readonly firstAssignment = new Promise<void>((resolve) => (this.assignedOnce = resolve));
  private ticker?: NodeJS.Timeout;
  /** Every step that touches the pipeline runs in this chain, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  private failure?: unknown;
  private stopped = false;
  private fail!: (error: unknown) => void;
  private finish!: () => void;
  /** With `untilEnd`: resolves once every window up to the last event is published and committed. */
  readonly finished: Promise<void> = new Promise<void>((resolve) => {
    this.finish = resolve;
  });
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
    private readonly partitions: number,
    model: RiskModel,
    shadowModel: RiskModel | null,
  ) {
    // Nobody may be listening yet; the rejection is still delivered to later listeners.
    this.failed.catch(() => undefined);
    const emit = (this.emit = emitter(options.log));
    this.keyPartitionOf = Int32Array.from(points.points, (p) => keyPartitionWith(options.partitioner, p.pointId, partitions));
    this.pipeline = this.newPipeline([]);
    const observer = options.observer ?? NO_OBSERVER;
    this.metrics = observer.metrics;
    const stations = new Map(points.points.map((p) => [p.station, -Infinity]));
    this.weather = new WeatherFeed(client, pool, producer, { weather: options.weatherTopic, dlq: options.weatherDlqTopic }, this.stats, this.metrics, stations);
    this.models = new ModelControl(model, shadowModel, pool, this.spec.advanceS, () => this.nextUnaskedEnd(), emit, (error) => this.recordFailure(error));
    this.modelFeed = new ModelFeed(client, producer, { models: options.modelsTopic, dlq: modelsDlqTopic(options.modelsTopic) }, this.models, this.stats, this.metrics, emit);
    const watch = (path: string | undefined, role: 'active' | 'shadow', flag: string) => {
      if (path !== undefined) this.modelWatches.push(new ModelFileWatch(path, role, flag, this.models, emit, options.modelWatchIntervalMs));
    };
    watch(options.modelPath, 'active', '--model');
    watch(options.shadowModelPath, 'shadow', '--shadow-model');
    this.publisher = new Publisher({
      producer,
      outputTopic: options.outputTopic,
      carDlqTopic: options.carDlqTopic,
      commitIntervalMs: options.commitIntervalMs,
      pointIdOf: (point) => points.byIndex(point).pointId,
      stats: this.stats,
      onRecord: recordHook(options.onRecord, observer),
      log: (line) => emit('warn', line),
      onFailure: (error) => this.recordFailure(error),
      failed: () => this.failure !== undefined,
      metrics: this.metrics,
      modelsAt: (end) => this.models.schedule.at(end),
    });
    observer.bind(this.probe());
  }

  /**
   * The first window end no shard was asked to emit, by this pipeline or an earlier one (−Infinity:
   * none yet): a model change never reaches back before it (model-control.ts).
   */
  private nextUnaskedEnd(): number {
    const next = this.pipeline.admission.nextEnd;
    return Number.isNaN(next) ? this.nextEndBefore : Math.max(this.nextEndBefore, next);
  }

  /** Which model scores which window end (read-only: it changes through the models topic and the model files). */
  get modelSchedule(): ModelSchedule<RiskModel> {
    return this.models.schedule;
  }

  /** What metrics and health checks read, when they ask. */
  private probe(): ServiceProbe {
    return {
      carTopic: this.options.carTopic,
      weatherTopic: this.options.weatherTopic,
      modelsTopic: this.options.modelsTopic,
      riskLevels: this.options.riskLevels,
      advanceS: this.spec.advanceS,
      weatherCaughtUp: () => this.weather.caughtUp,
      assignment: () => (this.assignmentSeen ? this.pipeline.assigned : undefined),
      rebuilding: () => [...this.pipeline.rebuilding.keys()],
      lastFetchMs: () => this.lastFetchMs,
      brokerUnreachableSinceMs: () => this.watch?.unreachableSinceMs(),
      failure: () => this.failure,
      watermarkS: () => this.pipeline.admission.watermark,
      consumerLag: (visit) => {
        const pipeline = this.pipeline;
        for (const p of pipeline.assigned) {
          const end = pipeline.endOffset.get(p);
          const position = pipeline.expectedNext.get(p);
          if (end !== undefined && position !== undefined) visit(p, Math.max(0, Number(end - position)));
        }
      },
      weatherLatest: () => this.weather.latest,
      shards: () => this.pool.status(),
    };
  }

  private newPipeline(assigned: readonly number[]): Pipeline {
    const pipeline: Pipeline = new Pipeline([...assigned].sort((a, b) => a - b), this.spec, this.points, this.pool, this.partitions, this.keyPartitionOf, {
      output: (flushes, dead) => {
        this.publisher.publish(flushes, dead, pipeline.restartOffsets(this.options.carTopic), pipeline).catch(() => undefined);
        // A finite replay may be done once the shards reported their last records.
        if (this.options.untilEnd) void this.serial(() => this.closeIfDrained(pipeline)).catch(() => undefined);
      },
      hold: (slot, hold) => {
        if (this.pipeline !== pipeline) return;
        if (hold) this.consumer?.pause(this.options.carTopic, slot);
        else this.consumer?.resume(this.options.carTopic, slot);
      },
      learned: (point, slot) => {
        if (this.keyPartitionOf[point] !== slot) this.partitionerMismatch(point, slot, this.keyPartitionOf[point]);
      },
      failed: (error) => this.recordFailure(error),
    });
    return pipeline;
  }

  /**
   * The producers do not use --partitioner: rows of the points seen are right (they follow their
   * events), but with several instances the count-0 rows of points not seen yet come from the
   * partition --partitioner names, so a point's first rows may be published by two instances.
   * Counted per point (once per process), logged for the first points.
   */
  private partitionerMismatch(point: number, arrivedOn: number, keyPartition: number): void {
    if (this.mismatchedPoints.has(point)) return;
    this.mismatchedPoints.add(point);
    this.stats.partitionerMismatches++;
    this.metrics.partitionerMismatch();
    if (this.mismatchedPoints.size > MISMATCH_LOG_LINES) return;
    const { partitioner } = this.options;
    const other = PARTITIONERS.find((p) => p !== partitioner && keyPartitionWith(p, this.points.byIndex(point).pointId, this.partitions) === arrivedOn);
    this.emit(
      'warn',
      `saferoads: warning: point ${this.points.byIndex(point).pointId} arrives on partition ${arrivedOn}, but --partitioner ${partitioner} puts its key on ${keyPartition}` +
        (other ? `; the producers look like ${other} (set --partitioner ${other})` : '; the producers use another partitioner') +
        (this.mismatchedPoints.size === MISMATCH_LOG_LINES ? ' (further points counted, not logged)' : ''),
      { partition: arrivedOn, keyPartition, partitioner },
    );
  }

  /**
   * Validates the configuration (before connecting anywhere), connects, reads the weather and the
   * models topics up to their ends, then joins the group; each assignment restarts its partitions
   * from their restart points.
   */
  static async start(options: ServiceInput | PreparedService): Promise<SaferoadsService> {
    const { options: o, spec, points, model, shadowModel, calendar } = 'spec' in options ? options : prepareService(options);
    if (o.brokers.length === 0) throw new ConfigError('--brokers', 'must list at least one broker as host:port');

    const logging = kafkaLogging(o.log);
    const emit = emitter(o.log);
    const watch = new BrokerWatch({ brokers: o.brokers.join(','), maxOutageMs: o.maxOutageMs, log: emit });
    const client = new KafkaClient({
      ...logging,
      brokers: o.brokers,
      clientId: o.clientId,
      security: o.security,
      // One setting for both: a produce retried as long as the service waits for the broker.
      maxOutageMs: o.maxOutageMs,
      reachTimeoutMs: Math.min(DEFAULT_REACH_TIMEOUT_MS, o.maxOutageMs),
      onContact: () => watch.contact(),
      // One line once an operation failed twice (a first retry is routine: a new topic's leader
      // settling) and one every tenth attempt after: an outage shows without flooding the log.
      onRetry: ({ what, attempt, error, delayMs }) => {
        // A broker that cannot be reached: the watch logs the outage once (the first connection
        // fails in one line after its reach timeout).
        if (watch.trouble(error)) return;
        if (attempt !== 2 && attempt % 10 !== 0) return;
        const cause = error instanceof Error ? error.message : String(error);
        // A second attempt is usually a broker or topic still settling (info); the tenth is an outage.
        emit(attempt >= 10 ? 'warn' : 'info', `saferoads: cannot ${what} (attempt ${attempt}: ${cause}); retrying in ${(delayMs / 1000).toFixed(1)} s`, { attempt, retryInMs: delayMs });
      },
    });
    await client.ensureTopics([
      { topic: o.carTopic, partitions: o.inputPartitions },
      { topic: o.weatherTopic, partitions: 1 },
      { topic: o.outputTopic, partitions: o.inputPartitions },
      { topic: o.carDlqTopic, partitions: 1 },
      { topic: o.weatherDlqTopic, partitions: 1 },
      // The latest model per key is what matters: compaction keeps it, however often models change.
      { topic: o.modelsTopic, partitions: 1, config: { 'cleanup.policy': 'compact' } },
      { topic: modelsDlqTopic(o.modelsTopic), partitions: 1 },
    ]);
    // A models topic someone made before us without compaction: retention would delete the active model.
    const cleanup = await client.topicConfig(o.modelsTopic, 'cleanup.policy');
    if (cleanup !== undefined && !cleanup.split(',').includes('compact')) {
      emit(
        'warn',
        `saferoads: the models topic ${o.modelsTopic} is not compacted (cleanup.policy=${cleanup}): retention will delete the models it holds and a restart then scores with --model; fix: kafka-configs.sh --alter --entity-type topics --entity-name ${o.modelsTopic} --add-config cleanup.policy=compact`,
        { topic: o.modelsTopic, cleanupPolicy: cleanup },
      );
    }
    const partitions = await client.partitionCount(o.carTopic);
    const nowS = Date.now() / 1000;
    const pool = new ShardPool(o.shards);
    try {
      await pool.init(
        {
          spec: { ...spec },
          pointCapacity: Math.max(points.points.length, 1),
          partitions,
          startWallClockS: nowS,
          keyPartition: Int32Array.from(points.points, (p) => keyPartitionWith(o.partitioner, p.pointId, partitions)),
          join: shardJoin(points, new ModelSchedule(model, shadowModel), calendar, o.riskLevels),
        },
        points.points.map((p) => ({ index: p.index, pointId: p.pointId, allowedSpeedKmh: p.allowedSpeedKmh, station: p.station })),
      );
    } catch (error) {
      await pool.close();
      throw error;
    }
    const producer = await client.producer();
    const service = new SaferoadsService(o, spec, points, client, pool, producer, partitions, model, shadowModel);
    service.kafkaLogging = logging;
    service.watch = watch;
    watch.onExpired = (error) => service.recordFailure(error);
    try {
      // Models and weather before traffic: rows are scored by the models the topic holds and joined
      // with the readings it holds from the first one. Both at once: each reader joins a group of
      // its own, which a cluster delays (group.initial.rebalance.delay.ms, 3 s by default).
      for (const w of service.modelWatches) w.start();
      await Promise.all([service.modelFeed.start(), service.weather.start()]);
      await service.startConsuming();
      watch.start();
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

  // ---- assignment: each partition restarts from its own restart point ---------------------------

  /**
   * Runs (in the serial chain) when the group gives this instance its partitions, at start and on
   * every rebalance: a fresh pipeline reads every assigned partition from its restart point (or
   * its committed offset), re-reading what an earlier owner processed without publishing it again.
   */
  private async assign(assigned: readonly number[]): Promise<void> {
    const assignedAtMs = performance.now();
    const sorted = [...assigned].sort((a, b) => a - b);
    const current = this.pipeline.assigned;
    if (sorted.length === current.length && sorted.every((p, k) => p === current[k])) return;
    // What was processed under the old assignment is committed if the group still lets us; if not
    // (a rebalance in progress), the new owner re-reads a little more.
    await this.pipeline.dispatcher.drained();
    await this.publisher.settle();
    this.publisher.forgetUncommitted();
    this.pipeline.dispatcher.close();
    this.nextEndBefore = this.nextUnaskedEnd();
    const pipeline = this.newPipeline(sorted);
    pipeline.assignedAtMs = assignedAtMs;
    this.pipeline = pipeline;
    this.stats.lastEnd = NaN;
    const { carTopic, groupId } = this.options;
    const plans = sorted.length === 0 ? [] : await planAssignment(this.client, groupId, carTopic, sorted);
    await this.pool.assign(
      pipeline.dispatcher.shardOfPartition,
      pipeline.learned,
      plans.map((plan) => ({ slot: plan.partition, ...plan.start, readFrom: Number(plan.readFrom), replayUntil: Number(plan.replayUntil) })),
      Date.now() / 1000,
    );
    if (sorted.length === 0) return;
    const starts = new Map<number, PartitionStart>();
    for (const plan of plans) {
      starts.set(plan.partition, plan.start);
      pipeline.offsets.startAt(plan.partition, Number(plan.readFrom), plan.start.maxEventTime);
      pipeline.expectedNext.set(plan.partition, plan.readFrom);
      pipeline.logEnd.set(plan.partition, plan.logEnd);
      pipeline.endOffset.set(plan.partition, plan.logEnd);
      pipeline.replayUntil.set(plan.partition, Number(plan.replayUntil));
      if (plan.replayUntil > plan.readFrom) pipeline.rebuilding.set(plan.partition, plan.replayUntil);
      else this.metrics.rebuilt(plan.partition, (performance.now() - assignedAtMs) / 1000);
      // kafkajs goes on from where it was for partitions it kept, and keeps a partition the old
      // pipeline parked paused: every assigned partition restarts where the new state starts.
      this.consumer?.seek(carTopic, plan.partition, plan.readFrom);
      this.consumer?.resume(carTopic, plan.partition);
    }
    pipeline.admission.setAssigned(sorted, starts, Date.now() / 1000);
    if (this.options.untilEnd) await this.closeIfDrained(pipeline);
    const resumed = plans.filter((p) => p.start.resumed);
    // A shard reads whole partitions: with fewer partitions than shards, some shards have nothing.
    if (sorted.length < this.pool.shards) {
      this.emit(
        'info',
        `saferoads: ${this.pool.shards} shards read ${sorted.length} partition(s): ${this.pool.shards - sorted.length} shard(s) idle; ` +
          `a car topic with more partitions (or --shards ${sorted.length}) uses them`,
        { shards: this.pool.shards, partitions: sorted.length },
      );
    }
    this.emit(
      'info',
      `saferoads: partitions ${sorted.join(',')} of ${carTopic}: ` +
        (resumed.length === 0
          ? 'no restart point, reading from the committed offsets'
          : `re-reading ${resumed.map((p) => `${p.partition} from ${p.readFrom} (published through ${new Date(p.start.publishedThrough * 1000).toISOString()})`).join(', ')}`),
      { topic: carTopic, partitions: sorted },
    );
  }

  // ---- the stream ------------------------------------------------------------------------------

  private async startConsuming(): Promise<void> {
    this.consumer = await this.client.consume({
      groupId: this.options.groupId,
      topics: [this.options.carTopic],
      fromBeginning: true,
      autoCommit: false,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      // kafkajs sleeps this long when every partition it fetches is paused (all held behind W for a
      // moment): short, or a round trip of alignment costs a second.
      maxWaitTimeMs: 250,
      onBatch: (records, batch) => this.serial(() => this.process(records, batch.partition, batch.highWatermark)),
      onFetch: () => {
        this.lastFetchMs = Date.now();
        this.pipeline.admission.fetched(this.lastFetchMs / 1000);
      },
      onAssignment: (assignment) => {
        const mine = assignment[this.options.carTopic] ?? [];
        this.emit('info', `saferoads: group ${this.options.groupId} assigned partitions [${mine.join(',')}] of ${this.options.carTopic}`, {
          group: this.options.groupId,
          topic: this.options.carTopic,
          partitions: mine,
        });
        void this.serial(() => this.assign(mine))
          .then(() => {
            this.assignmentSeen = true;
            this.assignedOnce();
          })
          .catch(() => undefined);
      },
      onCrash: (error, restarting) => {
        const message = error instanceof Error ? error.message : String(error);
        // A broker that went away: the watch logs the outage once, not each crash of the consumer.
        if (restarting && this.watch?.trouble(error)) return;
        if (restarting) this.emit('warn', `saferoads: the Kafka consumer stopped (${message}); it restarts by itself`, { err: message });
        else this.recordFailure(error);
      },
    });
    this.publisher.useConsumer(this.consumer);
    await Promise.race([this.firstAssignment, this.failed]);
    this.ticker = setInterval(() => {
      void this.serial(async () => {
        const pipeline = this.pipeline;
        pipeline.dispatcher.tick(Date.now() / 1000);
        if (this.options.untilEnd) await this.closeIfDrained(pipeline);
      }).catch(() => undefined);
    }, 1000);
    this.ticker.unref();
  }

  /** One batch of one partition: route, emit, dead-letter, then commit. */
  private async process(batch: IncomingRecord[], partition: number, highWatermark: bigint): Promise<void> {
    const pipeline = this.pipeline;
    if (this.stopped || !pipeline.assigned.includes(partition) || batch.length === 0) return;
    pipeline.endOffset.set(partition, highWatermark);
    const expected = pipeline.expectedNext.get(partition) ?? -1n;
    // Records before the expected offset are already in the state (re-read, or delivered again
    // after a seek). A batch that starts after it was fetched before a seek took effect, or by a
    // consumer kafkajs restarted from the committed offset: read from the expected offset again.
    // The same gap twice in a row is real (offsets a transaction marker or compaction took).
    if (batch[0].offset > expected && pipeline.gapAt.get(partition) !== batch[0].offset) {
      pipeline.gapAt.set(partition, batch[0].offset);
      this.consumer?.seek(this.options.carTopic, partition, expected);
      return;
    }
    pipeline.gapAt.delete(partition);
    // A finite replay reads up to the end offsets it saw when the partitions were assigned.
    const end = this.options.untilEnd ? (pipeline.logEnd.get(partition) ?? 0n) : -1n;
    const records =
      batch[0].offset < expected || (end >= 0n && batch[batch.length - 1].offset >= end)
        ? batch.filter((r) => r.offset >= expected && (end < 0n || r.offset < end))
        : batch;
    const last = batch[batch.length - 1].offset;
    pipeline.admission.delivered(partition, Date.now() / 1000, last + 1n >= highWatermark);
    if (records.length === 0) return;
    pipeline.expectedNext.set(partition, last + 1n);
    this.stats.carRecords += records.length;
    this.metrics.recordsIn(this.options.carTopic, partition, records.length);
    const rebuildEnd = pipeline.rebuilding.get(partition);
    // Reaching the high watermark also ends it: offsets a transaction marker or compaction took
    // never arrive.
    if (rebuildEnd !== undefined && (last + 1n >= rebuildEnd || last + 1n >= highWatermark)) {
      pipeline.rebuilding.delete(partition);
      this.metrics.rebuilt(partition, (performance.now() - pipeline.assignedAtMs) / 1000);
    }
    pipeline.dispatcher.send(records, partition, Date.now() / 1000);
    // Backpressure: the fetch waits while the partition's shard has enough in hand, or the output
    // side is behind.
    await pipeline.dispatcher.room(partition);
    await this.publisher.room();
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * A finite replay: partitions read to their end offsets stop holding the stream back; once all
   * are, every window up to the last event is closed, published and committed, and `finished`
   * resolves.
   */
  private async closeIfDrained(pipeline: Pipeline): Promise<void> {
    if (pipeline.closed) return;
    const nowS = Date.now() / 1000;
    let all = true;
    for (const p of pipeline.assigned) {
      if (pipeline.drainedTo(p)) pipeline.admission.setFinished(p, nowS);
      else all = false;
    }
    if (!all || pipeline.assigned.length === 0) return;
    pipeline.closed = true;
    pipeline.dispatcher.closeAll(nowS);
    await pipeline.dispatcher.drained();
    await this.publisher.settle();
    const through = pipeline.admission.nextEnd - this.spec.advanceS;
    this.emit(
      'info',
      `saferoads: every assigned partition read to its end; ${Number.isFinite(through) ? `windows closed through ${new Date(through * 1000).toISOString()}` : 'no window to close'}`,
    );
    this.finish();
  }

  /** The partitions of the car topic this instance owns now. */
  get assignedPartitions(): readonly number[] {
    return this.pipeline.assigned;
  }

  /** Resolves when everything handed to the service so far is processed, published and committed. */
  async idle(): Promise<void> {
    await this.chain;
    await this.pipeline.dispatcher.drained();
    await this.publisher.idle();
    await this.chain.then(() => this.publisher.settle());
  }

  /** Graceful stop: finish the batch in hand, publish and commit, then leave the group and end the shards. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // From here a broker that is gone (stopped with us, or by an operator) is expected: the Kafka
    // client's errors about it are not news.
    this.kafkaLogging?.quiet();
    if (this.ticker) clearInterval(this.ticker);
    this.watch?.stop();
    // After a failure nothing is committed: end the produce retries in flight now (a broker gone for
    // good would hold them for up to maxOutageMs).
    if (this.failure !== undefined) await this.producer.close().catch(() => undefined);
    // Stop fetching, finish what was fetched, publish it and commit while still in the group.
    for (const p of this.pipeline.assigned) this.consumer?.pause(this.options.carTopic, p);
    await this.chain;
    await this.pipeline.dispatcher.drained();
    await this.publisher.idle();
    if (this.failure === undefined) await this.publisher.commit();
    // Leaving the group (not just going silent) hands the partitions over at once.
    await this.consumer?.close().catch(() => undefined);
    await this.chain;
    for (const w of this.modelWatches) w.close();
    await this.modelFeed.close();
    await this.weather.close();
    await this.producer.close().catch(() => undefined);
    await this.client.close().catch(() => undefined);
    await this.pool.close();
  }
}
