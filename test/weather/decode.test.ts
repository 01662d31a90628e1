import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWeather, WEATHER_LIMITS, WeatherRejectReason } from '../../src/weather/decode.js';

const GOOD = { station: 'WAW', timestamp: 1_790_000_000, temp: -2.5, snow: 0.4, rain: 0, pressure: 1013.2 };

const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

function rejected(value: Buffer | null): { reason: string; detail: string } {
  const r = decodeWeather(value);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.reading)}`);
  return { reason: r.reason, detail: r.detail };
}

describe('decodeWeather: valid readings', () => {
  it('decodes every field; absent wind and visibility are null', () => {
    expect(decodeWeather(buf(GOOD))).toEqual({
      ok: true,
      reading: { ...GOOD, wind: null, visibility: null },
    });
  });

  it('keeps wind and visibility when given, null when sent as null', () => {
    const r = decodeWeather(buf({ ...GOOD, wind: 7.5, visibility: 150 }));
    expect(r.ok && r.reading.wind).toBe(7.5);
    expect(r.ok && r.reading.visibility).toBe(150);
    const n = decodeWeather(buf({ ...GOOD, wind: null, visibility: null }));
    expect(n.ok && [n.reading.wind, n.reading.visibility]).toEqual([null, null]);
  });

  it('accepts the inclusive range bounds and ignores unknown fields', () => {
    const r = decodeWeather(
      buf({ ...GOOD, timestamp: 0, temp: -90, pressure: 800, snow: 0, rain: 0, wind: 0, visibility: 0, humidity: 80 }),
    );
    expect(r.ok).toBe(true);
    expect(r.ok && 'humidity' in r.reading).toBe(false);
    expect(decodeWeather(buf({ ...GOOD, temp: 70, pressure: 1100, timestamp: 1e11 })).ok).toBe(true);
    // Fractional epoch seconds are fine.
    expect(decodeWeather(buf({ ...GOOD, timestamp: 1_790_000_000.25 })).ok).toBe(true);
  });

  it('round-trips any valid reading (property)', () => {
    const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(
        fc.record({
          station: fc.string({ minLength: 1 }),
          timestamp: finite(0, 1e11),
          temp: finite(-90, 70),
          snow: finite(0, 500),
          rain: finite(0, 500),
          pressure: finite(800, 1100),
          wind: fc.option(finite(0, 100)),
          visibility: fc.option(finite(0, 1e5)),
        }),
        (reading) => {
          // -0 becomes 0 through JSON; compare what JSON can carry.
          const expected = JSON.parse(JSON.stringify(reading));
          expect(decodeWeather(buf(reading))).toEqual({ ok: true, reading: expected });
        },
      ),
    );
  });
});

describe('decodeWeather: rejections with reason and detail', () => {
  const cases: Array<[string, Buffer | null, string, string]> = [
    ['null value (tombstone)', null, 'INVALID_JSON', 'the record has no value (null or empty)'],
    ['empty value', Buffer.alloc(0), 'INVALID_JSON', 'the record has no value (null or empty)'],
    ['JSON null', buf('null'), 'WRONG_TYPE', 'the value must be a JSON object, got null'],
    ['an array', buf('[1,2]'), 'WRONG_TYPE', 'the value must be a JSON object, got an array'],
    ['a number', buf('42'), 'WRONG_TYPE', 'the value must be a JSON object, got number'],
    ['station missing', buf({ ...GOOD, station: undefined }), 'MISSING_FIELD', 'station is missing'],
    ['station null', buf({ ...GOOD, station: null }), 'MISSING_FIELD', 'station is missing'],
    ['station empty', buf({ ...GOOD, station: '' }), 'MISSING_FIELD', 'station is empty'],
    ['station a number', buf({ ...GOOD, station: 12 }), 'WRONG_TYPE', 'station must be a string, got number 12'],
    ['timestamp missing', buf({ ...GOOD, timestamp: undefined }), 'MISSING_FIELD', 'timestamp is missing'],
    [
      'timestamp as an ISO string',
      buf({ ...GOOD, timestamp: '2026-09-21T10:00:00Z' }),
      'WRONG_TYPE',
      'timestamp must be a number (epoch seconds), got the string "2026-09-21T10:00:00Z"',
    ],
    ['timestamp negative', buf({ ...GOOD, timestamp: -1 }), 'OUT_OF_RANGE', 'timestamp -1 epoch seconds outside 0..100000000000'],
    [
      'timestamp in milliseconds',
      buf({ ...GOOD, timestamp: 1_790_000_000_000 }),
      'OUT_OF_RANGE',
      'timestamp 1790000000000 epoch seconds outside 0..100000000000; it looks like milliseconds, send epoch seconds',
    ],
    ['temp as a numeric string (no coercion)', buf({ ...GOOD, temp: '12.5' }), 'WRONG_TYPE', 'temp must be a number (°C), got the string "12.5"'],
    ['temp null', buf({ ...GOOD, temp: null }), 'MISSING_FIELD', 'temp is missing'],
    ['temp boolean', buf({ ...GOOD, temp: true }), 'WRONG_TYPE', 'temp must be a number (°C), got boolean true'],
    ['temp 1e999 (Infinity)', buf('{"station":"WAW","timestamp":1,"temp":1e999,"snow":0,"rain":0,"pressure":1000}'), 'NOT_FINITE', 'temp is Infinity'],
    ['temp -1e999', buf('{"station":"WAW","timestamp":1,"temp":-1e999,"snow":0,"rain":0,"pressure":1000}'), 'NOT_FINITE', 'temp is -Infinity'],
    ['temp too cold', buf({ ...GOOD, temp: -90.5 }), 'OUT_OF_RANGE', 'temp -90.5 °C outside -90..70'],
    ['temp too hot (Kelvin?)', buf({ ...GOOD, temp: 273.15 }), 'OUT_OF_RANGE', 'temp 273.15 °C outside -90..70'],
    ['snow negative', buf({ ...GOOD, snow: -0.1 }), 'OUT_OF_RANGE', 'snow -0.1 mm/h outside >= 0'],
    ['snow missing', buf({ ...GOOD, snow: undefined }), 'MISSING_FIELD', 'snow is missing'],
    ['rain negative', buf({ ...GOOD, rain: -1 }), 'OUT_OF_RANGE', 'rain -1 mm/h outside >= 0'],
    ['rain an object', buf({ ...GOOD, rain: { mm: 1 } }), 'WRONG_TYPE', 'rain must be a number (mm/h), got an object'],
    ['pressure low', buf({ ...GOOD, pressure: 799 }), 'OUT_OF_RANGE', 'pressure 799 hPa outside 800..1100'],
    ['pressure in Pa', buf({ ...GOOD, pressure: 101325 }), 'OUT_OF_RANGE', 'pressure 101325 hPa outside 800..1100'],
    ['pressure missing', buf({ ...GOOD, pressure: undefined }), 'MISSING_FIELD', 'pressure is missing'],
    ['wind negative', buf({ ...GOOD, wind: -3 }), 'OUT_OF_RANGE', 'wind -3 m/s outside >= 0'],
    ['wind a string', buf({ ...GOOD, wind: '3' }), 'WRONG_TYPE', 'wind must be a number (m/s), got the string "3"'],
    ['visibility negative', buf({ ...GOOD, visibility: -10 }), 'OUT_OF_RANGE', 'visibility -10 m outside >= 0'],
    ['visibility an array', buf({ ...GOOD, visibility: [100] }), 'WRONG_TYPE', 'visibility must be a number (m), got an array'],
    [
      'a long string is cut in the detail',
      buf({ ...GOOD, temp: 'x'.repeat(100) }),
      'WRONG_TYPE',
      `temp must be a number (°C), got the string "${'x'.repeat(40)}…"`,
    ],
  ];
  for (const [name, value, reason, detail] of cases) {
    it(name, () => {
      expect(rejected(value)).toEqual({ reason, detail });
    });
  }

  it('not JSON: INVALID_JSON with the parser message', () => {
    const r = rejected(buf('{"station": "WAW",'));
    expect(r.reason).toBe('INVALID_JSON');
    expect(r.detail).toMatch(/^not JSON: /);
    expect(rejected(buf('temp=3')).reason).toBe(WeatherRejectReason.INVALID_JSON);
  });

  it('the first failing field in order station, timestamp, temp, … wins', () => {
    expect(rejected(buf({ timestamp: 'x', temp: 'y' })).detail).toBe('station is missing');
    expect(rejected(buf({ station: 'S', temp: 'y' })).detail).toBe('timestamp is missing');
    expect(rejected(buf({ ...GOOD, temp: 999, pressure: 5 })).detail).toBe('temp 999 °C outside -90..70');
    expect(rejected(buf({ ...GOOD, rain: -1, snow: -2 })).detail).toBe('snow -2 mm/h outside >= 0');
  });
});

describe('WeatherRejectReason and limits', () => {
  it('reasons are the five stable strings, frozen', () => {
    expect(Object.values(WeatherRejectReason)).toEqual(['INVALID_JSON', 'MISSING_FIELD', 'WRONG_TYPE', 'NOT_FINITE', 'OUT_OF_RANGE']);
    expect(Object.isFrozen(WeatherRejectReason)).toBe(true);
  });

  it('limits are the documented physical bounds, frozen', () => {
    expect(WEATHER_LIMITS).toEqual({ tempMin: -90, tempMax: 70, pressureMin: 800, pressureMax: 1100, timestampMax: 1e11 });
    expect(Object.isFrozen(WEATHER_LIMITS)).toBe(true);
  });
});
