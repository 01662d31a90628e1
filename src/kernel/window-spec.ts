import { ConfigError } from '../errors.js';

/**
 * The windows saferoads computes, as one validated, immutable value.
 *
 * Example (the defaults): advance 60 s, short 60 s, long 600 s, grace 30 s. For the window end
 * T = 12:10:00 the short window is [12:09:00, 12:10:00) and the long one [12:00:00, 12:10:00). The
 * row for T is final once the stream watermark (largest event time − 30 s, min over partitions)
 * reaches 12:10:00, i.e. after an event at or beyond 12:10:30 was seen on every active partition.
 * An event at 12:09:59 arriving after that is late. The kernel keeps 600/60 + ceil(30/60) + 1 = 12
 * per-minute panes per point.
 */
export interface WindowSpecOptions {
  /** Hop between window ends and pane width, seconds. */
  advanceS: number;
  /** Short window size, seconds: a whole multiple of advanceS. */
  shortS: number;
  /** Long window size, seconds: a whole multiple of advanceS, at least shortS. */
  longS: number;
  /** How far event time may go back behind the largest seen before an event is late, seconds. */
  graceS: number;
  /** Events further ahead of the wall clock than this are refused (TOO_FAR_AHEAD), seconds. */
  maxSkewS: number;
  /** A partition without records for this long (wall clock) stops holding the watermark back. */
  idleTimeoutS: number;
  /** How far beyond the grace an event may run ahead of the stream watermark; sizes the ring. */
  leadS: number;
}

export interface WindowSpec extends Readonly<WindowSpecOptions> {
  readonly shortPanes: number;
  readonly longPanes: number;
  /** Panes kept per point: longPanes + ceil(graceS/advanceS) + ceil(leadS/advanceS), at least longPanes + 1. */
  readonly ringPanes: number;
}

export const DEFAULT_WINDOW_SPEC_OPTIONS: Readonly<WindowSpecOptions> = Object.freeze({
  advanceS: 60,
  shortS: 60,
  longS: 600,
  graceS: 30,
  maxSkewS: 300,
  idleTimeoutS: 60,
  leadS: 60,
});

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(field, `must be a positive integer number of seconds (got ${String(value)})`);
  }
  return value;
}

function nonNegativeInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(field, `must be a non-negative integer number of seconds (got ${String(value)})`);
  }
  return value;
}

/**
 * Validates options (defaults fill what is missing) and returns a frozen spec. `prefix` names the
 * options in error messages as the caller's user knows them (e.g. `windows.` or `--`).
 */
export function windowSpec(options: Partial<WindowSpecOptions> = {}, prefix = 'windows.'): WindowSpec {
  const o = { ...DEFAULT_WINDOW_SPEC_OPTIONS, ...options };
  const advanceS = positiveInteger(`${prefix}advanceS`, o.advanceS);
  const shortS = positiveInteger(`${prefix}shortS`, o.shortS);
  const longS = positiveInteger(`${prefix}longS`, o.longS);
  const graceS = nonNegativeInteger(`${prefix}graceS`, o.graceS);
  const maxSkewS = nonNegativeInteger(`${prefix}maxSkewS`, o.maxSkewS);
  const idleTimeoutS = positiveInteger(`${prefix}idleTimeoutS`, o.idleTimeoutS);
  const leadS = nonNegativeInteger(`${prefix}leadS`, o.leadS);
  if (shortS % advanceS !== 0) {
    throw new ConfigError(`${prefix}shortS`, `must be a whole multiple of ${prefix}advanceS (${advanceS})`);
  }
  if (longS % advanceS !== 0) {
    throw new ConfigError(`${prefix}longS`, `must be a whole multiple of ${prefix}advanceS (${advanceS})`);
  }
  if (longS < shortS) {
    throw new ConfigError(`${prefix}longS`, `must be at least ${prefix}shortS (${shortS})`);
  }
  if (graceS >= longS) {
    throw new ConfigError(`${prefix}graceS`, `must be less than ${prefix}longS (${longS})`);
  }
  const shortPanes = shortS / advanceS;
  const longPanes = longS / advanceS;
  const ringPanes = longPanes + Math.ceil(graceS / advanceS) + Math.ceil(leadS / advanceS);
  return Object.freeze({
    advanceS,
    shortS,
    longS,
    graceS,
    maxSkewS,
    idleTimeoutS,
    leadS,
    shortPanes,
    longPanes,
    ringPanes: Math.max(ringPanes, longPanes + 1),
  });
}
