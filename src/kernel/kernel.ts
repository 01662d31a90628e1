import type { Rejection, WindowRow } from './contract.js';
import type { WindowSpec } from './window-spec.js';

/**
 * A batch of loop events as columns (struct of arrays): the form in which events travel from the
 * decoder to a shard and into WASM memory, with no per-event JS object. The first `count` events
 * are valid; the arrays may be longer (a reused buffer). Column names follow EVENT_*_COLUMNS.
 */
export interface EventColumns {
  count: number;
  tIn1: Float64Array;
  tOut1: Float64Array;
  tIn2: Float64Array;
  tOut2: Float64Array;
  speed: Float64Array;
  gapM: Float64Array;
  gapS: Float64Array;
  /** Vehicle length, metres. */
  length: Float64Array;
  /** Dense point index given by the host (0..capacity-1). */
  point: Int32Array;
  /** 1..MAX_LANES. */
  lane: Int32Array;
  /** Partition slot 0..partitions-1 the event was read from (its watermark). */
  partition: Int32Array;
}

/** Empty event columns with room for `capacity` events. */
export function allocateEventColumns(capacity: number): EventColumns {
  return {
    count: 0,
    tIn1: new Float64Array(capacity),
    tOut1: new Float64Array(capacity),
    tIn2: new Float64Array(capacity),
    tOut2: new Float64Array(capacity),
    speed: new Float64Array(capacity),
    gapM: new Float64Array(capacity),
    gapS: new Float64Array(capacity),
    length: new Float64Array(capacity),
    point: new Int32Array(capacity),
    lane: new Int32Array(capacity),
    partition: new Int32Array(capacity),
  };
}

export interface KernelOptions {
  spec: WindowSpec;
  /** Most points this kernel will hold (dense indexes 0..pointCapacity-1). */
  pointCapacity: number;
  /** Input partitions that feed this kernel, each with its own watermark. */
  partitions: number;
  /** Wall clock (epoch seconds) at start: partitions that stay silent turn idle after idleTimeoutS. */
  startWallClockS: number;
  /**
   * When true, only `advanceWatermark` moves the watermark: a host that sees every partition decides
   * time for all shards, so each shard emits the same window ends whatever events it got. The first
   * `advanceWatermark(W)` starts the stream (first window end = end of the pane holding W); the host
   * sends no event before it (one that comes anyway is refused BEYOND_RING). Lateness is the host's
   * decision too: an event for a closed pane is still accepted if a window to come needs its pane
   * (its long window reaches back there) — a restart rebuilds state that way — and refused LATE only
   * when no window to come needs it. BEYOND_RING, field checks and emission are unchanged; per-event
   * partition bookkeeping and idle ticks do not move W. Default false.
   */
  externalWatermark?: boolean;
}

/** What one call produced: refused events (by batch index) and the rows of windows that became final. */
export interface KernelOutput {
  rejections: Rejection[];
  rows: WindowRow[];
  /** Window ends that became final during the call, ascending. */
  finalEnds: number[];
}

/**
 * The object-level view of a window kernel, shared by the WASM kernel and the TS reference so that
 * tests drive both the same way. The WASM kernel also has a zero-allocation path (typed-array views
 * over its memory) that the service uses; this interface is for correctness, not speed.
 */
export interface WindowKernel {
  /** Registers a point (or changes its allowed speed). `allowedSpeedKmh` null: the point has none. */
  setPoint(point: number, allowedSpeedKmh: number | null): void;
  /** Adds a batch; `nowS` is the wall clock used for the skew and idle checks. */
  ingest(events: EventColumns, nowS: number): KernelOutput;
  /** Lets wall-clock time pass without events (idle partitions stop holding the watermark). */
  tick(nowS: number): KernelOutput;
  /**
   * Raises the stream watermark from outside (end of a bounded input, or a host-wide watermark).
   * Ignored before the first accepted event, unless `externalWatermark` (then the first call starts).
   */
  advanceWatermark(watermarkS: number): KernelOutput;
  /** Current stream watermark, -Infinity before the first event (with externalWatermark: advanceWatermark). */
  readonly watermark: number;
}
