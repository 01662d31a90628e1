// Point table: one entry of pointBytesFor(ringPanes) bytes (layout.ts: 16 + 4 * ringPanes rounded up
// to a power of two, at least 64: 64 bytes for the default 12-pane ring) per dense point index,
// 64-byte aligned: the cache line that an event reads anyway (registered, allowed speed) also tells
// which pane each ring slot holds.
//   0  f64 allowedSpeedKmh   NaN = the point has no speed limit (overLimitShare is null)
//   8  i32 registered        0 = unknown point (its events are UNKNOWN_POINT, it gets no rows)
//   12 i32 (padding)
//   16 i32 slotPane[ringPanes]  relative pane index held by ring slot s at 16 + 4*s, EMPTY_PANE when
//                               the slot was never used since the last reset (pane.ts)

import { pointCapacity, pointShift, pointsPtr, ringPanes } from './layout';

export const POINT_SLOT_PANES: usize = 16;
export let registeredCount: i32 = 0;

// @ts-ignore: decorator
@inline export function pointEntry(point: i32): usize {
  return pointsPtr + (<usize>point << pointShift);
}

/** Address of the holder of ring slot `slot` in the entry at `entry`. */
// @ts-ignore: decorator
@inline export function slotHolder(entry: usize, slot: i32): usize {
  return entry + POINT_SLOT_PANES + (<usize>slot << 2);
}

// @ts-ignore: decorator
@inline export function isRegistered(point: i32): bool {
  return <u32>point < <u32>pointCapacity && load<i32>(pointEntry(point), 8) != 0;
}

/** Registers `point` or changes its allowed speed. Returns false when the index is out of range. */
export function registerPoint(point: i32, allowedSpeedKmh: f64): bool {
  if (<u32>point >= <u32>pointCapacity) return false;
  const entry = pointEntry(point);
  if (load<i32>(entry, 8) == 0) registeredCount++;
  store<f64>(entry, allowedSpeedKmh);
  store<i32>(entry, 1, 8);
  return true;
}

/** Marks every ring slot of every point empty (points stay registered). */
export function clearSlots(emptyPane: i32): void {
  for (let point = 0; point < pointCapacity; point++) {
    const entry = pointEntry(point);
    for (let s = 0; s < ringPanes; s++) store<i32>(slotHolder(entry, s), emptyPane);
  }
}
