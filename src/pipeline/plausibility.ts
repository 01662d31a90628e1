import type { WindowStats } from '../kernel/contract.js';
import type { WindowQuality } from '../join/types.js';

/**
 * Plausibility of one window's statistics: flags for numbers no working loop on a real road can
 * produce, so a faulty loop (stuck "occupied", double counting) or a broken producer (events sent
 * several times, every event on lane 1) shows in the output instead of passing as extreme traffic.
 *
 * The checks only read the published statistics, so a consumer can repeat them. Both are per lane
 * observed in the window (`lanes`: the lanes with at least one event), the divisor occupancy
 * already uses; an empty window (count 0) is always plausible.
 *
 * What a flag changes (src/pipeline/output.ts): the window's `quality` lists it and the record's
 * `risk.reliable` is false; the score is still computed (a consumer that ignores the flag keeps its
 * number, and the contributions still show what drove it), but the occupancy feature is capped at its
 * physical maximum 1 (src/model/features.ts), so a stuck loop's occupancy of 30 cannot saturate it.
 */

/**
 * Occupancy is the share of time the loop was occupied per observed lane: above 1 a lane was
 * occupied for longer than the window lasted — overlapping vehicles on one loop, which cannot
 * happen, or a loop stuck on. Caveat of the definition (contract.ts): a vehicle's whole time on the
 * loop counts in the window of its event time, so one vehicle standing on the loop across the
 * window's start adds the seconds it stood there before; in a standstill queue a 1-minute window can
 * go a little above 1 without a fault (the 10-minute window hardly ever).
 */
export const MAX_PLAUSIBLE_OCCUPANCY = 1;

/**
 * Vehicles per hour per observed lane. Capacity of a freeway lane is about 2,000–2,400 veh/h
 * (HCM; sustained over 15 minutes), and the highest 1-minute flows measured on freeway lanes stay
 * around 3,000 veh/h. 3,600 veh/h is a mean headway, front to front, of 1.0 s held by every vehicle
 * for the whole window (at 100 km/h about 28 m front to front, some 23 m bumper to bumper): far
 * beyond capacity even for the 1-minute window, so it takes double-counted or resent events, or
 * several lanes' traffic reported as one lane. The margin above measured peaks is deliberate: a false
 * flag would mark the densest — the riskiest — real minutes as unreliable.
 */
export const MAX_PLAUSIBLE_FLOW_VPH_PER_LANE = 3600;

/** Why a window is implausible; stable names, published in `quality.flags`. */
export const PlausibilityFlag = Object.freeze({
  /** occupancy > MAX_PLAUSIBLE_OCCUPANCY. */
  OCCUPANCY_OVER_1: 'OCCUPANCY_OVER_1',
  /** flow_vph / lanes > MAX_PLAUSIBLE_FLOW_VPH_PER_LANE. */
  FLOW_OVER_CAPACITY: 'FLOW_OVER_CAPACITY',
} as const);
export type PlausibilityFlag = (typeof PlausibilityFlag)[keyof typeof PlausibilityFlag];

/** The same object for every plausible window: no allocation for the common case. */
const PLAUSIBLE: WindowQuality = Object.freeze({ plausible: true, flags: Object.freeze([]) });

/** The flags of one window's statistics, in the order of PlausibilityFlag. */
export function windowQuality(stats: WindowStats): WindowQuality {
  const occupancyOver = stats.occupancy !== null && stats.occupancy > MAX_PLAUSIBLE_OCCUPANCY;
  const lanes = stats.lanes ?? 0;
  const flowOver = lanes > 0 && stats.flowVph !== null && stats.flowVph / lanes > MAX_PLAUSIBLE_FLOW_VPH_PER_LANE;
  if (!occupancyOver && !flowOver) return PLAUSIBLE;
  const flags: PlausibilityFlag[] = [];
  if (occupancyOver) flags.push(PlausibilityFlag.OCCUPANCY_OVER_1);
  if (flowOver) flags.push(PlausibilityFlag.FLOW_OVER_CAPACITY);
  return { plausible: false, flags };
}
