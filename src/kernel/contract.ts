/**
 * The contract of the window kernel: what goes in, what comes out, and why an event is refused.
 *
 * Both implementations — the AssemblyScript kernel (`assembly/`) and the plain TypeScript reference
 * (`src/kernel/reference.ts`, the test oracle) — follow this file to the letter. The WASM module
 * exports the same constants as globals, and `src/kernel/wasm-kernel.ts` refuses to load a module
 * whose constants differ, so the two cannot drift apart silently.
 *
 * ## Semantics (see also ../shared/reference-semantics.md)
 * - Event time is `tOut2` (epoch seconds, float). Panes are `[k*advance, (k+1)*advance)`.
 * - Window end `T` (a multiple of the advance): short window `[T-short, T)`, long `[T-long, T)`.
 * - Partition watermark = max accepted event time on that partition − grace. Stream watermark `W` =
 *   min over non-idle partitions that have seen an event, never decreasing. A partition with no
 *   accepted event yet holds `W` back (as in Flink) until it turns idle: no event for
 *   `idleTimeoutS` of wall clock. If every partition is idle, `W` stays. A pane closes when
 *   `W >= paneEnd`; window end `T` is final and emitted when `W >= T`.
 * - The first accepted event (time `t0`) sets `W0 = t0 - grace`; panes ending at or before `W0`
 *   are closed from the start and the first window end emitted is the end of the pane holding `W0`.
 *   From then on every registered point gets one row per final window end, count 0 included.
 * - An event is checked in this order and refused with the first reason that applies (the rest of
 *   the batch goes on): NOT_FINITE, UNKNOWN_POINT, LANE_OUT_OF_RANGE, SPEED_OUT_OF_RANGE,
 *   NEGATIVE_GAP, LENGTH_OUT_OF_RANGE, BAD_TIMESTAMPS, TOO_FAR_AHEAD (of wall clock), LATE (pane
 *   closed), BEYOND_RING (pane beyond the ring's capacity), PANE_FULL (a pane counter would
 *   overflow). A refused event changes no state at all: not a pane, not a watermark.
 * - The watermark is updated after each accepted event (and by tick/advanceWatermark; not at the
 *   start of a batch), so lateness does not depend on how the input was cut into batches.
 *
 * Known limit of the event-driven (internal) watermark: since BEYOND_RING is decided before the
 * event's own time counts, a partition whose next event lies more than the ring beyond W (about two
 * minutes of silence with the defaults) refuses it and every later one until `advanceWatermark`
 * or idleness moves W. The service does not use this mode: its host decides time for all shards
 * (`externalWatermark`, see src/pipeline/admission.ts), counts an event's time first, emits, and
 * only then asks whether the ring can hold it — and parks the partition instead of refusing.
 */

/** Why an event was refused. 0 means accepted. Stable numbers: they travel in dead-letter headers. */
export const Reason = Object.freeze({
  OK: 0,
  /** A number field is NaN or ±Infinity. */
  NOT_FINITE: 1,
  /** The point index is not a registered point. */
  UNKNOWN_POINT: 2,
  /** Lane outside `1..MAX_LANES`. */
  LANE_OUT_OF_RANGE: 3,
  /** Speed below 0 or above `MAX_SPEED_KMH`. */
  SPEED_OUT_OF_RANGE: 4,
  /** `gapM < 0` or `gapS < 0`. */
  NEGATIVE_GAP: 5,
  /** Length below 0 or above `MAX_LENGTH_M`. */
  LENGTH_OUT_OF_RANGE: 6,
  /** A timestamp below 0, or the first loop left before it was entered (`tOut1 < tIn1`). */
  BAD_TIMESTAMPS: 7,
  /** Event time further ahead of the wall clock than `maxSkewS`. */
  TOO_FAR_AHEAD: 8,
  /** The event's pane is closed: the stream watermark already passed its end. */
  LATE: 9,
  /** The event's pane lies beyond the ring (a partition ran too far ahead of the watermark). */
  BEYOND_RING: 10,
  /** A 16-bit pane counter would overflow (more than 65535 vehicles in one pane of one point). */
  PANE_FULL: 11,
} as const);
export type ReasonCode = (typeof Reason)[keyof typeof Reason];

export const REASON_NAMES: readonly string[] = Object.freeze(
  Object.entries(Reason)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name),
);

/** Lanes are numbered 1..MAX_LANES. */
export const MAX_LANES = 8;
export const MAX_SPEED_KMH = 400;
export const MAX_LENGTH_M = 100;
/** A vehicle longer than this is a long vehicle (truck, bus). Strictly greater. */
export const LONG_VEHICLE_M = 7.5;
/** Speed histogram for V85: bins of SPEED_BIN_KMH; the last bin also takes every faster vehicle. */
export const SPEED_BIN_KMH = 4;
export const SPEED_BINS = 48;
/**
 * Panes sum speed − SPEED_SHIFT_KMH and its square (less cancellation in the variance than raw
 * speeds). One constant rather than a value taken from the data: a pane's sums are then the same
 * bits however the stream was cut before it, so a window recomputed after a restart is identical.
 */
export const SPEED_SHIFT_KMH = 80;
/** Largest value of a 16-bit pane counter. */
export const PANE_COUNTER_MAX = 65535;

/**
 * Input columns of one batch, struct of arrays. One row per event; the host fills them and makes one
 * JS→WASM call per batch. Float columns are f64, integer columns i32.
 */
export const EVENT_F64_COLUMNS = Object.freeze([
  'tIn1',
  'tOut1',
  'tIn2',
  'tOut2',
  'speed',
  'gapM',
  'gapS',
  'length',
] as const);
export const EVENT_I32_COLUMNS = Object.freeze(['point', 'lane', 'partition'] as const);
export type EventF64Column = (typeof EVENT_F64_COLUMNS)[number];
export type EventI32Column = (typeof EVENT_I32_COLUMNS)[number];

/**
 * Statistics of one window, in this order. In an emitted row a missing value (a mean of an empty
 * window, a share without a denominator) is NaN, which the host turns into null.
 *
 * - count: accepted events with tOut2 in [start, end).
 * - flowVph: count * 3600 / windowSizeS.
 * - meanSpeedKmh, speedStdKmh (population standard deviation), v85Kmh (from the histogram:
 *   rank r = 0.85*count, the bin b where cumBefore < r <= cumBefore + bin[b], linear inside it:
 *   b*W + W*(r - cumBefore)/bin[b]; its error against the nearest-rank percentile is at most one bin
 *   width, SPEED_BIN_KMH, below the last bin).
 * - meanGapM, minGapM, meanGapS, minGapS.
 * - headwayLt1sShare, headwayLt2sShare: share of events with gapS < 1 and gapS < 2.
 * - meanLengthM, longVehicleShare (length > LONG_VEHICLE_M).
 * - occupancy: sum of (tOut1 - tIn1) over the window's events / (windowSizeS * lanes with traffic).
 *   An event's whole occupancy counts in the pane of its event time.
 * - overLimitShare: share with speed > the point's allowed speed as it was when the event was
 *   accepted (setPoint does not rewrite history); null if the point has none at emission.
 * - laneSpeedSpreadKmh: max − min of the lane mean speeds over lanes with traffic (0 for one lane).
 * - lanes: the number of distinct lanes with at least one event in the window (the divisor of
 *   occupancy; the plausibility checks of src/pipeline/plausibility.ts judge flow per lane with it).
 * All but count, flow and lanes are null (NaN) when count is 0; lanes is then 0.
 */
export const WINDOW_STAT_FIELDS = Object.freeze([
  'count',
  'flowVph',
  'meanSpeedKmh',
  'speedStdKmh',
  'v85Kmh',
  'meanGapM',
  'minGapM',
  'meanGapS',
  'minGapS',
  'headwayLt1sShare',
  'headwayLt2sShare',
  'meanLengthM',
  'longVehicleShare',
  'occupancy',
  'overLimitShare',
  'laneSpeedSpreadKmh',
  'lanes',
] as const);
export type WindowStatField = (typeof WINDOW_STAT_FIELDS)[number];
export type WindowStats = { [K in WindowStatField]: number | null };

/**
 * One emitted row = ROW_F64 f64 values: [point, windowEnd, short stats (17), long stats (17)].
 */
export const ROW_POINT = 0;
export const ROW_WINDOW_END = 1;
export const ROW_SHORT = 2;
export const ROW_LONG = ROW_SHORT + WINDOW_STAT_FIELDS.length;
export const ROW_F64 = ROW_LONG + WINDOW_STAT_FIELDS.length;

/** A row as the host sees it after decoding the f64 block (NaN → null). */
export interface WindowRow {
  point: number;
  windowEnd: number;
  short: WindowStats;
  long: WindowStats;
}

/** A refused event: its index in the batch and the reason. */
export interface Rejection {
  index: number;
  reason: ReasonCode;
}
