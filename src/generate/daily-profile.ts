/**
 * How much traffic there is at an instant, relative to a weekday's rush hour (1.0), by the local
 * time of day and day of week in one IANA time zone (default Europe/Warsaw, the service's default
 * calendar zone, so generated rush hours fall on the hours the risk rows report).
 *
 * Weekdays (Mon–Fri): night 0.06 (02:00–04:00), morning peak 1.0 at 08:00, midday ~0.65–0.7,
 * evening peak 1.0 at 16:00, falling to ~0.2 by 22:00. Saturday and Sunday: no morning peak, a broad
 * midday plateau of ~0.65. Public holidays are not modelled (they look like weekdays).
 * Hourly values, linear in between.
 */

/** Relative demand at each local hour (0..23) of a weekday; linear in between. */
const WEEKDAY = [
  0.12, 0.08, 0.06, 0.06, 0.09, 0.22, 0.55, 0.95, 1.0, 0.78, 0.65, 0.66, 0.68, 0.7, 0.78, 0.9, 1.0, 0.97, 0.78, 0.55, 0.4, 0.3, 0.22, 0.16,
] as const;
/** The same for Saturday and Sunday. */
const WEEKEND = [
  0.15, 0.11, 0.08, 0.06, 0.06, 0.08, 0.14, 0.22, 0.32, 0.45, 0.58, 0.65, 0.68, 0.68, 0.66, 0.65, 0.64, 0.6, 0.52, 0.42, 0.33, 0.27, 0.22, 0.18,
] as const;

export const DEFAULT_TIME_ZONE = 'Europe/Warsaw';

function interpolate(table: readonly number[], hour: number): number {
  const h = Math.floor(hour);
  const f = hour - h;
  return table[h % 24]! * (1 - f) + table[(h + 1) % 24]! * f;
}

/** Relative demand at a local time: `weekday` ISO (1 = Monday … 7 = Sunday), `hour` 0 ≤ h < 24. */
export function demandAt(weekday: number, hour: number): number {
  return interpolate(weekday >= 6 ? WEEKEND : WEEKDAY, hour);
}

/** The mean of the weekday profile over 24 h: a rate given "on average over a weekday" is rate / this at 1.0. */
export const WEEKDAY_MEAN_DEMAND = WEEKDAY.reduce((a, b) => a + b, 0) / WEEKDAY.length;

const WEEKDAYS: Readonly<Record<string, number>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Checks an IANA time zone name; throws RangeError (Intl's) for an unknown one. */
export function checkTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone });
}

/**
 * The daily profile in one time zone. Local time comes from Intl once per quarter hour of epoch
 * time (every zone's offset is a multiple of 15 minutes), then by arithmetic within it.
 */
export class DailyProfile {
  private readonly format: Intl.DateTimeFormat;
  private slot = Number.NaN;
  /** Local weekday and hour at the start of `slot`. */
  private slotWeekday = 1;
  private slotHour = 0;

  constructor(readonly timeZone: string = DEFAULT_TIME_ZONE) {
    this.format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
  }

  /** Local ISO weekday and fractional hour of epoch second `t`. */
  localTime(t: number): { weekday: number; hour: number } {
    this.enterSlot(t);
    return { weekday: this.slotWeekday, hour: this.slotHour + (t - this.slot * 900) / 3600 };
  }

  /** Relative demand (weekday rush hour = 1) at epoch second `t`. */
  demand(t: number): number {
    // Called twice per vehicle: no object on the way.
    this.enterSlot(t);
    return demandAt(this.slotWeekday, this.slotHour + (t - this.slot * 900) / 3600);
  }

  private enterSlot(t: number): void {
    const slot = Math.floor(t / 900);
    if (slot === this.slot) return;
    const parts = this.format.formatToParts(slot * 900_000);
    const part = (type: string) => parts.find((p) => p.type === type)!.value;
    this.slot = slot;
    this.slotWeekday = WEEKDAYS[part('weekday')]!;
    this.slotHour = Number(part('hour')) + Number(part('minute')) / 60;
  }
}
