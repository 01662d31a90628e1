import { MAX_LANES, MAX_LENGTH_M, MAX_SPEED_KMH, Reason, type ReasonCode } from './contract.js';
import type { EventColumns } from './kernel.js';

/**
 * The contract's field checks of event `i`, in the contract's order (NOT_FINITE … BAD_TIMESTAMPS);
 * OK when the event is well-formed. Time checks (skew, lateness, ring) are the caller's. The WASM
 * kernel has its own copy in assembly/ingest.ts; the property tests hold the two to the same result.
 */
export function checkEventFields(c: EventColumns, i: number, pointKnown: (point: number) => boolean): ReasonCode {
  const tIn1 = c.tIn1[i];
  const tOut1 = c.tOut1[i];
  const tIn2 = c.tIn2[i];
  const t = c.tOut2[i];
  const speed = c.speed[i];
  const gapM = c.gapM[i];
  const gapS = c.gapS[i];
  const length = c.length[i];
  if (
    !Number.isFinite(tIn1) ||
    !Number.isFinite(tOut1) ||
    !Number.isFinite(tIn2) ||
    !Number.isFinite(t) ||
    !Number.isFinite(speed) ||
    !Number.isFinite(gapM) ||
    !Number.isFinite(gapS) ||
    !Number.isFinite(length)
  ) {
    return Reason.NOT_FINITE;
  }
  if (!pointKnown(c.point[i])) return Reason.UNKNOWN_POINT;
  const lane = c.lane[i];
  if (lane < 1 || lane > MAX_LANES) return Reason.LANE_OUT_OF_RANGE;
  if (speed < 0 || speed > MAX_SPEED_KMH) return Reason.SPEED_OUT_OF_RANGE;
  if (gapM < 0 || gapS < 0) return Reason.NEGATIVE_GAP;
  if (length < 0 || length > MAX_LENGTH_M) return Reason.LENGTH_OUT_OF_RANGE;
  if (tIn1 < 0 || tOut1 < 0 || tIn2 < 0 || t < 0 || tOut1 < tIn1) return Reason.BAD_TIMESTAMPS;
  return Reason.OK;
}
