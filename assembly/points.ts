// Point table: one POINT_BYTES (32) entry per dense point index.
//   0  f64 allowedSpeedKmh   NaN = the point has no speed limit (overLimitShare is null)
//   8  i32 registered        0 = unknown point (its events are UNKNOWN_POINT, it gets no rows)
//   12 i32 (padding)
//   16 f64 speedShift        speed of the point's first accepted event since the last reset (NaN
//                            before): panes sum speed - speedShift and its square, which keeps
//                            the variance exact for constant speeds and cancellation small
//   24 f64 (padding)

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


/** The point's speed shift, fixed by its first accepted event after a reset. */
// @ts-ignore: decorator
@inline export function speedShiftOf(entry: usize, speed: f64): f64 {
  let shift = load<f64>(entry, 16);
  if (isNaN(shift)) {
    shift = speed;
    store<f64>(entry, shift, 16);
  }
  return shift;
}

/** Forgets every point's speed shift (stream reset: all panes are empty again). */
export function resetSpeedShifts(): void {
  for (let point = 0; point < pointCapacity; point++) store<f64>(pointEntry(point), NaN, 16);
}
