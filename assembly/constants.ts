// Contract constants (src/kernel/contract.ts), exported as immutable WASM globals so the host can
// refuse a module built against a different contract. Keep these in lock-step with contract.ts.

export const REASON_OK: i32 = 0;
export const REASON_NOT_FINITE: i32 = 1;
export const REASON_UNKNOWN_POINT: i32 = 2;
export const REASON_LANE_OUT_OF_RANGE: i32 = 3;
export const REASON_SPEED_OUT_OF_RANGE: i32 = 4;
export const REASON_NEGATIVE_GAP: i32 = 5;
export const REASON_LENGTH_OUT_OF_RANGE: i32 = 6;
export const REASON_BAD_TIMESTAMPS: i32 = 7;
export const REASON_TOO_FAR_AHEAD: i32 = 8;
export const REASON_LATE: i32 = 9;
export const REASON_BEYOND_RING: i32 = 10;
export const REASON_PANE_FULL: i32 = 11;

export const MAX_LANES: i32 = 8;
export const MAX_SPEED_KMH: f64 = 400;
export const MAX_LENGTH_M: f64 = 100;
export const LONG_VEHICLE_M: f64 = 7.5;
export const SPEED_BIN_KMH: f64 = 4;
/**
 * Panes sum d = speed - SPEED_SHIFT_KMH and d^2 rather than speed and speed^2: a typical road speed
 * keeps the cancellation in the variance small. It is one constant, not a per-point value taken
 * from the data, so a pane's sums are bit-identical however the stream was cut before it (a restart
 * rebuilding the pane gets exactly the bits of the first run).
 */
export const SPEED_SHIFT_KMH: f64 = 80;
export const SPEED_BINS: i32 = 48;
export const PANE_COUNTER_MAX: i32 = 65535;

export const STAT_FIELDS: i32 = 17;
/**
 * Index of `lanes` (distinct lanes with traffic) among a window's stats: the one field besides count
 * and flow that an empty window writes as a number (0) rather than NaN.
 */
export const STAT_LANES: i32 = 16;
export const ROW_POINT: i32 = 0;
export const ROW_WINDOW_END: i32 = 1;
export const ROW_SHORT: i32 = 2;
export const ROW_LONG: i32 = ROW_SHORT + STAT_FIELDS;
export const ROW_F64: i32 = ROW_LONG + STAT_FIELDS;
export const ROW_BYTES: i32 = ROW_F64 * 8;

export const EVENT_F64_COLUMNS: i32 = 8;
export const EVENT_I32_COLUMNS: i32 = 3;

// Float columns in EVENT_F64_COLUMNS order of contract.ts.
export const COL_T_IN_1: i32 = 0;
export const COL_T_OUT_1: i32 = 1;
export const COL_T_IN_2: i32 = 2;
export const COL_T_OUT_2: i32 = 3;
export const COL_SPEED: i32 = 4;
export const COL_GAP_M: i32 = 5;
export const COL_GAP_S: i32 = 6;
export const COL_LENGTH: i32 = 7;
// Integer columns in EVENT_I32_COLUMNS order.
export const COL_POINT: i32 = 0;
export const COL_LANE: i32 = 1;
export const COL_PARTITION: i32 = 2;

// Result codes of init(); the host turns any non-zero code into a KernelError.
export const INIT_OK: i32 = 0;
export const INIT_ALREADY_DONE: i32 = 1;
export const INIT_BAD_ARGUMENT: i32 = 2;
/** The layout does not fit the 4 GiB a wasm32 memory can address. */
export const INIT_TOO_LARGE: i32 = 3;
/** memory.grow refused (the engine or the machine could not provide the pages). */
export const INIT_GROW_FAILED: i32 = 4;
/** Fewer row slots than points: one window end could never be emitted. */
export const INIT_ROWS_TOO_SMALL: i32 = 5;

// Result codes of the FlatBuffers decoder (negative: the message is refused as a whole).
export const FB_TOO_LARGE: i32 = -1;
export const FB_TRUNCATED: i32 = -2;
export const FB_BAD_IDENTIFIER: i32 = -3;
export const FB_BAD_ROOT: i32 = -4;
export const FB_BAD_VTABLE: i32 = -5;
export const FB_BAD_VECTOR: i32 = -6;
export const FB_BAD_STRING: i32 = -7;
export const FB_TOO_MANY_POINT_IDS: i32 = -8;
export const FB_BAD_RANGE: i32 = -9;
