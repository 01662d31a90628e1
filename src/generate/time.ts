/** Wall-clock helpers of the generator. */

/** Default start: the current wall-clock minute. */
export function currentMinuteS(nowMs = Date.now()): number {
  return Math.floor(nowMs / 60_000) * 60;
}
