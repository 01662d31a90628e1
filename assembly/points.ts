// Point table: one POINT_BYTES (32) entry per dense point index.
//   0  f64 allowedSpeedKmh   NaN = the point has no speed limit (overLimitShare is null)
//   8  i32 registered        0 = unknown point (its events are UNKNOWN_POINT, it gets no rows)
//   12 i32 (padding)
//   16..32 (padding)

import { panesPtr, pointCapacity, pointsPtr, POINT_BYTES, ringBytes } from './layout';

export let registeredCount: i32 = 0;

// @ts-ignore: decorator
@inline export function pointEntry(point: i32): usize {
  return pointsPtr + (<usize>point << 5); // POINT_BYTES = 32
}

// @ts-ignore: decorator
@inline export function pointRing(point: i32): usize {
  return panesPtr + <usize>point * ringBytes;
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


