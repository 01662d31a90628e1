import { DECODE_OK, EventColumnsBuilder } from '../codec/seed-json.js';
import { hasLoopEventBatchIdentifier, LoopEventBatchDecoder } from '../codec/loop-event-batch.js';
import { Reason, REASON_NAMES, type ReasonCode } from '../kernel/contract.js';
import type { EventColumns } from '../kernel/kernel.js';
import type { IncomingRecord } from '../kafka/client.js';
import type { RoadPointTable } from '../road/points.js';
import type { OffsetTracker } from '../service/offsets.js';
import type { Admission } from './admission.js';
import { PackedColumns } from './columns.js';
import type { DeadLetter } from './dead-letter.js';
import type { SegmentResult } from './shard-protocol.js';
import { ShardPool } from './shard-pool.js';

/** Dead-letter reason of a record whose key is not its event's point_id. */
export const KEY_MISMATCH = 'KEY_MISMATCH';
/** Dead-letter reason of an event whose point's events arrived on another partition before. */
export const POINT_ON_TWO_PARTITIONS = 'POINT_ON_TWO_PARTITIONS';

/** Host reasons, after the kernel's field checks (negative: never a kernel ReasonCode). */
const KEY_MISMATCHED = -2;
const ON_TWO_PARTITIONS = -3;
type HostReason = typeof KEY_MISMATCHED | typeof ON_TWO_PARTITIONS;

/** The DLQ name of a kernel or host reason (the user knows points by point_id, not by dense index). */
export function reasonName(code: ReasonCode | HostReason): string {
  if (code === KEY_MISMATCHED) return KEY_MISMATCH;
  if (code === ON_TWO_PARTITIONS) return POINT_ON_TWO_PARTITIONS;
  return code === Reason.UNKNOWN_POINT ? 'UNKNOWN_POINT_ID' : REASON_NAMES[code];
}

/**
 * One round of shard work: each shard got the events admitted since the last flush, then the
 * watermark. `finalEnds` are the window ends whose rows the results carry, oldest first.
 */
export interface Flush {
  finalEnds: number[];
  /** performance.now() when the watermark passed these ends (for the emission latency). */
  createdAtMs: number;
  results: Promise<SegmentResult>[];
  /** Per result: the source record of each event, to route a shard refusal. */
  sources: IncomingRecord[][];
}

/** Records of one partition waiting to be routed, and where routing stopped inside them. */
interface Backlog {
  records: readonly IncomingRecord[];
  /** Next record to route. */
  next: number;
  /** Next event inside that record (FlatBuffers batches hold many). */
  event: number;
  /** Events of FlatBuffers record `next` refused so far (kept while parked inside it). */
  refused?: [number, string][];
  /** The partition's largest admitted event time before record `maxBeforeOf` (restart points). */
  maxBefore: number;
  maxBeforeOf: number;
}

const PARKED = -1;

/**
 * Host stage: decodes records (seed JSON or FlatBuffers LoopEventBatch), admits each event against
 * the service's watermark (Admission) and routes admitted events by point to their shard. When a
 * window end becomes final it flushes: every shard gets its pending events, then the watermark, so
 * rows for that end come back from all shards.
 *
 * Watermark alignment: an event the shards' rings cannot hold yet (its partition runs ahead of the
 * others) parks its partition — the rest of its records wait here, and the caller pauses fetching
 * it — until W moves on; then routing resumes where it stopped. Nothing early is refused.
 */
export class Router {
  private readonly json = new EventColumnsBuilder(1);
  private readonly batchDecoder = new LoopEventBatchDecoder();
  private readonly denseOfRef: number[] = [];
  private readonly pending: PackedColumns[];
  private readonly pendingSources: IncomingRecord[][];
  private readonly finalEnds: number[] = [];
  private readonly indexOf: (id: string) => number | undefined;
  private readonly backlogs: Backlog[][];
  private readonly parked: boolean[];
  /** Whether each shard's kernel got its start (the first task after the stream started carries it). */
  private readonly shardStarted: boolean[];
  /** Partitions parked / unparked since the caller last asked (to pause / resume fetching). */
  private parkChanges = new Map<number, boolean>();
  private offset = 0;
  private slot = 0;
  private maxBefore = -Infinity;
  /** Per point: its point_id as bytes, to compare with record keys without allocating. */
  private readonly pointIdBytes: Buffer[];
  /**
   * Per partition slot: records before this offset are re-read after an assignment (from the
   * restart point up to the committed offset): they restore window state, but their dead letters
   * were written the first time and are not written again.
   */
  private readonly replayUntil: Float64Array;
  /** Per point: the partition its events arrive on (the producers' partitioner decides; learned). */
  readonly pointPartition: Int32Array;

  /** Dead letters of re-read records: written the first time, dropped now. */
  private readonly discarded: DeadLetter[] = [];

  constructor(
    private readonly admission: Admission,
    private readonly pool: ShardPool,
    private readonly points: RoadPointTable,
    private readonly offsets: OffsetTracker,
    private readonly advanceS: number,
    partitions: number,
    segmentCapacity = 16_384,
    /** Called once per point, when its first event is admitted on partition slot `slot`. */
    private readonly onPointLearned: (point: number, slot: number) => void = () => undefined,
  ) {
    this.pending = Array.from({ length: pool.shards }, () => new PackedColumns(segmentCapacity));
    this.pendingSources = Array.from({ length: pool.shards }, () => []);
    this.indexOf = (id) => points.indexOf(id);
    this.backlogs = Array.from({ length: partitions }, () => []);
    this.replayUntil = new Float64Array(partitions).fill(-1);
    this.pointIdBytes = points.points.map((p) => Buffer.from(p.pointId));
    this.pointPartition = new Int32Array(points.points.length).fill(-1);
    this.parked = new Array<boolean>(partitions).fill(false);
    this.shardStarted = new Array<boolean>(pool.shards).fill(false);
  }

  /**
   * Routes `records` of partition slot `slot` (offset order) after any of its records still
   * waiting. Flushes are appended to `flushes`, unusable records to `deadLetters`.
   */
  route(records: readonly IncomingRecord[], slot: number, nowS: number, flushes: Flush[], deadLetters: DeadLetter[]): void {
    this.backlogs[slot].push({ records, next: 0, event: 0, maxBefore: -Infinity, maxBeforeOf: -1 });
    if (!this.parked[slot]) this.drain(slot, nowS, flushes, deadLetters);
    this.retryParked(nowS, flushes, deadLetters);
    this.flush(nowS, flushes, false);
  }

  /** Lets wall-clock time pass (idle partitions); flushes if a window end became final. */
  tick(nowS: number, flushes: Flush[], deadLetters: DeadLetter[]): void {
    this.admission.tick(nowS);
    if (this.admission.hasFinalEnd) this.flush(nowS, flushes, true);
    this.retryParked(nowS, flushes, deadLetters);
    this.flush(nowS, flushes, false);
  }

  /** Records of `slot` before `offset` are re-read (no dead letters again). */
  replayBefore(slot: number, offset: number): void {
    this.replayUntil[slot] = offset;
  }

  /** Whether `slot` is parked (records of it wait here). */
  isParked(slot: number): boolean {
    return this.parked[slot];
  }

  /** Whether `offset` of `slot` is re-read after an assignment (its dead letters were written before). */
  isReplay(slot: number, offset: number): boolean {
    return offset < this.replayUntil[slot];
  }

  /** The dead letter's detail for a refused JSON event of dense point `point`. */
  private refusal(reason: ReasonCode | HostReason, point: number): string {
    if (reason === KEY_MISMATCHED) return `the record's key is not its point_id (${this.points.byIndex(point).pointId})`;
    if (reason === ON_TWO_PARTITIONS) {
      return `point ${this.points.byIndex(point).pointId} is counted on partition ${this.pointPartition[point]}, where its events arrived first; producers must send a point's events to one partition (one partitioner for all)`;
    }
    return `event refused: ${reasonName(reason)}`;
  }

  /** Partitions whose state changed since the last call: true = parked (pause it), false = resume. */
  takeParkChanges(): Map<number, boolean> {
    const changes = this.parkChanges;
    this.parkChanges = new Map();
    return changes;
  }

  /** Records waiting in parked partitions (bounded by what was fetched before the pause). */
  get backlogRecords(): number {
    let n = 0;
    for (const queue of this.backlogs) for (const b of queue) n += b.records.length - b.next;
    return n;
  }

  private setParked(slot: number, parked: boolean): void {
    if (this.parked[slot] === parked) return;
    this.parked[slot] = parked;
    this.admission.setBacklog(slot, parked);
    this.parkChanges.set(slot, parked);
  }

  /** Routes the backlog of `slot` until it is empty (true) or the partition parks (false). */
  private drain(slot: number, nowS: number, flushes: Flush[], deadLetters: DeadLetter[]): boolean {
    const queue = this.backlogs[slot];
    const replayUntil = this.replayUntil[slot];
    this.slot = slot;
    while (queue.length > 0) {
      const b = queue[0];
      while (b.next < b.records.length) {
        const record = b.records[b.next];
        this.offset = Number(record.offset);
        if (b.maxBeforeOf !== b.next) {
          b.maxBefore = this.admission.maxEventTime(slot);
          b.maxBeforeOf = b.next;
        }
        this.maxBefore = b.maxBefore;
        const dead = this.offset < replayUntil ? this.discarded : deadLetters;
        this.discarded.length = 0;
        const value = record.value;
        const done =
          value !== null && hasLoopEventBatchIdentifier(value)
            ? this.routeBatchMessage(b, record, slot, nowS, flushes, dead)
            : this.routeJson(record, slot, nowS, flushes, dead);
        if (!done) {
          this.setParked(slot, true);
          return false;
        }
        this.offsets.routed(slot, this.offset);
        this.offsets.setMaxEventTime(slot, this.admission.maxEventTime(slot));
        b.next++;
        b.event = 0;
        b.refused = undefined;
      }
      queue.shift();
    }
    this.setParked(slot, false);
    return true;
  }

  /** After W moved: parked partitions may fit now. Repeats while any of them makes progress. */
  private retryParked(nowS: number, flushes: Flush[], deadLetters: DeadLetter[]): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (let slot = 0; slot < this.parked.length; slot++) {
        if (!this.parked[slot]) continue;
        const before = this.backlogs[slot][0];
        const mark = before ? `${before.next}:${before.event}` : '';
        if (this.drain(slot, nowS, flushes, deadLetters)) progress = true;
        else {
          const after = this.backlogs[slot][0];
          if (after !== before || `${after.next}:${after.event}` !== mark) progress = true;
        }
      }
    }
  }

  /** Routes one JSON record: true when done with it (admitted or dead-lettered), false when parked. */
  private routeJson(record: IncomingRecord, slot: number, nowS: number, flushes: Flush[], dead: DeadLetter[]): boolean {
    const b = this.json;
    b.reset();
    const decoded = b.appendJson(record.value, slot, this.indexOf);
    if (decoded !== DECODE_OK) {
      dead.push({ record, reason: decoded, detail: b.detail });
      return true;
    }
    const reason = this.admitOne(b.columns, 0, record, nowS, flushes);
    if (reason === PARKED) return false;
    if (reason !== Reason.OK) dead.push({ record, reason: reasonName(reason), detail: this.refusal(reason, b.columns.point[0]) });
    return true;
  }

  /**
   * Routes the events of one FlatBuffers record from `b.event` on; false when parked inside it.
   * A record parked inside is decoded again when routing resumes (decoding is cheap and repeatable).
   */
  private routeBatchMessage(b: Backlog, record: IncomingRecord, slot: number, nowS: number, flushes: Flush[], dead: DeadLetter[]): boolean {
    let columns: EventColumns;
    try {
      columns = this.batchDecoder.decode(record.value!, slot);
    } catch (error) {
      dead.push({ record, reason: 'INVALID_FLATBUFFERS', detail: error instanceof Error ? error.message : String(error) });
      return true;
    }
    // point_ref → dense point index: one lookup per distinct point_id of the message, not per event.
    const pointIds = this.batchDecoder.pointIds;
    const dense = this.denseOfRef;
    dense.length = pointIds.length;
    for (let k = 0; k < pointIds.length; k++) dense[k] = this.indexOf(pointIds[k]) ?? -1;
    for (let i = 0; i < columns.count; i++) {
      const ref = columns.point[i];
      columns.point[i] = ref >= 0 && ref < dense.length ? dense[ref] : -1;
    }
    for (; b.event < columns.count; b.event++) {
      const reason = this.admitOne(columns, b.event, record, nowS, flushes);
      if (reason === PARKED) return false;
      if (reason !== Reason.OK) (b.refused ??= []).push([b.event, reasonName(reason)]);
    }
    if (b.refused) {
      dead.push({
        record,
        reason: b.refused[0][1],
        detail: `${b.refused.length} of ${columns.count} events refused`,
        events: b.refused,
      });
    }
    return true;
  }

  /** Admission of one event: refused (a reason), PARKED (its ring slot is not free yet), or sent. */
  private admitOne(
    c: EventColumns,
    i: number,
    record: IncomingRecord,
    nowS: number,
    flushes: Flush[],
  ): ReasonCode | HostReason | typeof PARKED {
    const reason = this.admission.check(c, i, nowS);
    if (reason !== Reason.OK) return reason;
    // The key decides the partition, so which instance owns the point's state: an event keyed by
    // another point would be counted by the wrong owner.
    if (record.key !== null && !record.key.equals(this.pointIdBytes[c.point[i]])) return KEY_MISMATCHED;
    // A point's state lives with one partition: events of it on a second one (producers with
    // different partitioners, a topic whose partitions were added) would split it between owners.
    const seenOn = this.pointPartition[c.point[i]];
    if (seenOn >= 0 && seenOn !== this.slot) return ON_TWO_PARTITIONS;
    // Nothing is admitted before the stream starts: the start waits for every partition's first event.
    if (!this.admission.started && !this.admission.noteFirst(this.slot, c.tOut2[i], nowS)) return PARKED;
    this.admission.observe(c, i, nowS);
    const pane = Math.floor(c.tOut2[i] / this.advanceS);
    if (!this.admission.needed(this.slot, pane)) return Reason.LATE;
    // Emit what became final first: that moves the rings on, and the event may fit afterwards.
    if (this.admission.hasFinalEnd) this.flush(nowS, flushes, true);
    if (!this.admission.fits(pane)) return PARKED;
    const point = c.point[i];
    if (seenOn < 0) {
      this.pointPartition[point] = this.slot;
      this.onPointLearned(point, this.slot);
    }
    const shard = ShardPool.shardOf(point, this.pool.shards);
    const batch = this.pending[shard];
    if (batch.full) {
      const flush: Flush = { finalEnds: [], createdAtMs: performance.now(), results: [], sources: [] };
      this.sendShard(shard, nowS, NaN, flush);
      flushes.push(flush);
    }
    this.offsets.admitted(this.slot, this.offset, pane, this.maxBefore);
    batch.append(c, i);
    this.pendingSources[shard].push(record);
    return Reason.OK;
  }

  private sendShard(shard: number, nowS: number, advanceTo: number, flush: Flush): void {
    const { buffer, count } = this.pending[shard].take();
    // A shard's first task starts its kernel where the stream started, before its events.
    const startAt = this.shardStarted[shard] ? NaN : this.admission.startWatermark;
    this.shardStarted[shard] = true;
    flush.results.push(this.pool.segment(shard, buffer, count, nowS, startAt, advanceTo));
    flush.sources.push(this.pendingSources[shard]);
    this.pendingSources[shard] = [];
  }

  /**
   * Sends every shard its pending events. With `advance`, the watermark follows and the final ends
   * are taken: all shards get a task then, even with no events, since every shard has rows to emit.
   */
  private flush(nowS: number, flushes: Flush[], advance: boolean): void {
    if (!this.admission.started) return;
    const advanceTo = advance && this.admission.started ? this.admission.watermark : NaN;
    if (advance) this.admission.takeFinalEnds(this.finalEnds);
    const flush: Flush = { finalEnds: advance ? [...this.finalEnds] : [], createdAtMs: performance.now(), results: [], sources: [] };
    for (let shard = 0; shard < this.pending.length; shard++) {
      if (!advance && this.pending[shard].count === 0) continue;
      this.sendShard(shard, nowS, advanceTo, flush);
    }
    if (flush.results.length > 0) flushes.push(flush);
  }
}
