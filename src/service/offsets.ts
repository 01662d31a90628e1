/**
 * What the service commits with each input offset, so a restart rebuilds exactly the window state
 * the windows still to come need:
 * - `end`: the last window end whose rows are acknowledged on the output topic;
 * - `rebuild`: per partition, the smallest offset of a record holding an event of a pane that a
 *   window after `end` still needs. A restart re-reads [rebuild, committed) into the kernels
 *   without emitting, then goes on from the committed offset.
 */
export interface RestartPoint {
  end: number;
  rebuild: bigint;
}

const VERSION = 1;

export function encodeRestartPoint(p: RestartPoint): string {
  return JSON.stringify({ v: VERSION, end: p.end, rebuild: p.rebuild.toString() });
}

/** undefined for metadata saferoads did not write (or an older format): start without a rebuild. */
export function decodeRestartPoint(metadata: string | null): RestartPoint | undefined {
  if (!metadata) return undefined;
  try {
    const o = JSON.parse(metadata) as { v?: unknown; end?: unknown; rebuild?: unknown };
    if (o.v !== VERSION || typeof o.end !== 'number' || !Number.isFinite(o.end) || typeof o.rebuild !== 'string') return undefined;
    return { end: o.end, rebuild: BigInt(o.rebuild) };
  } catch {
    return undefined;
  }
}

/**
 * Per partition slot: the next offset to read, and for each recent pane the smallest offset of a
 * record that put an event into it (a small ring indexed by pane; O(1) per event).
 */
export class OffsetTracker {
  private readonly position: Float64Array;
  private readonly paneTag: Float64Array;
  private readonly paneMinOffset: Float64Array;

  constructor(
    partitions: number,
    /** Ring slots per partition: more than the panes the kernels can hold at once. */
    private readonly slots: number,
  ) {
    this.position = new Float64Array(partitions).fill(-1);
    this.paneTag = new Float64Array(partitions * slots).fill(NaN);
    this.paneMinOffset = new Float64Array(partitions * slots);
  }

  /** A record at `offset` of partition `slot` was routed (all of its events). */
  routed(slot: number, offset: number): void {
    if (offset + 1 > this.position[slot]) this.position[slot] = offset + 1;
  }

  /** Sets where reading of `slot` starts (the committed offset), before any record. */
  startAt(slot: number, offset: number): void {
    this.position[slot] = offset;
  }

  /** An event of the record at `offset` went into `pane`. */
  admitted(slot: number, offset: number, pane: number): void {
    const at = slot * this.slots + (((pane % this.slots) + this.slots) % this.slots);
    if (this.paneTag[at] !== pane) {
      this.paneTag[at] = pane;
      this.paneMinOffset[at] = offset;
    } else if (offset < this.paneMinOffset[at]) {
      this.paneMinOffset[at] = offset;
    }
  }

  /** The next offset to read of `slot` (-1: nothing read or set). */
  positionOf(slot: number): number {
    return this.position[slot];
  }

  /** Smallest offset holding an event of a pane >= firstPane; the position when there is none. */
  rebuildOffset(slot: number, firstPane: number): number {
    let min = this.position[slot];
    for (let k = 0; k < this.slots; k++) {
      const at = slot * this.slots + k;
      if (this.paneTag[at] >= firstPane && this.paneMinOffset[at] < min) min = this.paneMinOffset[at];
    }
    return min;
  }
}
