// Memory layout of the window kernel. Everything is placed once, by init(), with memory.grow; the
// hot path only loads and stores at computed addresses, so it can neither allocate nor run out of
// memory. Regions follow each other from the heap base, each aligned to 64 bytes (a cache line):
//
//   region          bytes                                  contents
//   points          pointCapacity * pointBytesFor(ring)    point table with the slot holders (points.ts)
//   panes           ringPanes * pointCapacity * PANE_BYTES pane rings, slot-major: slot s of every point,
//                                                          then slot s + 1 (pane.ts)
//   partitions      partitions * PARTITION_BYTES           partition watermarks (watermark.ts)
//   f64 columns     8 * F64_COLUMN_STRIDE (8 MiB each)     tIn1,tOut1,tIn2,tOut2,speed,gapM,gapS,length
//   i32 columns     3 * I32_COLUMN_STRIDE (4 MiB each)     point, lane, partition
//   rejections      batchCapacity * 8                      (i32 event index, i32 reason) pairs
//   rows            rowCapacity * ROW_BYTES                emitted rows, ROW_F64 f64 each
//   final ends      finalEndCapacity * 8                   f64 window ends that became final
//   scratch         SCRATCH_BYTES                          per-row aggregate (emit.ts)
//   point-id spans  pointIdCapacity * 8                    (i32 offset, i32 length) of each point_id
//   point-id map    pointIdCapacity * 4                    i32 dense point index per point_ref
//   message         messageCapacity                        one FlatBuffers LoopEventBatch
//
// Bytes per point = ringPanes * PANE_BYTES + pointBytesFor(ringPanes) (bytesPerPoint()).
//
// The input columns sit a compile-time stride apart (room for MAX_BATCH events each), so the hot
// loop reads all eleven fields of an event from one address plus constant offsets; with one
// pointer per column V8 ran out of registers and spilled (~11 % slower). Only the first
// batchCapacity entries of each column are ever written, so the rest is address space, not RAM.

import {
  EVENT_F64_COLUMNS,
  EVENT_I32_COLUMNS,
  INIT_ALREADY_DONE,
  INIT_BAD_ARGUMENT,
  INIT_GROW_FAILED,
  INIT_OK,
  INIT_ROWS_TOO_SMALL,
  INIT_TOO_LARGE,
  ROW_BYTES,
} from './constants';

export const PANE_BYTES: i32 = 256;
/** Point entry bytes before the slot holders (points.ts). */
export const POINT_HEADER_BYTES: i32 = 16;
export const PARTITION_BYTES: i32 = 32;
export const SCRATCH_BYTES: i32 = 512;
/** Most events one ingest call can take (batchCapacity <= MAX_BATCH). */
export const MAX_BATCH: i32 = 1 << 20;
export const F64_COLUMN_STRIDE: usize = <usize>MAX_BATCH << 3;
export const I32_COLUMN_STRIDE: usize = <usize>MAX_BATCH << 2;
const ALIGN: f64 = 64;
const PAGE_BYTES: f64 = 65536;
/** A wasm32 memory holds at most 65536 pages of 64 KiB. */
const MAX_MEMORY_BYTES: f64 = 4294967296;

// Window spec (window-spec.ts), fixed at init.
export let advanceS: f64 = 60;
export let graceS: f64 = 0;
export let maxSkewS: f64 = 0;
export let idleTimeoutS: f64 = 1;
export let shortPanes: i32 = 1;
export let longPanes: i32 = 1;
export let ringPanes: i32 = 2;
export let shortS: f64 = 60;
export let longS: f64 = 60;

// Capacities.
export let pointCapacity: i32 = 0;
export let partitionCount: i32 = 0;
export let batchCapacity: i32 = 0;
export let rowCapacity: i32 = 0;
export let finalEndCapacity: i32 = 0;
export let pointIdCapacity: i32 = 0;
export let messageCapacity: i32 = 0;

// Region addresses.
export let pointsPtr: usize = 0;
export let panesPtr: usize = 0;
export let partitionsPtr: usize = 0;
export let f64ColumnsPtr: usize = 0;
export let i32ColumnsPtr: usize = 0;
export let rejectionsPtr: usize = 0;
export let rowsPtr: usize = 0;
export let finalEndsPtr: usize = 0;
export let scratchPtr: usize = 0;
export let pointIdSpansPtr: usize = 0;
export let pointIdMapPtr: usize = 0;
export let messagePtr: usize = 0;
export let layoutEnd: usize = 0;
/** Bytes between slot s and slot s + 1 of one point (slot-major: pointCapacity * PANE_BYTES). */
export let slotStride: usize = 0;
/** log2 of the bytes of one point entry (pointBytesFor(ringPanes)): the hot path shifts, not multiplies. */
export let pointShift: usize = 6;

let initialised = false;
// Layout arithmetic is done in f64 (exact below 2^53) so an oversized request cannot wrap around.
let cursor: f64 = 0;

function place(bytes: f64): f64 {
  const at = Math.ceil(cursor / ALIGN) * ALIGN;
  cursor = at + bytes;
  return at;
}

/**
 * Point entry bytes for a ring of `ring` panes: header and one i32 holder per slot, rounded up to a
 * power of two of at least a cache line (64 bytes up to 12 panes, 128 up to 28, ...).
 */
export function pointBytesFor(ring: i32): f64 {
  let bytes = ALIGN;
  while (bytes < <f64>POINT_HEADER_BYTES + 4 * <f64>ring) bytes *= 2;
  return bytes;
}

/** Window state per point for a ring of `ring` panes (what init would lay out). */
export function bytesPerPointFor(ring: i32): f64 {
  return <f64>ring * <f64>PANE_BYTES + pointBytesFor(ring);
}

export function bytesPerPoint(): i32 {
  return <i32>bytesPerPointFor(ringPanes);
}

export function f64Column(column: i32): usize {
  return f64ColumnsPtr + <usize>column * F64_COLUMN_STRIDE;
}

export function i32Column(column: i32): usize {
  return i32ColumnsPtr + <usize>column * I32_COLUMN_STRIDE;
}

/** Total bytes the layout needs (valid after init, or after a failed init: what was asked for). */
export let requestedBytes: f64 = 0;

/**
 * Lays out all memory. Returns INIT_OK or an INIT_* error; after an error nothing is usable.
 * Whole seconds and pane counts arrive already validated by window-spec.ts; the checks here guard
 * the memory arithmetic only.
 */
export function configure(
  points: i32,
  partitions: i32,
  advance: f64,
  short: i32,
  long: i32,
  ring: i32,
  grace: f64,
  maxSkew: f64,
  idleTimeout: f64,
  batch: i32,
  rows: i32,
  finalEnds: i32,
  pointIds: i32,
  message: i32,
): i32 {
  if (initialised) return INIT_ALREADY_DONE;
  if (points <= 0 || partitions <= 0 || batch <= 0 || rows <= 0 || finalEnds <= 0) return INIT_BAD_ARGUMENT;
  if (batch > MAX_BATCH) return INIT_BAD_ARGUMENT;
  if (pointIds < 0 || message < 0 || short <= 0 || long < short || ring <= long) return INIT_BAD_ARGUMENT;
  if (!(advance > 0) || !(grace >= 0) || !(maxSkew >= 0) || !(idleTimeout > 0)) return INIT_BAD_ARGUMENT;
  if (rows < points) return INIT_ROWS_TOO_SMALL;

  cursor = <f64>__heap_base;
  const pts = <f64>points;
  const b = <f64>batch;
  const entryBytes = pointBytesFor(ring);
  const pPoints = place(pts * entryBytes);
  const pPanes = place(pts * <f64>ring * <f64>PANE_BYTES);
  const pPartitions = place(<f64>partitions * <f64>PARTITION_BYTES);
  const pF64 = place(<f64>EVENT_F64_COLUMNS * <f64>F64_COLUMN_STRIDE);
  const pI32 = place(<f64>EVENT_I32_COLUMNS * <f64>I32_COLUMN_STRIDE);
  const pRejections = place(b * 8);
  const pRows = place(<f64>rows * <f64>ROW_BYTES);
  const pFinalEnds = place(<f64>finalEnds * 8);
  const pScratch = place(<f64>SCRATCH_BYTES);
  const pSpans = place(<f64>pointIds * 8);
  const pMap = place(<f64>pointIds * 4);
  const pMessage = place(<f64>message);
  const end = Math.ceil(cursor / ALIGN) * ALIGN;
  requestedBytes = end;
  if (end >= MAX_MEMORY_BYTES) return INIT_TOO_LARGE;

  const pagesNeeded = <i32>Math.ceil(end / PAGE_BYTES);
  const have = memory.size();
  if (pagesNeeded > have && memory.grow(pagesNeeded - have) < 0) return INIT_GROW_FAILED;

  advanceS = advance;
  graceS = grace;
  maxSkewS = maxSkew;
  idleTimeoutS = idleTimeout;
  shortPanes = short;
  longPanes = long;
  ringPanes = ring;
  shortS = <f64>short * advance;
  longS = <f64>long * advance;
  pointCapacity = points;
  partitionCount = partitions;
  batchCapacity = batch;
  rowCapacity = rows;
  finalEndCapacity = finalEnds;
  pointIdCapacity = pointIds;
  messageCapacity = message;
  pointsPtr = <usize>pPoints;
  panesPtr = <usize>pPanes;
  partitionsPtr = <usize>pPartitions;
  f64ColumnsPtr = <usize>pF64;
  i32ColumnsPtr = <usize>pI32;
  rejectionsPtr = <usize>pRejections;
  rowsPtr = <usize>pRows;
  finalEndsPtr = <usize>pFinalEnds;
  scratchPtr = <usize>pScratch;
  pointIdSpansPtr = <usize>pSpans;
  pointIdMapPtr = <usize>pMap;
  messagePtr = <usize>pMessage;
  layoutEnd = <usize>end;
  slotStride = <usize>points * <usize>PANE_BYTES;
  let shift: usize = 6;
  while (<f64>(<usize>1 << shift) < entryBytes) shift++;
  pointShift = shift;
  initialised = true;
  return INIT_OK;
}

export function isInitialised(): bool {
  return initialised;
}
