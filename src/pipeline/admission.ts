import { Reason, type ReasonCode } from '../kernel/contract.js';
import { checkEventFields } from '../kernel/event-checks.js';
import type { EventColumns } from '../kernel/kernel.js';
import type { WindowSpec } from '../kernel/window-spec.js';

/**
 * The service's single clock: decides, event by event and before any shard sees it, whether an event
 * is admitted, and moves the stream watermark. Shards run their kernels on this watermark (external
 * mode), so every shard emits the same window ends and the output does not depend on the number of
 * shards or on how events were batched.
 *
 * Rules (contract.ts order for the field checks, then time):
 * - Partition watermark = largest admitted event time − grace. Stream watermark W = min over the
 *   partitions that are not idle; a partition that has delivered nothing yet holds W at −∞ until it
 *   is idle (no admitted event for idleTimeoutS of wall clock), as in Flink: a replay that reads
 *   partitions at different speeds stays right. W never decreases.
 * - The stream starts when W first becomes finite: the first window end is the end of the pane
 *   holding that W. Before the start nothing is late.
 * - After the start: LATE if W >= the end of its pane.
 * - The shards' rings hold `ringPanes` panes from the first pane the oldest unemitted window needs.
 *   Before the start, events wait in the host and may span only ringPanes − longPanes panes (what
 *   the rings are sure to hold once W is known). An event beyond (`fits` false) is not refused but
 *   waits: the router parks its partition until W moves.
 * - A refused event changes nothing.
 */
export class Admission {
  private readonly partitionMax: Float64Array;
  private readonly lastSeen: Float64Array;
  private readonly known: Uint8Array;
  /** Partitions this instance reads; the others (owned by other instances) do not hold W back. */
  private readonly assigned: Uint8Array;
  /** The partition holding the minimum at the last scan (-1: none), and that scan's wall clock. */
  private minSlot = -1;
  private scannedAtS = NaN;
  private wm = -Infinity;
  /** Oldest window end not yet final; NaN before the start. */
  private nextEndS = NaN;
  /** Before the start: the earliest and latest admitted panes (the shards' rings must hold both). */
  private earliestPane = Infinity;
  private latestPane = -Infinity;

  constructor(
    private readonly spec: WindowSpec,
    partitions: number,
    startWallClockS: number,
    /** Which dense point indexes exist (registered points). */
    private readonly pointKnown: (point: number) => boolean,
  ) {
    this.partitionMax = new Float64Array(partitions).fill(-Infinity);
    this.lastSeen = new Float64Array(partitions).fill(startWallClockS);
    this.known = new Uint8Array(partitions);
    this.assigned = new Uint8Array(partitions).fill(1);
  }

  /** Which partition slots this instance reads (all, until told otherwise). */
  setAssigned(slots: readonly number[]): void {
    this.assigned.fill(0);
    for (const s of slots) this.assigned[s] = 1;
    this.scannedAtS = NaN;
  }

  /**
   * Rebuilding window state after a restart: W stays frozen at the restart point until every
   * partition is re-read up to its committed offset (a window end emitted earlier would miss the
   * data of partitions not re-read yet). Records re-read were admitted before the restart, so none
   * is late now, except for panes no window to come needs.
   */
  private frozen = false;
  private rebuildFloorPane = -Infinity;
  /** W at which the stream started (the shards start their kernels there); NaN before. */
  private startWatermarkS = NaN;

  /** Starts a rebuild: ends up to `lastEmittedEnd` were emitted before the restart. */
  beginRebuild(lastEmittedEnd: number): void {
    const { advanceS, longS } = this.spec;
    this.frozen = true;
    this.nextEndS = lastEmittedEnd + advanceS;
    this.wm = Math.max(this.wm, lastEmittedEnd);
    this.startWatermarkS = lastEmittedEnd;
    this.rebuildFloorPane = (lastEmittedEnd + advanceS - longS) / advanceS;
  }

  /** Ends a rebuild: W follows the partitions again (and may make window ends final at once). */
  endRebuild(nowS: number): void {
    this.frozen = false;
    this.updateWatermark(nowS);
  }

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
   * Every check that refuses an event for good (contract order up to LATE). OK means the event is
   * valid and not late; whether the shards' rings can take it yet is `fits`.
   */
  check(c: EventColumns, i: number, nowS: number): ReasonCode {
    const fields = checkEventFields(c, i, this.pointKnown);
    if (fields !== Reason.OK) return fields;
    const t = c.tOut2[i];
    if (t > nowS + this.spec.maxSkewS) return Reason.TOO_FAR_AHEAD;
    const pane = Math.floor(t / this.spec.advanceS);
    if (this.frozen) {
      // A rebuild re-reads records that may also hold events of panes no coming window needs.
      if (pane < this.rebuildFloorPane) return Reason.LATE;
    } else if (this.started && this.wm >= (pane + 1) * this.spec.advanceS) {
      return Reason.LATE;
    }
    return Reason.OK;
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
    const joined = this.known[p] === 0 || nowS - this.lastSeen[p] >= this.spec.idleTimeoutS;
    this.known[p] = 1;
    this.lastSeen[p] = nowS;
    // The min over partitions can only change if the minimum partition moved, a partition joined
    // the active set, or the wall clock moved (idleness): skip the O(partitions) scan otherwise.
    if (joined || nowS !== this.scannedAtS || (raised && (p === this.minSlot || this.minSlot < 0))) this.updateWatermark(nowS);
  }

  /**
   * Whether the shards' rings can hold `pane` now. Not yet means other partitions hold W back (or
   * the stream has not started): the caller parks this partition until W moves (watermark
   * alignment), instead of refusing data that is merely early.
   */
  fits(pane: number): boolean {
    const { advanceS, longS, ringPanes, longPanes } = this.spec;
    if (this.started) return pane < (this.nextEndS - longS) / advanceS + ringPanes;
    // Before the start W is unknown; it will be at least the earliest event time − grace, so the
    // shards' rings will reach at least (ringPanes − longPanes) panes past the earliest pane.
    return Math.max(this.latestPane, pane) - Math.min(this.earliestPane, pane) < ringPanes - longPanes;
  }

  /** Records that an event of `pane` went to the shards (bounds the ring before the start). */
  place(pane: number): void {
    if (this.started) return;
    if (pane < this.earliestPane) this.earliestPane = pane;
    if (pane > this.latestPane) this.latestPane = pane;
  }

  /** Lets wall-clock time pass: idle partitions stop holding W back. */
  tick(nowS: number): void {
    this.updateWatermark(nowS);
  }

  /** W = max(W, min over non-idle partitions of partition watermarks); starts the stream once finite. */
  private updateWatermark(nowS: number): void {
    const { graceS, idleTimeoutS, advanceS } = this.spec;
    let candidate = Infinity;
    let active = 0;
    let minSlot = -1;
    for (let p = 0; p < this.partitionMax.length; p++) {
      if (!this.assigned[p] || nowS - this.lastSeen[p] >= idleTimeoutS) continue;
      active++;
      const w = this.known[p] ? this.partitionMax[p] - graceS : -Infinity;
      if (w < candidate || minSlot < 0) {
        candidate = w;
        minSlot = p;
      }
    }
    this.minSlot = minSlot;
    this.scannedAtS = nowS;
    if (this.frozen || active === 0 || candidate <= this.wm) return;
    this.wm = candidate;
    if (!this.started && Number.isFinite(candidate)) {
      this.nextEndS = (Math.floor(candidate / advanceS) + 1) * advanceS;
      this.startWatermarkS = candidate;
    }
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
