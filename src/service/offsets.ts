/**
 * What the service commits with each input offset of a partition, so whoever owns the partition
 * next rebuilds exactly the window state the windows still to come need. Each partition's restart
 * point is sufficient on its own (partitions may be committed by different members at different
 * times):
 * - `end`: the last window end whose rows for this partition's points are acknowledged;
 * - `rebuild`: the smallest offset of a record holding an event of a pane that a window after
 *   `end` needs. The next owner re-reads [rebuild, committed) without writing dead letters again,
 *   publishes rows of this partition's points for ends after `end` only, then goes on;
 * - `max`: the partition's largest admitted event time before `rebuild`, so the re-read makes the
 *   same lateness decisions as the first read (admission.ts).
 */
export interface RestartPoint {
  end: number;
  rebuild: bigint;
  max: number;
}

const VERSION = 2;

export function encodeRestartPoint(p: RestartPoint): string {
  return JSON.stringify({ v: VERSION, end: p.end, rebuild: p.rebuild.toString(), max: Number.isFinite(p.max) ? p.max : null });
}

/** undefined for metadata saferoads did not write (or an older format): start without a rebuild. */
export function decodeRestartPoint(metadata: string | null): RestartPoint | undefined {
  if (!metadata) return undefined;
  try {
    const o = JSON.parse(metadata) as { v?: unknown; end?: unknown; rebuild?: unknown; max?: unknown };
    if (o.v !== VERSION || typeof o.end !== 'number' || !Number.isFinite(o.end) || typeof o.rebuild !== 'string') return undefined;
    if (o.max !== null && (typeof o.max !== 'number' || !Number.isFinite(o.max))) return undefined;
    return { end: o.end, rebuild: BigInt(o.rebuild), max: o.max ?? -Infinity };
  } catch {
    return undefined;
  }
}

/**
 * Per partition slot: the next offset to read, its largest admitted event time, and for each recent
 * pane the smallest offset of a record that put an event into it with the partition's largest event
 * time before that record (a small ring indexed by pane; O(1) per event).
 */
export class OffsetTracker {
  private readonly position: Float64Array;
  private readonly maxEventTime: Float64Array;
  private readonly paneTag: Float64Array;
  private readonly paneMinOffset: Float64Array;
  private readonly paneMaxBefore: Float64Array;

  constructor(
    partitions: number,
    /** Ring slots per partition: more than the panes the kernels can hold at once. */
    private readonly slots: number,
  ) {
    this.position = new Float64Array(partitions).fill(-1);
    this.maxEventTime = new Float64Array(partitions).fill(-Infinity);
    this.paneTag = new Float64Array(partitions * slots).fill(NaN);
    this.paneMinOffset = new Float64Array(partitions * slots);
    this.paneMaxBefore = new Float64Array(partitions * slots);
  }

  /** A record at `offset` of partition `slot` was routed (all of its events). */
  routed(slot: number, offset: number): void {
    if (offset + 1 > this.position[slot]) this.position[slot] = offset + 1;
  }

  /** Sets where reading of `slot` starts and its largest event time before, before any record. */
  startAt(slot: number, offset: number, maxEventTime = -Infinity): void {
    this.position[slot] = offset;
    this.maxEventTime[slot] = maxEventTime;
  }

  /**
   * An event of the record at `offset` went into `pane`; `maxBefore` is the partition's largest
   * admitted event time before that record.
   */
  admitted(slot: number, offset: number, pane: number, maxBefore: number): void {
    const at = slot * this.slots + (((pane % this.slots) + this.slots) % this.slots);
    if (this.paneTag[at] !== pane || offset < this.paneMinOffset[at]) {
      this.paneTag[at] = pane;
      this.paneMinOffset[at] = offset;
      this.paneMaxBefore[at] = maxBefore;
    }
  }

  /** The partition's largest admitted event time so far (the router reports it per record). */
  setMaxEventTime(slot: number, t: number): void {
    this.maxEventTime[slot] = t;
  }

  /**
   * Everything known of `slot`, as one array (a shard reports it to the host, which restores it
   * into its own tracker to compute restart points): [position, maxEventTime, then per ring slot
   * tag, minOffset, maxBefore].
   */
  snapshot(slot: number): Float64Array {
    const out = new Float64Array(2 + 3 * this.slots);
    out[0] = this.position[slot];
    out[1] = this.maxEventTime[slot];
    const base = slot * this.slots;
    out.set(this.paneTag.subarray(base, base + this.slots), 2);
    out.set(this.paneMinOffset.subarray(base, base + this.slots), 2 + this.slots);
    out.set(this.paneMaxBefore.subarray(base, base + this.slots), 2 + 2 * this.slots);
    return out;
  }

  /** Takes over `slot`'s state from another tracker's snapshot (same ring size). */
  restore(slot: number, snapshot: Float64Array): void {
    if (snapshot.length !== 2 + 3 * this.slots) throw new Error(`offset snapshot of ${snapshot.length} values, expected ${2 + 3 * this.slots}`);
    this.position[slot] = snapshot[0];
    this.maxEventTime[slot] = snapshot[1];
    const base = slot * this.slots;
    this.paneTag.set(snapshot.subarray(2, 2 + this.slots), base);
    this.paneMinOffset.set(snapshot.subarray(2 + this.slots, 2 + 2 * this.slots), base);
    this.paneMaxBefore.set(snapshot.subarray(2 + 2 * this.slots, 2 + 3 * this.slots), base);
  }

  /** The next offset to read of `slot` (-1: nothing read or set). */
  positionOf(slot: number): number {
    return this.position[slot];
  }

  /**
   * Smallest offset holding an event of a pane >= firstPane (the position when there is none), and
   * the partition's largest admitted event time before it.
   */
  rebuildPoint(slot: number, firstPane: number): { offset: number; maxBefore: number } {
    let min = this.position[slot];
    let maxBefore = this.maxEventTime[slot];
    for (let k = 0; k < this.slots; k++) {
      const at = slot * this.slots + k;
      if (this.paneTag[at] >= firstPane && this.paneMinOffset[at] < min) {
        min = this.paneMinOffset[at];
        maxBefore = this.paneMaxBefore[at];
      }
    }
    return { offset: min, maxBefore };
  }
}
