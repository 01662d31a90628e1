import { DECODE_OK, EventColumnsBuilder, type PointIndexBytes } from '../codec/seed-json.js';
import { hasLoopEventBatchIdentifier, LoopEventBatchDecoder } from '../codec/loop-event-batch.js';
import { Reason, REASON_NAMES, type ReasonCode } from '../kernel/contract.js';
import type { EventColumns } from '../kernel/kernel.js';
import type { WindowSpec } from '../kernel/window-spec.js';
import { OffsetTracker } from '../service/offsets.js';
import { Admission } from './admission.js';
import { PackedColumns } from './columns.js';
import type { PartitionReport, RecordsTask, ShardDeadLetter, ShardPartitionStart } from './shard-protocol.js';

/** Dead-letter reason of a record whose key is not its event's point_id. */
export const KEY_MISMATCH = 'KEY_MISMATCH';
/** Dead-letter reason of an event whose point's events arrived on another partition before. */
export const POINT_ON_TWO_PARTITIONS = 'POINT_ON_TWO_PARTITIONS';

/** Shard reasons, after the kernel's field checks (negative: never a kernel ReasonCode). */
const KEY_MISMATCHED = -2;
const ON_TWO_PARTITIONS = -3;
type ShardReason = typeof KEY_MISMATCHED | typeof ON_TWO_PARTITIONS;

/** The DLQ name of a kernel or shard reason (the user knows points by point_id, not by dense index). */
export function reasonName(code: ReasonCode | ShardReason): string {
  if (code === KEY_MISMATCHED) return KEY_MISMATCH;
  if (code === ON_TWO_PARTITIONS) return POINT_ON_TWO_PARTITIONS;
  return code === Reason.UNKNOWN_POINT ? 'UNKNOWN_POINT_ID' : REASON_NAMES[code];
}

/** The points a shard knows: dense index by point_id, and each point_id's bytes (key checks). */
export interface RouterPoints {
  count: number;
  indexOf(pointId: string): number | undefined;
  /** The same lookup from a point_id's bytes in a record (no string per event). */
  byBytes: PointIndexBytes;
  pointId(point: number): string;
  idBytes: readonly Uint8Array[];
}

/** Where admitted events go: the shard's kernel (`ingest` empties `events`). */
export interface AdmittedSink {
  readonly events: PackedColumns;
  /** Per admitted event: its record's partition slot and offset (to dead-letter a kernel refusal). */
  readonly slotOf: Int32Array;
  readonly offsetOf: Float64Array;
  ingest(): void;
}

/** One fetched batch of one partition waiting here, and where routing stopped inside it. */
interface Backlog {
  task: RecordsTask;
  bytes: Buffer;
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
 * A shard's routing of the partitions it reads: decodes their records (seed JSON or FlatBuffers
 * LoopEventBatch), checks and admits each event against its partition's own history (Admission,
 * following the host's W), and hands admitted events to the kernel. The host never sees an event.
 *
 * Watermark alignment: an event the kernel's ring cannot hold yet (its partition runs ahead of W)
 * parks its partition — the rest of its records wait here and the host pauses fetching it — until
 * the host moves W on; then routing resumes where it stopped. Nothing early is refused.
 *
 * Everything a decision depends on is the partition's own log, its restart point and W, so a re-read
 * after a restart decides the same (admission.ts).
 */
export class PartitionRouter {
  private readonly json = new EventColumnsBuilder(1);
  private readonly batchDecoder = new LoopEventBatchDecoder();
  private readonly denseOfRef: number[] = [];
  private readonly indexOf: (id: string) => number | undefined;
  private admission: Admission;
  private offsets: OffsetTracker;
  private readonly backlogs: Backlog[][];
  private readonly parked: boolean[];
  private readonly firstReported: boolean[];
  /** Partition slots touched since the last report. */
  private readonly touched: Uint8Array;
  private readonly replayUntil: Float64Array;
  private learnedPoints: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private offset = 0;
  private slot = 0;
  private maxBefore = -Infinity;
  private dead: ShardDeadLetter[] = [];
  private learned: number[] = [];
  /** Dead letters of re-read records: written the first time, dropped now. */
  private readonly discarded: ShardDeadLetter[] = [];

  constructor(
    private readonly spec: WindowSpec,
    private readonly partitions: number,
    private readonly points: RouterPoints,
    private readonly sink: AdmittedSink,
  ) {
    this.indexOf = (id) => points.indexOf(id);
    this.admission = this.newAdmission();
    this.offsets = new OffsetTracker(partitions, spec.ringPanes + 2);
    this.backlogs = Array.from({ length: partitions }, () => []);
    this.parked = new Array<boolean>(partitions).fill(false);
    this.firstReported = new Array<boolean>(partitions).fill(false);
    this.touched = new Uint8Array(partitions);
    this.replayUntil = new Float64Array(partitions).fill(-1);
  }

  private newAdmission(): Admission {
    const n = this.points.count;
    return new Admission(this.spec, this.partitions, Date.now() / 1000, (i) => i >= 0 && i < n, true);
  }

  /** A new assignment: all routing state is forgotten; `starts` are the partitions read from now on. */
  assign(starts: readonly ShardPartitionStart[], learned: Int32Array<ArrayBufferLike>, nowS: number): void {
    this.admission = this.newAdmission();
    this.offsets = new OffsetTracker(this.partitions, this.spec.ringPanes + 2);
    for (const queue of this.backlogs) queue.length = 0;
    this.parked.fill(false);
    this.firstReported.fill(false);
    this.touched.fill(0);
    this.replayUntil.fill(-1);
    this.learnedPoints = learned;
    this.dead = [];
    this.learned = [];
    this.sink.events.columns.count = 0;
    const starts_ = new Map(starts.map((s) => [s.slot, s]));
    for (const s of starts) {
      this.offsets.startAt(s.slot, s.readFrom, s.maxEventTime);
      this.replayUntil[s.slot] = s.replayUntil;
    }
    // A shard's admission decides for its own partitions only; W is the host's.
    this.admission.setAssigned([...starts_.keys()], starts_, nowS);
  }

  /** Routes one fetched batch of its partition after any of its records still waiting. */
  route(task: RecordsTask): void {
    const slot = task.slot;
    this.touched[slot] = 1;
    this.backlogs[slot].push({
      task,
      bytes: Buffer.from(task.bytes),
      next: 0,
      event: 0,
      maxBefore: -Infinity,
      maxBeforeOf: -1,
    });
    if (!this.parked[slot]) this.drain(slot, task.nowS);
  }

  /** The host started the stream (`startAt`, NaN after) and moved W: parked partitions may fit now. */
  follow(startAt: number, w: number, nowS: number): void {
    this.admission.follow(startAt, w);
    for (let slot = 0; slot < this.parked.length; slot++) {
      if (this.parked[slot]) {
        this.touched[slot] = 1;
        this.drain(slot, nowS);
      }
    }
  }

  /** A kernel refusal of admitted event `k` (after `sink.ingest`). */
  kernelRefused(k: number, reason: number): void {
    const slot = this.sink.slotOf[k];
    const offset = this.sink.offsetOf[k];
    if (offset < this.replayUntil[slot]) return;
    const name = REASON_NAMES[reason as ReasonCode] ?? String(reason);
    this.dead.push({ slot, offset, reason: name, detail: `refused by the shard kernel: ${name}` });
  }

  /** What changed since the last call, per partition touched; dead letters and points learned. */
  takeReport(): { partitions: PartitionReport[]; dead: ShardDeadLetter[]; learned: number[] } {
    const partitions: PartitionReport[] = [];
    for (let slot = 0; slot < this.touched.length; slot++) {
      if (this.touched[slot] === 0) continue;
      this.touched[slot] = 0;
      let firstTime = NaN;
      if (!this.firstReported[slot]) {
        firstTime = this.admission.firstEventTime(slot);
        if (!Number.isNaN(firstTime)) this.firstReported[slot] = true;
      }
      partitions.push({
        slot,
        firstTime,
        maxEventTime: this.admission.maxEventTime(slot),
        parked: this.parked[slot],
        waiting: this.backlogs[slot].length,
        offsets: this.offsets.snapshot(slot),
      });
    }
    const report = { partitions, dead: this.dead, learned: this.learned };
    this.dead = [];
    this.learned = [];
    return report;
  }

  /** Records waiting in parked partitions. */
  get backlogRecords(): number {
    let n = 0;
    for (const queue of this.backlogs) for (const b of queue) n += b.task.count - b.next;
    return n;
  }

  /** Routes the backlog of `slot` until it is empty (true) or the partition parks (false). */
  private drain(slot: number, nowS: number): boolean {
    const queue = this.backlogs[slot];
    const replayUntil = this.replayUntil[slot];
    this.slot = slot;
    while (queue.length > 0) {
      const b = queue[0];
      const t = b.task;
      while (b.next < t.count) {
        const k = b.next;
        this.offset = t.offsets[k];
        if (b.maxBeforeOf !== k) {
          b.maxBefore = this.admission.maxEventTime(slot);
          b.maxBeforeOf = k;
        }
        this.maxBefore = b.maxBefore;
        const dead = this.offset < replayUntil ? this.discarded : this.dead;
        this.discarded.length = 0;
        const from = t.valueStart[k];
        const to = t.valueEnd[k];
        const isNull = (t.nulls[k] & 1) === 1;
        const done =
          !isNull && hasLoopEventBatchIdentifier(b.bytes, from, to)
            ? this.routeBatchMessage(b, b.bytes.subarray(from, to), slot, nowS, dead)
            : this.routeJson(b, isNull ? null : b.bytes, from, to, slot, nowS, dead);
        if (!done) {
          this.parked[slot] = true;
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
    this.parked[slot] = false;
    return true;
  }

  /** The dead letter's detail for a refused event of dense point `point`. */
  private refusal(reason: ReasonCode | ShardReason, point: number): string {
    if (reason === KEY_MISMATCHED) return `the record's key is not its point_id (${this.points.pointId(point)})`;
    if (reason === ON_TWO_PARTITIONS) {
      return `point ${this.points.pointId(point)} is counted on partition ${this.learnedPoints[point]}, where its events arrived first; producers must send a point's events to one partition (one partitioner for all)`;
    }
    return `event refused: ${reasonName(reason)}`;
  }

  /** Routes one JSON record: true when done with it (admitted or dead-lettered), false when parked. */
  private routeJson(b: Backlog, bytes: Buffer | null, from: number, to: number, slot: number, nowS: number, dead: ShardDeadLetter[]): boolean {
    const json = this.json;
    json.reset();
    const decoded = json.appendJsonBytes(bytes, from, to, slot, this.points.byBytes);
    if (decoded !== DECODE_OK) {
      dead.push({ slot, offset: this.offset, reason: decoded, detail: json.detail });
      return true;
    }
    const reason = this.admitOne(json.columns, 0, b, nowS);
    if (reason === PARKED) return false;
    if (reason !== Reason.OK) dead.push({ slot, offset: this.offset, reason: reasonName(reason), detail: this.refusal(reason, json.columns.point[0]) });
    return true;
  }

  /**
   * Routes the events of one FlatBuffers record from `b.event` on; false when parked inside it.
   * A record parked inside is decoded again when routing resumes (decoding is cheap and repeatable).
   */
  private routeBatchMessage(b: Backlog, value: Buffer, slot: number, nowS: number, dead: ShardDeadLetter[]): boolean {
    let columns: EventColumns;
    try {
      columns = this.batchDecoder.decode(value, slot);
    } catch (error) {
      dead.push({ slot, offset: this.offset, reason: 'INVALID_FLATBUFFERS', detail: error instanceof Error ? error.message : String(error) });
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
      const reason = this.admitOne(columns, b.event, b, nowS);
      if (reason === PARKED) return false;
      if (reason !== Reason.OK) (b.refused ??= []).push([b.event, reasonName(reason)]);
    }
    if (b.refused) {
      dead.push({ slot, offset: this.offset, reason: b.refused[0][1], detail: `${b.refused.length} of ${columns.count} events refused`, events: b.refused });
    }
    return true;
  }

  /** Whether record `k`'s key equals point `point`'s id (a null key matches: nothing to compare). */
  private keyMatches(b: Backlog, point: number): boolean {
    const t = b.task;
    const k = b.next;
    if ((t.nulls[k] & 2) === 2) return true;
    const from = t.keyStart[k];
    const id = this.points.idBytes[point];
    if (t.keyEnd[k] - from !== id.length) return false;
    const keys = b.bytes;
    for (let j = 0; j < id.length; j++) if (keys[from + j] !== id[j]) return false;
    return true;
  }

  /** Admission of one event: refused (a reason), PARKED (its ring slot is not free yet), or admitted. */
  private admitOne(c: EventColumns, i: number, b: Backlog, nowS: number): ReasonCode | ShardReason | typeof PARKED {
    const reason = this.admission.check(c, i, nowS);
    if (reason !== Reason.OK) return reason;
    const point = c.point[i];
    // The key decides the partition, so which instance owns the point's state: an event keyed by
    // another point would be counted by the wrong owner.
    if (!this.keyMatches(b, point)) return KEY_MISMATCHED;
    // A point's state lives with one partition: events of it on a second one (producers with
    // different partitioners, a topic whose partitions were added) would split it between owners.
    // The first partition to admit an event of it wins, across shards (Atomics on shared memory).
    const seenOn = Atomics.load(this.learnedPoints, point);
    if (seenOn >= 0 && seenOn !== this.slot) return ON_TWO_PARTITIONS;
    // Nothing is admitted before the stream starts: the start waits for every partition's first
    // event, which the host learns from this shard's report; the host's start resumes it.
    if (!this.admission.started) {
      this.admission.noteFirst(this.slot, c.tOut2[i], nowS);
      return PARKED;
    }
    this.admission.observe(c, i, nowS);
    const pane = Math.floor(c.tOut2[i] / this.spec.advanceS);
    if (!this.admission.needed(this.slot, pane)) return Reason.LATE;
    if (!this.admission.fits(pane)) return PARKED;
    if (seenOn < 0) {
      const before = Atomics.compareExchange(this.learnedPoints, point, -1, this.slot);
      if (before >= 0 && before !== this.slot) return ON_TWO_PARTITIONS;
      if (before < 0) this.learned.push(point, this.slot);
    }
    const sink = this.sink;
    if (sink.events.full) sink.ingest();
    const k = sink.events.count;
    sink.slotOf[k] = this.slot;
    sink.offsetOf[k] = this.offset;
    sink.events.append(c, i);
    this.offsets.admitted(this.slot, this.offset, pane, this.maxBefore);
    return Reason.OK;
  }
}
