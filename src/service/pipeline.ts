/**
 * The assignment-scoped half of the service: what depends on which partitions this instance owns,
 * made new on each assignment (service.ts `assign`). It is also the publisher's OutputScope: which
 * rows are this instance's to publish, and which shard's row of a point counts.
 */
import type { CommitOffset } from '../kafka/client.js';
import type { WindowSpec } from '../kernel/window-spec.js';
import { Admission } from '../pipeline/admission.js';
import { type DispatcherHooks, Dispatcher } from '../pipeline/dispatcher.js';
import { ShardPool } from '../pipeline/shard-pool.js';
import type { RoadPointTable } from '../road/points.js';
import { encodeRestartPoint, OffsetTracker } from './offsets.js';
import type { OutputScope } from './publisher.js';

/**
 * Everything that depends on which partitions this instance owns: replaced on each assignment.
 * Per partition it knows where reading stands, which records are re-read, and up to which window
 * end the partition's points' rows are already published.
 */
export class Pipeline implements OutputScope {
  readonly admission: Admission;
  /** Per partition, as the shards last reported: position and restart-point ring (offsets.ts). */
  readonly offsets: OffsetTracker;
  readonly dispatcher: Dispatcher;
  /** Per point, shared with the shards: the partition its events arrived on first (-1: none yet). */
  readonly learned: SharedArrayBuffer;
  private readonly learnedView: Int32Array;
  /** Per partition: the next offset to hand to the shards; records before it are in the state. */
  readonly expectedNext = new Map<number, bigint>();
  /** Per partition: the first offset of the last batch that skipped past the expected offset. */
  readonly gapAt = new Map<number, bigint>();
  /** Per partition: its end offset when assigned (a finite replay reads up to it). */
  readonly logEnd = new Map<number, bigint>();
  /** Per partition: its latest known end offset (the high watermark of its last batch): consumer lag. */
  readonly endOffset = new Map<number, bigint>();
  /** Partitions re-reading what an earlier owner processed, and where that ends (readiness, metrics). */
  readonly rebuilding = new Map<number, bigint>();
  /** Per partition: records before this offset were processed by an earlier owner (re-read). */
  readonly replayUntil = new Map<number, number>();
  /** performance.now() when the assignment began. */
  assignedAtMs = performance.now();
  /** A finite replay closed every window: nothing is left to do. */
  closed = false;
  private readonly mine: Uint8Array;

  constructor(
    readonly assigned: readonly number[],
    private readonly spec: WindowSpec,
    points: RoadPointTable,
    pool: ShardPool,
    partitions: number,
    /** Per point: the partition its key goes to with the producers' partitioner (--partitioner). */
    private readonly keyPartitionOf: Int32Array,
    hooks: DispatcherHooks,
  ) {
    const n = points.points.length;
    this.admission = new Admission(spec, partitions, Date.now() / 1000, (i) => i >= 0 && i < n);
    this.offsets = new OffsetTracker(partitions, spec.ringPanes + 2);
    this.learned = new SharedArrayBuffer(4 * Math.max(n, 1));
    this.learnedView = new Int32Array(this.learned).fill(-1);
    this.dispatcher = new Dispatcher(this.admission, pool, this.offsets, ShardPool.partitionShards(assigned, partitions, pool.shards), hooks);
    this.mine = new Uint8Array(partitions);
    for (const p of assigned) this.mine[p] = 1;
  }

  /** The partition a point's rows belong to: where its events arrive, else where its key goes. */
  private partitionOf(point: number): number {
    const seen = Atomics.load(this.learnedView, point);
    return seen >= 0 ? seen : this.keyPartitionOf[point];
  }

  publishes(point: number, end: number): boolean {
    const p = this.partitionOf(point);
    return this.mine[p] === 1 && end > this.admission.publishedThrough(p);
  }

  ownerShard(point: number): number {
    return this.dispatcher.shardOfPartition[this.partitionOf(point)];
  }

  contested(point: number): boolean {
    const seen = Atomics.load(this.learnedView, point);
    const shards = this.dispatcher.shardOfPartition;
    return seen >= 0 && shards[seen] !== shards[this.keyPartitionOf[point]];
  }

  private isReplay(p: number, offset: number): boolean {
    return offset < (this.replayUntil.get(p) ?? -1);
  }

  /** Every assigned partition's records are handed over, routed and emitted up to `logEnd` (a finite replay). */
  drainedTo(p: number): boolean {
    return (this.expectedNext.get(p) ?? 0n) >= (this.logEnd.get(p) ?? 0n) && !this.dispatcher.isBusy(p);
  }

  /**
   * Every assigned partition's position with its own restart point, as of now: the last window
   * end whose rows for its points are in the flushes just queued, and where the windows after it
   * start in the input. Partitions still re-reading keep their earlier commit.
   */
  restartOffsets(topic: string): CommitOffset[] {
    const a = this.admission;
    if (!a.started) return [];
    const { advanceS, longS } = this.spec;
    const offsets: CommitOffset[] = [];
    for (const p of this.assigned) {
      const position = this.offsets.positionOf(p);
      if (position < 0 || this.isReplay(p, position)) continue;
      const end = Math.max(a.nextEnd - advanceS, a.publishedThrough(p));
      const rebuild = this.offsets.rebuildPoint(p, (end + advanceS - longS) / advanceS);
      offsets.push({
        topic,
        partition: p,
        offset: BigInt(position),
        metadata: encodeRestartPoint({ end, rebuild: BigInt(rebuild.offset), max: rebuild.maxBefore }),
      });
    }
    return offsets;
  }
}
