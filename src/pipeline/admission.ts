import { Reason, type ReasonCode } from '../kernel/contract.js';
import { checkEventFields } from '../kernel/event-checks.js';
import type { EventColumns } from '../kernel/kernel.js';
import type { WindowSpec } from '../kernel/window-spec.js';

/**
 * Where one partition starts in a new pipeline (after an assignment). A partition with a restart
 * point (offsets.ts) resumes: its points' rows up to `publishedThrough` are already on the output
 * topic, and `maxEventTime` is its largest admitted event time before the first record re-read.
 */
export interface PartitionStart {
  resumed: boolean;
  /** Window ends up to here are published for this partition's points (−Infinity: none). */
  publishedThrough: number;
  /** Largest admitted event time before the first record to read (−Infinity: none). */
  maxEventTime: number;
  /** The partition had nothing to read when it was assigned (its position was its end offset). */
  caughtUp: boolean;
}

/**
 * A fetch that came back within this many seconds is evidence that the partitions it did not
 * deliver are caught up. Without it (the broker down, a rebalance, a stalled client) no partition
 * may turn idle: silence we cannot observe is not silence of the producer.
 */
export const FETCH_EVIDENCE_S = 10;

/**
 * The service's single clock: decides, event by event and before any shard sees it, whether an event
 * is admitted, and moves the stream watermark. Shards run their kernels on this watermark (external
 * mode), so every shard emits the same window ends and the output does not depend on the number of
 * shards or on how events were batched.
 *
 * Every decision that changes a window's content is a function of the partition's own log, so a
 * restart that re-reads a partition from its restart point makes exactly the same decisions and
 * recomputes bit-identical windows:
 * - LATE: an event whose pane ended at or before its partition's watermark (the largest admitted
 *   event time of that partition − grace), as Kafka Streams' per-task stream time. Also LATE (output
 *   unaffected either way): a pane no window still to come needs.
 * - The first window end of a partition is the end of the pane holding its first event − grace, or
 *   the one after its restart point; rows of its points before that are not published.
 *
 * The stream watermark W (when window ends become final) is the minimum over the assigned
 * partitions that are not idle of max(partition watermark, restart point end). A partition is idle
 * only when the consumer has evidence that it is caught up — it has nothing waiting here, its last
 * batch reached the high watermark, fetches keep coming back — and it delivered nothing for
 * idleTimeoutS. A broker outage, a paused partition or a rebalance never makes a partition idle.
 *
 * The stream starts once every assigned partition is known (resumed, or its first event seen) or
 * idle: nothing is admitted before, so the start does not depend on batch sizes. Alignment: an
 * event the shards' rings cannot hold yet (its partition runs ahead) is not refused; the router
 * parks its partition until W moves (`fits`).
 */
export class Admission {
  private readonly partitionMax: Float64Array;
  /** Lower bound of a partition's watermark: its restart point end, or its first event − grace. */
  private readonly floorW: Float64Array;
  private readonly publishedEnd: Float64Array;
  /** First pane a window to come needs, per partition (from publishedEnd). */
  private readonly floorPane: Float64Array;
  private readonly firstTime: Float64Array;
  private readonly resumed: Uint8Array;
  private readonly lastActivity: Float64Array;
  private readonly caughtUp: Uint8Array;
  private readonly backlog: Uint8Array;
  /** A finite replay read the partition to its end: it never holds the start or W again. */
  private readonly finished: Uint8Array;
  /** Partitions this instance reads; the others (owned by other instances) do not hold W back. */
  private readonly assigned: Uint8Array;
  private lastFetchS = -Infinity;
  /** The partition holding the minimum at the last scan (-1: none), and that scan's wall clock. */
  private minSlot = -1;
  private scannedAtS = NaN;
  private wm = -Infinity;
  /** Oldest window end not yet final; NaN before the start. */
  private nextEndS = NaN;
  private startWatermarkS = NaN;

  constructor(
    private readonly spec: WindowSpec,
    partitions: number,
    startWallClockS: number,
    /** Which dense point indexes exist (registered points). */
    private readonly pointKnown: (point: number) => boolean,
    /**
     * A shard's admission (true): it decides for the partitions it reads, but the stream's start and
     * W are the host's (`follow`); its own events never move W. The host's admission (false) learns
     * each partition's progress from the shards' reports (`report`).
     */
    private readonly followsHost = false,
  ) {
    this.partitionMax = new Float64Array(partitions).fill(-Infinity);
    this.floorW = new Float64Array(partitions).fill(-Infinity);
    this.publishedEnd = new Float64Array(partitions).fill(-Infinity);
    this.floorPane = new Float64Array(partitions).fill(-Infinity);
    this.firstTime = new Float64Array(partitions).fill(NaN);
    this.resumed = new Uint8Array(partitions);
    this.lastActivity = new Float64Array(partitions).fill(startWallClockS);
    this.caughtUp = new Uint8Array(partitions);
    this.backlog = new Uint8Array(partitions);
    this.finished = new Uint8Array(partitions);
    this.assigned = new Uint8Array(partitions).fill(1);
  }

  /**
   * Which partition slots this instance reads (all, until told otherwise), and where each starts.
   * Call once, before the first event.
   */
  setAssigned(slots: readonly number[], starts: ReadonlyMap<number, PartitionStart> = new Map(), nowS = NaN): void {
    this.assigned.fill(0);
    for (const s of slots) {
      this.assigned[s] = 1;
      const start = starts.get(s);
      if (!start) continue;
      this.partitionMax[s] = start.maxEventTime;
      this.caughtUp[s] = start.caughtUp ? 1 : 0;
      if (start.resumed) {
        this.resumed[s] = 1;
        this.setPublishedEnd(s, start.publishedThrough);
        this.floorW[s] = start.publishedThrough;
      }
    }
    this.scannedAtS = NaN;
    if (!Number.isNaN(nowS)) this.tryStart(nowS);
  }

  private setPublishedEnd(slot: number, end: number): void {
    const { advanceS, longS } = this.spec;
    this.publishedEnd[slot] = end;
    this.floorPane[slot] = (end + advanceS - longS) / advanceS;
  }

  /** Rows of `slot`'s points are published for window ends after this only. */
  publishedThrough(slot: number): number {
    return this.publishedEnd[slot];
  }

  /** The largest admitted event time of `slot` (−Infinity: none). */
  maxEventTime(slot: number): number {
    return this.partitionMax[slot];
  }

  // ---- idleness evidence -------------------------------------------------------------------------

  /** A batch of `slot` arrived; `caughtUp` when it reached the partition's high watermark. */
  delivered(slot: number, nowS: number, caughtUp: boolean): void {
    this.lastActivity[slot] = nowS;
    this.caughtUp[slot] = caughtUp ? 1 : 0;
  }

  /**
   * A fetch came back. After a gap in fetching (outage, rebalance) the silence of every partition
   * is counted anew from now: records may have been written that we could not see.
   */
  fetched(nowS: number): void {
    if (!(nowS - this.lastFetchS <= FETCH_EVIDENCE_S)) {
      for (let p = 0; p < this.lastActivity.length; p++) if (this.lastActivity[p] < nowS) this.lastActivity[p] = nowS;
    }
    this.lastFetchS = nowS;
  }

  /** Whether records of `slot` wait in the router (a parked partition is never idle). */
  setBacklog(slot: number, waiting: boolean): void {
    this.backlog[slot] = waiting ? 1 : 0;
  }

  private isIdle(p: number, nowS: number): boolean {
    if (this.finished[p] === 1) return true;
    return (
      this.caughtUp[p] === 1 &&
      this.backlog[p] === 0 &&
      nowS - this.lastActivity[p] >= this.spec.idleTimeoutS &&
      nowS - this.lastFetchS <= FETCH_EVIDENCE_S
    );
  }

  /** A finite replay (`--until-end`) read `slot` up to its end: it holds nothing back any more. */
  setFinished(slot: number, nowS: number): void {
    this.finished[slot] = 1;
    this.scannedAtS = NaN;
    this.tick(nowS);
  }

  /**
   * Every assigned partition is finished: W moves to the end of the pane holding the last event, so
   * every window up to it becomes final (a backtest wants its last windows; a live stream never
   * gets here).
   */
  closeAll(nowS: number): void {
    this.tick(nowS);
    if (!this.started) return;
    let last = -Infinity;
    for (let p = 0; p < this.partitionMax.length; p++) if (this.assigned[p]) last = Math.max(last, this.partitionMax[p]);
    if (!Number.isFinite(last)) return;
    const end = (Math.floor(last / this.spec.advanceS) + 1) * this.spec.advanceS;
    if (end > this.wm) this.wm = end;
  }

  // ---- the stream --------------------------------------------------------------------------------

  /** The W the stream started at, where the shards' kernels start (NaN before the start). */
  get startWatermark(): number {
    return this.startWatermarkS;
  }

  get watermark(): number {
    return this.wm;
  }

  get started(): boolean {
    return !Number.isNaN(this.nextEndS);
  }

  /** The oldest window end that is not final yet (NaN before the start). */
  get nextEnd(): number {
    return this.nextEndS;
  }

  /**
   * Every check that refuses an event for good from its fields and its partition's own history
   * (contract order up to LATE). OK means the event is valid and not late.
   */
  check(c: EventColumns, i: number, nowS: number): ReasonCode {
    const fields = checkEventFields(c, i, this.pointKnown);
    if (fields !== Reason.OK) return fields;
    const t = c.tOut2[i];
    if (t > nowS + this.spec.maxSkewS) return Reason.TOO_FAR_AHEAD;
    const { advanceS, graceS } = this.spec;
    if ((Math.floor(t / advanceS) + 1) * advanceS <= this.partitionMax[c.partition[i]] - graceS) return Reason.LATE;
    return Reason.OK;
  }

  /**
   * Whether a window still to come needs `pane` (after `observe`). An event of a pane nobody needs
   * is refused as LATE; it changes no output.
   */
  needed(slot: number, pane: number): boolean {
    if (pane < this.floorPane[slot]) return false;
    if (!this.started) return true;
    const { advanceS, longS } = this.spec;
    return pane >= (this.nextEndS - longS) / advanceS;
  }

  /**
   * Before the start: a checked event of `slot`. Its partition is known from now on (its first
   * event fixes its first window end); the stream starts when every assigned partition is known or
   * idle. Returns whether the stream has started.
   */
  noteFirst(slot: number, t: number, nowS: number): boolean {
    if (this.started) return true;
    if (this.resumed[slot] === 0 && Number.isNaN(this.firstTime[slot])) {
      this.firstTime[slot] = t;
      const w0 = t - this.spec.graceS;
      this.floorW[slot] = w0;
      this.setPublishedEnd(slot, Math.floor(w0 / this.spec.advanceS) * this.spec.advanceS);
    }
    this.tryStart(nowS);
    return this.started;
  }

  private tryStart(nowS: number): void {
    if (this.started || this.followsHost) return;
    let w0 = Infinity;
    for (let p = 0; p < this.assigned.length; p++) {
      if (!this.assigned[p]) continue;
      if (this.resumed[p] === 1) w0 = Math.min(w0, this.publishedEnd[p]);
      else if (!Number.isNaN(this.firstTime[p])) w0 = Math.min(w0, this.floorW[p]);
      else if (!this.isIdle(p, nowS)) return;
    }
    if (!Number.isFinite(w0)) return;
    this.startWatermarkS = w0;
    this.nextEndS = (Math.floor(w0 / this.spec.advanceS) + 1) * this.spec.advanceS;
    this.wm = Math.max(this.wm, w0);
    this.updateWatermark(nowS);
  }

  /**
   * Counts a checked event's time into its partition's watermark and moves W (which may make
   * window ends final: the caller emits them before asking `fits`, so the ring has moved on).
   */
  observe(c: EventColumns, i: number, nowS: number): void {
    const p = c.partition[i];
    const t = c.tOut2[i];
    const raised = t > this.partitionMax[p];
    if (raised) this.partitionMax[p] = t;
    // The min over partitions can only change if the minimum partition moved or the wall clock
    // moved (idleness): skip the O(partitions) scan otherwise.
    if (nowS !== this.scannedAtS || (raised && (p === this.minSlot || this.minSlot < 0))) this.updateWatermark(nowS);
  }

  /**
   * Whether the shards' rings can hold `pane` now. Not yet means other partitions hold W back: the
   * caller parks this partition until W moves (watermark alignment), instead of refusing data that
   * is merely early.
   */
  fits(pane: number): boolean {
    const { advanceS, longS, ringPanes } = this.spec;
    return this.started && pane < (this.nextEndS - longS) / advanceS + ringPanes;
  }

  /** Lets wall-clock time pass: idle partitions stop holding W back (or stop holding the start). */
  tick(nowS: number): void {
    if (!this.started) this.tryStart(nowS);
    else this.updateWatermark(nowS);
  }

  /** W = max(W, min over non-idle partitions of their watermarks). */
  private updateWatermark(nowS: number): void {
    if (this.followsHost) return;
    const { graceS } = this.spec;
    let candidate = Infinity;
    let active = 0;
    let minSlot = -1;
    for (let p = 0; p < this.partitionMax.length; p++) {
      if (!this.assigned[p] || this.isIdle(p, nowS)) continue;
      active++;
      const w = Math.max(this.partitionMax[p] - graceS, this.floorW[p]);
      if (w < candidate || minSlot < 0) {
        candidate = w;
        minSlot = p;
      }
    }
    this.minSlot = minSlot;
    this.scannedAtS = nowS;
    if (!this.started || active === 0 || candidate <= this.wm) return;
    this.wm = candidate;
  }

  /**
   * A shard's admission: the host started the stream at `startW` (NaN: already told) and W is now
   * `w`; window ends up to W are final in this shard's kernel.
   */
  follow(startW: number, w: number): void {
    const { advanceS } = this.spec;
    if (!this.started) {
      if (Number.isNaN(startW)) return;
      this.startWatermarkS = startW;
      this.nextEndS = (Math.floor(startW / advanceS) + 1) * advanceS;
      this.wm = Math.max(this.wm, startW);
    }
    if (w > this.wm) this.wm = w;
    while (this.nextEndS <= this.wm) this.nextEndS += advanceS;
  }

  /**
   * The host's admission: what a shard decided for `slot` — its first checked event's time (NaN:
   * not seen yet) and its largest admitted event time. Same effect as the shard's own
   * `noteFirst` / `observe` calls for those events, in one step per report.
   */
  report(slot: number, firstTime: number, maxEventTime: number, nowS: number): void {
    if (!Number.isNaN(firstTime) && !this.started) this.noteFirst(slot, firstTime, nowS);
    if (maxEventTime > this.partitionMax[slot]) {
      this.partitionMax[slot] = maxEventTime;
      this.scannedAtS = NaN;
    }
    if (this.started) this.updateWatermark(nowS);
  }

  /** The first checked event time of `slot` before the start (NaN: none seen). */
  firstEventTime(slot: number): number {
    return this.firstTime[slot];
  }

  /** True when a window end became final and was not taken yet. */
  get hasFinalEnd(): boolean {
    return this.nextEndS <= this.wm;
  }

  /**
   * Window ends that are final now (T <= W), oldest first, each reported once: calling this
   * consumes them. Returns the number written into `out`.
   */
  takeFinalEnds(out: number[]): number {
    out.length = 0;
    if (!this.started) return 0;
    while (this.nextEndS <= this.wm) {
      out.push(this.nextEndS);
      this.nextEndS += this.spec.advanceS;
    }
    return out.length;
  }
}
