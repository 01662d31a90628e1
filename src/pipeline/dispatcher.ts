import type { IncomingRecord } from '../kafka/client.js';
import type { OffsetTracker } from '../service/offsets.js';
import type { Admission } from './admission.js';
import type { DeadLetter } from './dead-letter.js';
import type { RecordsTask, ShardDeadLetter, ShardReport } from './shard-protocol.js';
import type { ShardPool } from './shard-pool.js';

/**
 * One round of emission: W passed `finalEnds` (oldest first) and every shard was told; each result
 * (index = shard) carries the rows of the points that shard may publish.
 */
export interface Flush {
  finalEnds: number[];
  /** performance.now() when the watermark passed these ends (for the emission latency). */
  createdAtMs: number;
  results: Promise<ShardReport>[];
}

/** What the dispatcher hands back to the service, in the order it must be published. */
export interface DispatcherHooks {
  /** Flushes and dead letters to publish, after everything handed over before. */
  output(flushes: Flush[], dead: DeadLetter[]): void;
  /**
   * Pause fetching a partition (true: fetched batches of it pile up in its shard while it runs
   * ahead of W) or resume it.
   */
  hold(slot: number, hold: boolean): void;
  /** A point's first event was admitted on partition `slot`. */
  learned(point: number, slot: number): void;
  /** A shard task failed (a crashed worker): the service stops. */
  failed(error: unknown): void;
}

/** Records of one partition handed to its shard, kept until the shard has routed past them. */
interface SentBatch {
  records: readonly IncomingRecord[];
  lastOffset: number;
}

/** Tasks a shard may have queued before the host waits (bounds memory, keeps latency low). */
const MAX_TASKS_PER_SHARD = 4;

/**
 * Batches of a parked partition its shard may hold before the host pauses fetching it. Not at the
 * first park: a partition parks for moments all the time (alignment, the start), and kafkajs sleeps
 * its whole maxWaitTime when every partition it fetches is paused.
 */
const HOLD_AT_BATCHES = 2;

/**
 * Host stage: hands each fetched batch, as raw bytes, to the shard that reads its partition, and
 * runs the stream's clock from the shards' reports — per partition its first event time and its
 * largest admitted event time — never from events. When W passes a window end every shard is told
 * (in its FIFO queue, behind the batches sent before), so rows for that end come from all shards
 * and include every event admitted before it.
 *
 * Why this is exact without seeing events: a shard admits an event only if its pane ends after its
 * partition's own watermark, and W is at most the smallest partition watermark the reports showed;
 * so no event still in flight can belong to a window end W already passed (idle partitions aside,
 * see admission.ts).
 */
export class Dispatcher {
  private readonly sent: SentBatch[][];
  private readonly inFlight: Int32Array;
  private readonly parked: Uint8Array;
  private readonly held: Uint8Array;
  private readonly startSent: boolean[];
  private readonly waiters: (() => void)[][];
  private pendingTasks = 0;
  private drainedWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly admission: Admission,
    private readonly pool: ShardPool,
    private readonly offsets: OffsetTracker,
    /** Per partition slot: the shard that reads it. */
    readonly shardOfPartition: Int32Array,
    private readonly hooks: DispatcherHooks,
  ) {
    const partitions = shardOfPartition.length;
    this.sent = Array.from({ length: partitions }, () => []);
    this.inFlight = new Int32Array(partitions);
    this.parked = new Uint8Array(partitions);
    this.held = new Uint8Array(partitions);
    this.startSent = new Array<boolean>(pool.shards).fill(false);
    this.waiters = Array.from({ length: pool.shards }, () => []);
  }

  /** Reports of this dispatcher's tasks are ignored from now on (a new assignment replaced it). */
  close(): void {
    this.closed = true;
  }

  /** Whether `slot`'s shard holds records of it back (it runs ahead of W) or has its batches in hand. */
  isBusy(slot: number): boolean {
    return this.parked[slot] === 1 || this.inFlight[slot] > 0;
  }

  /** Resolves once `slot`'s shard has room for another batch. */
  room(slot: number): Promise<void> | undefined {
    const shard = this.shardOfPartition[slot];
    if (shard < 0 || this.pool.pendingOf(shard) < MAX_TASKS_PER_SHARD) return undefined;
    return new Promise((resolve) => this.waiters[shard].push(resolve));
  }

  /** Resolves once every task handed to the shards so far is reported and handled. */
  drained(): Promise<void> {
    if (this.pendingTasks === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  /** Hands `records` of partition `slot` (offset order) to its shard as bytes. */
  send(records: readonly IncomingRecord[], slot: number, nowS: number): void {
    const shard = this.shardOfPartition[slot];
    if (shard < 0) return;
    const task = packRecords(records, slot, nowS);
    this.sent[slot].push({ records, lastOffset: Number(records[records.length - 1].offset) });
    this.inFlight[slot]++;
    this.admission.setBacklog(slot, true);
    this.track(this.pool.records(shard, task), shard, () => this.inFlight[slot]--);
  }

  /** Lets wall-clock time pass (idle partitions): W may move without a report. */
  tick(nowS: number): void {
    this.admission.tick(nowS);
    this.advance(nowS, []);
  }

  /** Every assigned partition is read to its end (a finite replay): W moves to the last event. */
  closeAll(nowS: number): void {
    this.admission.closeAll(nowS);
    this.advance(nowS, []);
  }

  private track(result: Promise<ShardReport>, shard: number, done: () => void): Promise<ShardReport> {
    this.pendingTasks++;
    const handled = result.then(
      (report) => {
        done();
        // Handled before the task counts as finished: what it starts (an advance) is pending first.
        if (!this.closed) this.handle(report);
        this.finishTask(shard);
        return report;
      },
      (error: unknown) => {
        done();
        this.hooks.failed(error);
        this.finishTask(shard);
        throw error;
      },
    );
    handled.catch(() => undefined);
    return handled;
  }

  private finishTask(shard: number): void {
    this.pendingTasks--;
    const waiting = this.waiters[shard];
    if (waiting.length > 0 && this.pool.pendingOf(shard) < MAX_TASKS_PER_SHARD) waiting.shift()!();
    if (this.pendingTasks === 0) {
      const drained = this.drainedWaiters;
      this.drainedWaiters = [];
      for (const resolve of drained) resolve();
    }
  }

  /** A shard's report: the partitions' progress moves W; dead letters are matched to their records. */
  private handle(report: ShardReport): void {
    const nowS = Date.now() / 1000;
    const dead: DeadLetter[] = [];
    for (const d of report.dead) {
      const record = this.recordAt(d);
      if (record) dead.push({ record, reason: d.reason, detail: d.detail, events: d.events });
    }
    for (let k = 0; k < report.learned.length; k += 2) this.hooks.learned(report.learned[k], report.learned[k + 1]);
    for (const p of report.partitions) {
      this.offsets.restore(p.slot, p.offsets);
      this.forgetRouted(p.slot, p.offsets[0]);
      this.parked[p.slot] = p.parked ? 1 : 0;
      const hold = p.parked && p.waiting >= HOLD_AT_BATCHES ? 1 : 0;
      if (hold !== this.held[p.slot]) {
        this.held[p.slot] = hold;
        this.hooks.hold(p.slot, hold === 1);
      }
      this.admission.setBacklog(p.slot, this.isBusy(p.slot));
      this.admission.report(p.slot, p.firstTime, p.maxEventTime, nowS);
    }
    this.advance(nowS, dead);
  }

  /** Tells every shard that W moved (or the stream started), then hands the outputs over. */
  private advance(nowS: number, dead: DeadLetter[]): void {
    const a = this.admission;
    const flushes: Flush[] = [];
    const starting = a.started && this.startSent.some((sent) => !sent);
    if (a.hasFinalEnd || starting) {
      const finalEnds: number[] = [];
      a.takeFinalEnds(finalEnds);
      const flush: Flush = { finalEnds, createdAtMs: performance.now(), results: [] };
      for (let shard = 0; shard < this.pool.shards; shard++) {
        const startAt = this.startSent[shard] ? NaN : a.startWatermark;
        this.startSent[shard] = true;
        flush.results.push(this.track(this.pool.advance(shard, startAt, a.watermark, nowS), shard, () => undefined));
      }
      flushes.push(flush);
    }
    if (flushes.length > 0 || dead.length > 0) this.hooks.output(flushes, dead);
  }

  private recordAt(d: ShardDeadLetter): IncomingRecord | undefined {
    for (const batch of this.sent[d.slot]) {
      if (d.offset > batch.lastOffset) continue;
      const records = batch.records;
      let lo = 0;
      let hi = records.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const offset = Number(records[mid].offset);
        if (offset === d.offset) return records[mid];
        if (offset < d.offset) lo = mid + 1;
        else hi = mid - 1;
      }
      return undefined;
    }
    return undefined;
  }

  /** Batches wholly before `position` (the next offset the shard routes) are done with. */
  private forgetRouted(slot: number, position: number): void {
    const queue = this.sent[slot];
    let k = 0;
    while (k < queue.length && queue[k].lastOffset < position) k++;
    if (k > 0) queue.splice(0, k);
  }
}

/**
 * A batch as one task: its keys and values in one buffer that moves to the worker. kafkajs hands
 * out keys and values as views into the fetched response, so one copy of the span they lie in is
 * usually all it takes (no per-record copy); otherwise each is copied in turn.
 */
export function packRecords(records: readonly IncomingRecord[], slot: number, nowS: number): RecordsTask {
  const count = records.length;
  const valueStart = new Int32Array(count);
  const valueEnd = new Int32Array(count);
  const keyStart = new Int32Array(count);
  const keyEnd = new Int32Array(count);
  const nulls = new Uint8Array(count);
  const offsets = new Float64Array(count);
  let shared: ArrayBufferLike | undefined;
  let sameBuffer = true;
  let lo = Infinity;
  let hi = 0;
  let total = 0;
  for (let k = 0; k < count; k++) {
    const r = records[k];
    offsets[k] = Number(r.offset);
    for (let part = 0; part < 2; part++) {
      const b = part === 0 ? r.value : r.key;
      if (b === null) {
        nulls[k] |= part === 0 ? 1 : 2;
        continue;
      }
      total += b.length;
      shared ??= b.buffer;
      if (b.buffer !== shared) sameBuffer = false;
      if (b.byteOffset < lo) lo = b.byteOffset;
      if (b.byteOffset + b.length > hi) hi = b.byteOffset + b.length;
    }
  }
  // One copy of the span, if the records share a buffer and the span is not mostly other bytes.
  if (shared !== undefined && sameBuffer && hi - lo <= 2 * total + 65_536) {
    const bytes = new ArrayBuffer(hi - lo);
    new Uint8Array(bytes).set(new Uint8Array(shared, lo, hi - lo));
    for (let k = 0; k < count; k++) {
      const r = records[k];
      if (r.value !== null) {
        valueStart[k] = r.value.byteOffset - lo;
        valueEnd[k] = valueStart[k] + r.value.length;
      }
      if (r.key !== null) {
        keyStart[k] = r.key.byteOffset - lo;
        keyEnd[k] = keyStart[k] + r.key.length;
      }
    }
    return { kind: 'records', slot, count, bytes, valueStart, valueEnd, keyStart, keyEnd, nulls, offsets, nowS };
  }
  const bytes = new ArrayBuffer(total);
  const view = new Uint8Array(bytes);
  let at = 0;
  for (let k = 0; k < count; k++) {
    const r = records[k];
    if (r.value !== null) {
      view.set(r.value, at);
      valueStart[k] = at;
      at += r.value.length;
      valueEnd[k] = at;
    }
    if (r.key !== null) {
      view.set(r.key, at);
      keyStart[k] = at;
      at += r.key.length;
      keyEnd[k] = at;
    }
  }
  return { kind: 'records', slot, count, bytes, valueStart, valueEnd, keyStart, keyEnd, nulls, offsets, nowS };
}
