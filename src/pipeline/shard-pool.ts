import { join } from 'node:path';
import { Piscina } from 'piscina';
import { PACKAGE_ROOT } from '../paths.js';
import type { WeatherReading } from '../join/types.js';
import type { ShardStatus } from '../observe/probe.js';
import type { InitTask, SegmentResult, ShardPoint, ShardTask } from './shard-protocol.js';

/** Worker threads run built JavaScript: dist/ holds it whether the host runs from src/ or dist/. */
export const SHARD_WORKER = join(PACKAGE_ROOT, 'dist', 'src', 'pipeline', 'shard-worker.js');

/**
 * N shards, each a Piscina pool of exactly one thread. Piscina's balancer would send a task to the
 * least busy worker; a shard's kernel state lives in one thread, so routing is explicit: a pool per
 * shard, whose FIFO queue also keeps each shard's segments and weather updates in order.
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

  /** The shard that owns a dense point index. */
  static shardOf(point: number, shards: number): number {
    return point % shards;
  }

  async init(
    base: Omit<InitTask, 'kind' | 'shard' | 'points'>,
    points: readonly ShardPoint[],
  ): Promise<{ bytesPerPoint: number; memoryBytes: number }[]> {
    const sizes = await Promise.all(
      this.pools.map(
        (_, shard) =>
          this.run(shard, {
            kind: 'init',
            shard,
            ...base,
            points: points.filter((p) => ShardPool.shardOf(p.index, this.shards) === shard),
          }) as Promise<{ bytesPerPoint: number; memoryBytes: number }>,
      ),
    );
    sizes.forEach((size, shard) => (this.kernelBytes[shard] = size.memoryBytes));
    return sizes;
  }

  /** Weather is global: every shard gets every reading (queued behind its pending segments). */
  broadcastWeather(readings: WeatherReading[]): Promise<unknown[]> {
    return Promise.all(this.pools.map((_, shard) => this.run(shard, { kind: 'weather', readings })));
  }

  segment(shard: number, buffer: ArrayBuffer, count: number, nowS: number, startAt: number, advanceTo: number): Promise<SegmentResult> {
    return this.run(shard, { kind: 'segment', buffer, count, nowS, startAt, advanceTo }, [buffer]) as Promise<SegmentResult>;
  }

  reset(): Promise<unknown[]> {
    return Promise.all(this.pools.map((_, shard) => this.run(shard, { kind: 'reset' })));
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
