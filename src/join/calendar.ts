import Holidays from 'date-holidays';
import { ConfigError } from '../errors.js';
import type { Calendar } from './types.js';

/**
 * Local calendar facts of a window: ISO weekday, hour and public-holiday flag, in the road network's
 * time zone. Traffic and risk follow local clocks (rush hours, night, holiday traffic), not UTC, and
 * must move with daylight saving time — so everything goes through Intl with an IANA zone.
 *
 * The instant described is the window's *start* (the short window: `windowEnd − startOffsetS`), so
 * the row for the minute 21:59–22:00 says hour 21, not 22, and the minute 23:59–00:00 belongs to the
 * day it was driven on. The holiday flag is for that instant's local date.
 */
export interface CalendarOptions {
  /** IANA time zone of the road network, e.g. `Europe/Warsaw`. */
  timeZone: string;
  /**
   * Public holidays: a country code for date-holidays (`PL`, or `DE-BY` for a country's state), of
   * which only type `public` counts (not observances, school or bank holidays); or an explicit list
   * of local dates `YYYY-MM-DD` (an empty list: no holidays).
   */
  holidays: string | readonly string[];
  /** Seconds from the window start to its end: the short window's size. */
  startOffsetS: number;
}

export const DEFAULT_CALENDAR_OPTIONS: Readonly<CalendarOptions> = Object.freeze({
  timeZone: 'Europe/Warsaw',
  holidays: 'PL',
  startOffsetS: 60,
});

/** Window ends remembered. All rows of one window end share one Calendar; a few ends are in flight at once. */
const CACHE_SIZE = 32;

const WEEKDAYS: Readonly<Record<string, number>> = Object.freeze({
  Mon: 1,
  Tue: 2,
  Wed: 3,
  Thu: 4,
  Fri: 5,
  Sat: 6,
  Sun: 7,
});

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export class CalendarResolver {
  readonly options: Readonly<CalendarOptions>;
  private readonly format: Intl.DateTimeFormat;
  /** null for an explicit list (fixed set below). */
  private readonly source: Holidays | null;
  /** Local dates `YYYY-MM-DD` that are holidays: the explicit list, or filled per year from date-holidays. */
  private readonly holidayDates = new Set<string>();
  private readonly yearsLoaded = new Set<number>();
  private readonly cache = new Map<number, Calendar>();

  /** `prefix` names the options in error messages as the caller's user knows them. */
  constructor(options: Partial<CalendarOptions> = {}, prefix = 'calendar.') {
    const o = { ...DEFAULT_CALENDAR_OPTIONS, ...options };
    this.format = timeZoneFormat(o.timeZone, `${prefix}timeZone`);
    if (typeof o.startOffsetS !== 'number' || !Number.isFinite(o.startOffsetS) || o.startOffsetS < 0) {
      throw new ConfigError(
        `${prefix}startOffsetS`,
        `must be a non-negative number of seconds (got ${String(o.startOffsetS)}); fix: use the short window size, e.g. 60`,
      );
    }
    if (typeof o.holidays === 'string') {
      this.source = holidaySource(o.holidays, `${prefix}holidays`);
      this.options = Object.freeze({ ...o });
    } else if (Array.isArray(o.holidays)) {
      this.source = null;
      o.holidays.forEach((d, i) => {
        if (typeof d !== 'string' || !isRealDate(d)) {
          throw new ConfigError(
            `${prefix}holidays`,
            `entry ${i + 1} (${JSON.stringify(d)}) is not a date YYYY-MM-DD; fix: list local dates like 2026-11-11`,
          );
        }
        this.holidayDates.add(d);
      });
      this.options = Object.freeze({ ...o, holidays: Object.freeze([...o.holidays]) });
    } else {
      throw new ConfigError(
        `${prefix}holidays`,
        `must be a country code or a list of YYYY-MM-DD dates (got ${typeof o.holidays}); fix: use e.g. PL or ["2026-11-11"]`,
      );
    }
  }

  /**
   * Calendar of the window ending at `windowEndS` (epoch seconds). The same window end returns the
   * same frozen object: every point's row of that end shares it, and the hot path allocates nothing.
   */
  at(windowEndS: number): Calendar {
    const hit = this.cache.get(windowEndS);
    if (hit !== undefined) return hit;
    if (!Number.isFinite(windowEndS)) throw new RangeError(`window end ${windowEndS} is not a finite epoch second`);

    let weekday = 0;
    let hour = 0;
    let year = '';
    let month = '';
    let day = '';
    for (const part of this.format.formatToParts((windowEndS - this.options.startOffsetS) * 1000)) {
      switch (part.type) {
        case 'weekday':
          weekday = WEEKDAYS[part.value];
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'year':
          year = part.value.padStart(4, '0');
          break;
        case 'month':
          month = part.value;
          break;
        case 'day':
          day = part.value;
          break;
        default:
          break;
      }
    }
    const calendar: Calendar = Object.freeze({ weekday, hour, holiday: this.isHoliday(`${year}-${month}-${day}`) });
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as number);
    this.cache.set(windowEndS, calendar);
    return calendar;
  }

  /** Whether a local date `YYYY-MM-DD` is a holiday. */
  isHoliday(localDate: string): boolean {
    if (this.source !== null) {
      const year = Number(localDate.slice(0, 4));
      if (!this.yearsLoaded.has(year)) this.loadYear(year);
    }
    return this.holidayDates.has(localDate);
  }

  /**
   * Adds the public holidays dated in `year`. The previous year is read too, so a multi-day holiday
   * starting before New Year still marks its January days. A holiday covering only part of a day
   * (date-holidays has some starting at noon) marks the whole local date.
   */
  private loadYear(year: number): void {
    const prefix = `${String(year).padStart(4, '0')}-`;
    for (const h of [...this.source!.getHolidays(year - 1), ...this.source!.getHolidays(year)]) {
      if (h.type !== 'public') continue;
      const days = Math.max(1, Math.round((h.end.getTime() - h.start.getTime()) / 86_400_000));
      const [y, m, d] = h.date.slice(0, 10).split('-').map(Number);
      for (let k = 0; k < days; k++) {
        const date = new Date(Date.UTC(y, m - 1, d + k)).toISOString().slice(0, 10);
        if (date.startsWith(prefix)) this.holidayDates.add(date);
      }
    }
    this.yearsLoaded.add(year);
  }
}

function timeZoneFormat(timeZone: unknown, field: string): Intl.DateTimeFormat {
  const fix = 'fix: use an IANA time zone name such as Europe/Warsaw';
  if (typeof timeZone !== 'string' || timeZone === '') {
    throw new ConfigError(field, `must be a time zone name (got ${JSON.stringify(timeZone)}); ${fix}`);
  }
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
    });
  } catch (e) {
    throw new ConfigError(field, `unknown time zone ${JSON.stringify(timeZone)}; ${fix}`, { cause: e });
  }
}

/** date-holidays for `PL` or `DE-BY` (country-state), validated against the library's own lists. */
function holidaySource(code: string, field: string): Holidays {
  const fix = 'fix: use a country code known to date-holidays such as PL or DE (or DE-BY for a state), or an explicit list of YYYY-MM-DD dates';
  const [country, state, ...rest] = code.trim().toUpperCase().split('-');
  const known = new Holidays();
  if (rest.length > 0 || !country || !Object.hasOwn(known.getCountries(), country)) {
    throw new ConfigError(field, `unknown holiday country ${JSON.stringify(code)}; ${fix}`);
  }
  if (state !== undefined) {
    const states = known.getStates(country) ?? {};
    if (!Object.hasOwn(states, state)) {
      const list = Object.keys(states);
      throw new ConfigError(
        field,
        `unknown state ${JSON.stringify(state)} of ${country}; fix: use ${list.length > 0 ? `one of ${list.join(', ')}` : `${country} alone (it has no states)`}`,
      );
    }
    return new Holidays(country, state);
  }
  return new Holidays(country);
}

function isRealDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}
