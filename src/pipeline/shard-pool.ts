import { join } from 'node:path';
import { Piscina } from 'piscina';
import { PACKAGE_ROOT } from '../paths.js';
import type { WeatherReading } from '../join/types.js';
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

  constructor(readonly shards: number) {
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
    return Promise.all(
      this.pools.map((pool, shard) =>
        pool.run({
          kind: 'init',
          shard,
          ...base,
          points: points.filter((p) => ShardPool.shardOf(p.index, this.shards) === shard),
        }) as Promise<{ bytesPerPoint: number; memoryBytes: number }>,
      ),
    );
  }

  /** Weather is global: every shard gets every reading (queued behind its pending segments). */
  broadcastWeather(readings: WeatherReading[]): Promise<unknown[]> {
    return Promise.all(this.pools.map((pool) => pool.run({ kind: 'weather', readings })));
  }

  segment(shard: number, buffer: ArrayBuffer, count: number, nowS: number, startAt: number, advanceTo: number): Promise<SegmentResult> {
    return this.pools[shard].run(
      { kind: 'segment', buffer, count, nowS, startAt, advanceTo },
      { transferList: [buffer] },
    ) as Promise<SegmentResult>;
  }

  reset(): Promise<unknown[]> {
    return Promise.all(this.pools.map((pool) => pool.run({ kind: 'reset' })));
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.destroy()));
  }
}
