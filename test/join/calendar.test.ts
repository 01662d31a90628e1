import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { CalendarResolver, DEFAULT_CALENDAR_OPTIONS, type CalendarOptions } from '../../src/join/calendar.js';

/** Epoch seconds of a UTC wall time (month 1-based). */
const utc = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi) / 1000;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).not.toContain('\n');
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('CalendarResolver defaults: Europe/Warsaw, PL public holidays, start = end − 60 s', () => {
  const cal = new CalendarResolver();

  it('defaults are frozen and documented', () => {
    expect(DEFAULT_CALENDAR_OPTIONS).toEqual({ timeZone: 'Europe/Warsaw', holidays: 'PL', startOffsetS: 60 });
    expect(Object.isFrozen(DEFAULT_CALENDAR_OPTIONS)).toBe(true);
  });

  it('2026-11-11 (Independence Day, a Wednesday): the first minute after local midnight is a holiday', () => {
    // Window end 23:01Z → start 23:00Z = 00:00 CET on Nov 11.
    expect(cal.at(utc(2026, 11, 10, 23, 1))).toEqual({ weekday: 3, hour: 0, holiday: true });
  });

  it('the minute 23:59–00:00 belongs to the day it was driven on (Tuesday Nov 10, no holiday)', () => {
    // Window end 23:00Z = 00:00 CET Nov 11, but its start 22:59Z = 23:59 CET Nov 10.
    expect(cal.at(utc(2026, 11, 10, 23, 0))).toEqual({ weekday: 2, hour: 23, holiday: false });
  });

  it('2026-04-06 Easter Monday and 2026-04-05 Easter Sunday are public holidays (CEST, UTC+2)', () => {
    expect(cal.at(utc(2026, 4, 6, 10, 1))).toEqual({ weekday: 1, hour: 12, holiday: true });
    expect(cal.at(utc(2026, 4, 5, 10, 1))).toEqual({ weekday: 7, hour: 12, holiday: true });
    expect(cal.at(utc(2026, 4, 7, 10, 1))).toEqual({ weekday: 2, hour: 12, holiday: false });
  });

  it('only type "public" counts: observances (Valentine’s Day) and school days (Good Friday) do not', () => {
    expect(cal.at(utc(2026, 2, 14, 12, 1)).holiday).toBe(false);
    expect(cal.at(utc(2026, 4, 3, 12, 1)).holiday).toBe(false);
    expect(cal.at(utc(2026, 5, 3, 12, 1)).holiday).toBe(true); // Constitution Day
  });

  it('spring DST change, Sunday 2026-03-29: 01:59 CET is followed by 03:00 CEST', () => {
    expect(cal.at(utc(2026, 3, 29, 1, 0))).toEqual({ weekday: 7, hour: 1, holiday: false }); // start 00:59Z
    expect(cal.at(utc(2026, 3, 29, 1, 1))).toEqual({ weekday: 7, hour: 3, holiday: false }); // start 01:00Z
  });

  it('autumn DST change, Sunday 2026-10-25: the local hour 2 happens twice', () => {
    expect(cal.at(utc(2026, 10, 24, 22, 1)).hour).toBe(0); // 22:00Z = 00:00 CEST
    expect(cal.at(utc(2026, 10, 25, 0, 31)).hour).toBe(2); // 00:30Z = 02:30 CEST
    expect(cal.at(utc(2026, 10, 25, 1, 31)).hour).toBe(2); // 01:30Z = 02:30 CET
    expect(cal.at(utc(2026, 10, 25, 2, 31)).hour).toBe(3); // 02:30Z = 03:30 CET
    expect(cal.at(utc(2026, 10, 25, 2, 31)).weekday).toBe(7);
  });

  it('New Year across the year boundary: 2027-01-01 00:00 CET is a holiday (a Friday)', () => {
    expect(cal.at(utc(2026, 12, 31, 23, 1))).toEqual({ weekday: 5, hour: 0, holiday: true });
    expect(cal.at(utc(2026, 12, 31, 22, 1))).toEqual({ weekday: 4, hour: 23, holiday: false });
  });

  it('returns the same frozen object for the same window end (no per-call allocation)', () => {
    const a = cal.at(utc(2026, 9, 21, 8, 0));
    const b = cal.at(utc(2026, 9, 21, 8, 0));
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(cal.at(utc(2026, 9, 21, 8, 1))).not.toBe(a);
  });

  it('stays right after the window-end cache turns over many times', () => {
    const t0 = utc(2026, 11, 10, 0, 0);
    for (let k = 1; k <= 200; k++) cal.at(t0 + k * 60);
    expect(cal.at(utc(2026, 11, 10, 23, 1))).toEqual({ weekday: 3, hour: 0, holiday: true });
    expect(cal.at(t0 + 60)).toEqual({ weekday: 2, hour: 1, holiday: false }); // start 00:00Z = 01:00 CET Nov 10
  });

  it('a non-finite window end is a RangeError', () => {
    expect(() => cal.at(Number.NaN)).toThrow(RangeError);
  });

  it('property: hour and weekday follow the EU DST rule (UTC+1, UTC+2 from last Sunday of March to last Sunday of October, 01:00Z)', () => {
    const lastSunday = (y: number, month: number) => {
      const last = new Date(Date.UTC(y, month, 0)); // last day of the 1-based month
      return Date.UTC(y, month - 1, last.getUTCDate() - last.getUTCDay(), 1) / 1000;
    };
    fc.assert(
      fc.property(fc.integer({ min: utc(2020, 1, 1) / 60, max: utc(2035, 1, 1) / 60 }), (minute) => {
        const end = minute * 60;
        const start = end - 60;
        const y = new Date(start * 1000).getUTCFullYear();
        const offsetH = start >= lastSunday(y, 3) && start < lastSunday(y, 10) ? 2 : 1;
        const local = new Date((start + offsetH * 3600) * 1000);
        const c = cal.at(end);
        expect(c.hour).toBe(local.getUTCHours());
        expect(c.weekday).toBe(((local.getUTCDay() + 6) % 7) + 1);
      }),
    );
  });
});

describe('CalendarResolver options', () => {
  it('startOffsetS moves the described instant', () => {
    const cal = new CalendarResolver({ startOffsetS: 0 });
    // The end itself: 23:00Z = 00:00 CET Nov 11.
    expect(cal.at(utc(2026, 11, 10, 23, 0))).toEqual({ weekday: 3, hour: 0, holiday: true });
    const tenMin = new CalendarResolver({ startOffsetS: 600 });
    expect(tenMin.at(utc(2026, 11, 10, 23, 5))).toEqual({ weekday: 2, hour: 23, holiday: false });
  });

  it('another time zone: UTC', () => {
    const cal = new CalendarResolver({ timeZone: 'UTC' });
    expect(cal.at(utc(2026, 11, 10, 23, 1))).toEqual({ weekday: 2, hour: 23, holiday: false });
    expect(cal.at(utc(2026, 11, 11, 12, 1))).toEqual({ weekday: 3, hour: 12, holiday: true });
  });

  it('an explicit list of local dates replaces the country’s holidays', () => {
    const cal = new CalendarResolver({ holidays: ['2026-11-10'] });
    expect(cal.at(utc(2026, 11, 10, 23, 0)).holiday).toBe(true); // 23:59 CET Nov 10
    expect(cal.at(utc(2026, 11, 10, 23, 1)).holiday).toBe(false); // Nov 11 is not in the list
    const none = new CalendarResolver({ holidays: [] });
    expect(none.at(utc(2026, 1, 1, 12, 0)).holiday).toBe(false);
    expect(none.isHoliday('2026-01-01')).toBe(false);
  });

  it('the explicit list is copied and frozen', () => {
    const list = ['2026-11-10'];
    const cal = new CalendarResolver({ holidays: list });
    list.push('2026-11-11');
    expect(cal.isHoliday('2026-11-11')).toBe(false);
    expect(Object.isFrozen(cal.options.holidays)).toBe(true);
  });

  it('a country state: DE-BY has Epiphany (Jan 6), DE as a whole does not; codes are case-insensitive', () => {
    const by = new CalendarResolver({ timeZone: 'Europe/Berlin', holidays: 'de-by' });
    const de = new CalendarResolver({ timeZone: 'Europe/Berlin', holidays: 'DE' });
    expect(by.at(utc(2026, 1, 6, 12, 1)).holiday).toBe(true);
    expect(de.at(utc(2026, 1, 6, 12, 1)).holiday).toBe(false);
    expect(de.at(utc(2026, 10, 3, 12, 1)).holiday).toBe(true); // German Unity Day
    expect(new CalendarResolver({ holidays: 'pl' }).isHoliday('2026-11-11')).toBe(true);
  });
});

describe('CalendarResolver validation messages', () => {
  const cases: Array<[string, Partial<CalendarOptions>, string, string]> = [
    [
      'unknown time zone',
      { timeZone: 'Mars/Olympus' },
      'calendar.timeZone',
      'calendar.timeZone unknown time zone "Mars/Olympus"; fix: use an IANA time zone name such as Europe/Warsaw',
    ],
    [
      'empty time zone',
      { timeZone: '' },
      'calendar.timeZone',
      'calendar.timeZone must be a time zone name (got ""); fix: use an IANA time zone name such as Europe/Warsaw',
    ],
    [
      'unknown country',
      { holidays: 'XX' },
      'calendar.holidays',
      'calendar.holidays unknown holiday country "XX"; fix: use a country code known to date-holidays such as PL or DE (or DE-BY for a state), or an explicit list of YYYY-MM-DD dates',
    ],
    [
      'empty country',
      { holidays: '' },
      'calendar.holidays',
      'calendar.holidays unknown holiday country ""; fix: use a country code known to date-holidays such as PL or DE (or DE-BY for a state), or an explicit list of YYYY-MM-DD dates',
    ],
    [
      'unknown state',
      { holidays: 'DE-XX' },
      'calendar.holidays',
      'calendar.holidays unknown state "XX" of DE; fix: use one of BB, BE, BW, BY, HB, HE, HH, MV, NI, NW, RP, SH, SL, SN, ST, TH',
    ],
    [
      'a state of a country without states',
      { holidays: 'PL-MZ' },
      'calendar.holidays',
      'calendar.holidays unknown state "MZ" of PL; fix: use PL alone (it has no states)',
    ],
    [
      'an impossible date',
      { holidays: ['2026-01-01', '2026-02-30'] },
      'calendar.holidays',
      'calendar.holidays entry 2 ("2026-02-30") is not a date YYYY-MM-DD; fix: list local dates like 2026-11-11',
    ],
    [
      'a date without zero padding',
      { holidays: ['2026-1-6'] },
      'calendar.holidays',
      'calendar.holidays entry 1 ("2026-1-6") is not a date YYYY-MM-DD; fix: list local dates like 2026-11-11',
    ],
    [
      'a number in the list',
      { holidays: [20261111 as unknown as string] },
      'calendar.holidays',
      'calendar.holidays entry 1 (20261111) is not a date YYYY-MM-DD; fix: list local dates like 2026-11-11',
    ],
    [
      'neither a code nor a list',
      { holidays: true as unknown as string },
      'calendar.holidays',
      'calendar.holidays must be a country code or a list of YYYY-MM-DD dates (got boolean); fix: use e.g. PL or ["2026-11-11"]',
    ],
    [
      'a negative start offset',
      { startOffsetS: -60 },
      'calendar.startOffsetS',
      'calendar.startOffsetS must be a non-negative number of seconds (got -60); fix: use the short window size, e.g. 60',
    ],
    [
      'a NaN start offset',
      { startOffsetS: Number.NaN },
      'calendar.startOffsetS',
      'calendar.startOffsetS must be a non-negative number of seconds (got NaN); fix: use the short window size, e.g. 60',
    ],
  ];
  for (const [name, options, field, message] of cases) {
    it(name, () => {
      const err = configError(() => new CalendarResolver(options));
      expect(err.field).toBe(field);
      expect(err.message).toBe(message);
    });
  }

  it('the prefix names fields as the caller’s user knows them', () => {
    expect(configError(() => new CalendarResolver({ timeZone: 'Nowhere' }, '--')).field).toBe('--timeZone');
  });
});
