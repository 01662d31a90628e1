import { join } from 'node:path';
import { Piscina } from 'piscina';
import { PACKAGE_ROOT } from '../paths.js';
import type { WeatherReading } from '../join/types.js';
import type { ShardStatus } from '../observe/probe.js';
import type { InitTask, ModelsTask, ShardPartitionStart, ShardPoint, ShardReport, ShardTask } from './shard-protocol.js';

/** Worker threads run built JavaScript: dist/ holds it whether the host runs from src/ or dist/. */
export const SHARD_WORKER = join(PACKAGE_ROOT, 'dist', 'src', 'pipeline', 'shard-worker.js');

/**
 * N shards, each a Piscina pool of exactly one thread. Piscina's balancer would send a task to the
 * least busy worker; a shard's kernel state lives in one thread, so routing is explicit: a pool per
 * shard, whose FIFO queue also keeps each shard's batches, W advances and weather updates in order.
 *
 * A shard reads whole partitions: the assigned partitions are dealt round-robin over the shards
 * (more partitions than shards balance best).
 */
export class ShardPool {
  private readonly pools: Piscina<ShardTask, unknown>[];
  /** Per shard: tasks submitted and not finished; when it last made progress (for health and metrics). */
  private readonly pending: Int32Array;
  private readonly lastProgressMs: Float64Array;
  private readonly kernelBytes: Float64Array;

  constructor(readonly shards: number) {
    this.pending = new Int32Array(shards);
    this.lastProgressMs = new Float64Array(shards).fill(performance.now());
    this.kernelBytes = new Float64Array(shards);
    this.pools = Array.from(
      { length: shards },
      (_, shard) =>
        new Piscina<ShardTask, unknown>({
          filename: SHARD_WORKER,
          name: 'default',
          minThreads: 1,
          maxThreads: 1,
          // Infinity is Piscina's "never": a finite huge value overflows setTimeout and fires at once.
          idleTimeout: Infinity,
          concurrentTasksPerWorker: 1,
          // A shard's tasks must run in submission order (segments, then the watermark that emits
          // their rows). Without this, a task the busy worker could not take yet goes back to the
          // tail of the queue, behind tasks submitted after it.
          stricterFIFO: true,
          env: { ...process.env, SAFEROADS_SHARD: String(shard) },
        }),
    );
  }

  /** Per partition slot: the shard that reads it (-1: not assigned), assigned slots dealt in order. */
  static partitionShards(assigned: readonly number[], partitions: number, shards: number): Int32Array {
    const out = new Int32Array(partitions).fill(-1);
    [...assigned].sort((a, b) => a - b).forEach((slot, k) => (out[slot] = k % shards));
    return out;
  }

  async init(base: Omit<InitTask, 'kind' | 'shard' | 'points'>, points: readonly ShardPoint[]): Promise<{ bytesPerPoint: number; memoryBytes: number }[]> {
    const sizes = await Promise.all(
      this.pools.map((_, shard) => this.run(shard, { kind: 'init', shard, ...base, points: [...points] }) as Promise<{ bytesPerPoint: number; memoryBytes: number }>),
    );
    sizes.forEach((size, shard) => (this.kernelBytes[shard] = size.memoryBytes));
    return sizes;
  }

  /** Weather is global: every shard gets every reading (queued behind its pending segments). */
  broadcastWeather(readings: WeatherReading[]): Promise<unknown[]> {
    return Promise.all(this.pools.map((_, shard) => this.run(shard, { kind: 'weather', readings })));
  }

  /**
   * A new model schedule for every shard, queued behind what each has pending: batches and advances
   * sent before are scored as before (the schedule changes only ends not yet asked for).
   */
  broadcastModels(schedule: ModelsTask['schedule']): Promise<unknown[]> {
    return Promise.all(this.pools.map((_, shard) => this.run(shard, { kind: 'models', schedule })));
  }

  /** A fetched batch for the shard that reads its partition (the buffers are moved, not copied). */
  records(shard: number, task: Extract<ShardTask, { kind: 'records' }>): Promise<ShardReport> {
    return this.run(shard, task, [task.bytes]) as Promise<ShardReport>;
  }

  /** W moved (and the stream started at `startAt`, NaN after): the shard emits what became final. */
  advance(shard: number, startAt: number, advanceTo: number, nowS: number): Promise<ShardReport> {
    return this.run(shard, { kind: 'advance', startAt, advanceTo, nowS }) as Promise<ShardReport>;
  }

  /** A new assignment: every shard forgets its window state and reads its share of `starts`. */
  assign(shardOfPartition: Int32Array, learned: SharedArrayBuffer, starts: ShardPartitionStart[], nowS: number): Promise<unknown[]> {
    return Promise.all(this.pools.map((_, shard) => this.run(shard, { kind: 'assign', shardOfPartition, learned, starts, nowS })));
  }

  /** Tasks submitted to `shard` and not finished. */
  pendingOf(shard: number): number {
    return this.pending[shard];
  }

  /** Each shard's thread, queue and kernel memory, as of now (read by health checks and metrics). */
  status(): ShardStatus[] {
    return this.pools.map((pool, shard) => ({
      threads: pool.threads.length,
      pending: this.pending[shard],
      lastProgressMs: this.lastProgressMs[shard],
      kernelBytes: this.kernelBytes[shard],
    }));
  }

  /** Runs a task on a shard, counting it while it is pending (one count per task, not per event). */
  private run(shard: number, task: ShardTask, transferList?: ArrayBuffer[]): Promise<unknown> {
    // Work arriving at an idle shard starts its progress clock: a stall is measured from here.
    if (this.pending[shard]++ === 0) this.lastProgressMs[shard] = performance.now();
    const done = (): void => {
      this.pending[shard]--;
      this.lastProgressMs[shard] = performance.now();
    };
    const result = this.pools[shard].run(task, transferList ? { transferList } : undefined);
    result.then(done, done);
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.destroy()));
  }
}
