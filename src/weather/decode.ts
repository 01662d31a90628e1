import type { WeatherReading } from '../join/types.js';

/**
 * Decoding of one record of the topic `weather` (key = station): JSON
 * `{station, timestamp, temp, snow, rain, pressure, wind?, visibility?}`.
 *
 * Strict on purpose: a number sent as a string ("12.5"), a boolean or a null where a number is
 * required is refused, never coerced. A silently coerced "" becomes 0 °C and 0 mm/h, which looks like
 * a perfectly plausible reading and would feed the risk score a made-up value. A refused reading
 * costs nothing: the join keeps using the station's previous one (and publishes its age).
 *
 * Checks run field by field in the order station, timestamp, temp, snow, rain, pressure, wind,
 * visibility; for each field: missing → wrong type → not finite → out of range. The first failure is
 * the reason. Unknown extra fields are ignored (producers may add fields without breaking us).
 */

/** Why a weather record was refused. Stable strings: they travel in dead-letter headers and metrics. */
export const WeatherRejectReason = Object.freeze({
  /** The value is not JSON (or there is no value at all: a null/empty record, e.g. a tombstone). */
  INVALID_JSON: 'INVALID_JSON',
  /** A required field is absent, null, or (station) empty. */
  MISSING_FIELD: 'MISSING_FIELD',
  /** The value is not a JSON object, or a field has the wrong JSON type (e.g. a number as a string). */
  WRONG_TYPE: 'WRONG_TYPE',
  /** A number is ±Infinity (JSON has no NaN, but `1e999` parses to Infinity). */
  NOT_FINITE: 'NOT_FINITE',
  /** A number outside its physical range (see WEATHER_LIMITS). */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
} as const);
export type WeatherRejectReason = (typeof WeatherRejectReason)[keyof typeof WeatherRejectReason];

/**
 * Plausible ranges, inclusive. Temperatures: the coldest and hottest air temperatures ever measured
 * are about −89 °C and +57 °C. Sea-level pressure records are about 870 and 1084 hPa; 800 leaves room
 * for stations at altitude reporting station pressure. Timestamps are epoch seconds; anything above
 * `timestampMax` (year 5138) is almost surely milliseconds, so it is refused with that hint rather
 * than read as a reading from the far future.
 */
export const WEATHER_LIMITS = Object.freeze({
  tempMin: -90,
  tempMax: 70,
  pressureMin: 800,
  pressureMax: 1100,
  timestampMax: 1e11,
});

export type WeatherDecodeResult =
  | { ok: true; reading: WeatherReading }
  | { ok: false; reason: WeatherRejectReason; detail: string };

type Reject = { ok: false; reason: WeatherRejectReason; detail: string };

const reject = (reason: WeatherRejectReason, detail: string): Reject => ({ ok: false, reason, detail });

/** Decodes a `weather` record value. Never throws. */
export function decodeWeather(value: Buffer | null): WeatherDecodeResult {
  if (value === null || value.length === 0) {
    return reject(WeatherRejectReason.INVALID_JSON, 'the record has no value (null or empty)');
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (e) {
    return reject(WeatherRejectReason.INVALID_JSON, `not JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return reject(
      WeatherRejectReason.WRONG_TYPE,
      `the value must be a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`,
    );
  }
  const o = json as Record<string, unknown>;

  const station = o.station;
  if (station === undefined || station === null) return reject(WeatherRejectReason.MISSING_FIELD, 'station is missing');
  if (typeof station !== 'string') {
    return reject(WeatherRejectReason.WRONG_TYPE, `station must be a string, got ${describe(station)}`);
  }
  if (station === '') return reject(WeatherRejectReason.MISSING_FIELD, 'station is empty');

  const L = WEATHER_LIMITS;
  const timestamp = number(o, 'timestamp', true, 0, L.timestampMax, 'epoch seconds');
  if (typeof timestamp !== 'number') {
    if (timestamp.reason === WeatherRejectReason.OUT_OF_RANGE && (o.timestamp as number) > L.timestampMax) {
      return reject(timestamp.reason, `${timestamp.detail}; it looks like milliseconds, send epoch seconds`);
    }
    return timestamp;
  }
  const temp = number(o, 'temp', true, L.tempMin, L.tempMax, '°C');
  if (typeof temp !== 'number') return temp;
  const snow = number(o, 'snow', true, 0, Infinity, 'mm/h');
  if (typeof snow !== 'number') return snow;
  const rain = number(o, 'rain', true, 0, Infinity, 'mm/h');
  if (typeof rain !== 'number') return rain;
  const pressure = number(o, 'pressure', true, L.pressureMin, L.pressureMax, 'hPa');
  if (typeof pressure !== 'number') return pressure;
  const wind = number(o, 'wind', false, 0, Infinity, 'm/s');
  if (wind !== null && typeof wind !== 'number') return wind;
  const visibility = number(o, 'visibility', false, 0, Infinity, 'm');
  if (visibility !== null && typeof visibility !== 'number') return visibility;

  return { ok: true, reading: { station, timestamp, temp, snow, rain, pressure, wind, visibility } };
}

/**
 * One numeric field. Required: absent/null → MISSING_FIELD. Optional: absent/null → null (the
 * sensor is not fitted), but a present value must still be a finite number in range.
 */
function number(o: Record<string, unknown>, name: string, required: true, min: number, max: number, unit: string): number | Reject;
function number(o: Record<string, unknown>, name: string, required: false, min: number, max: number, unit: string): number | null | Reject;
function number(
  o: Record<string, unknown>,
  name: string,
  required: boolean,
  min: number,
  max: number,
  unit: string,
): number | null | Reject {
  const v = o[name];
  if (v === undefined || v === null) {
    return required ? reject(WeatherRejectReason.MISSING_FIELD, `${name} is missing`) : null;
  }
  if (typeof v !== 'number') {
    return reject(WeatherRejectReason.WRONG_TYPE, `${name} must be a number (${unit}), got ${describe(v)}`);
  }
  if (!Number.isFinite(v)) return reject(WeatherRejectReason.NOT_FINITE, `${name} is ${v}`);
  if (v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `${min}..${max}`;
    return reject(WeatherRejectReason.OUT_OF_RANGE, `${name} ${v} ${unit} outside ${range}`);
  }
  return v;
}

/** A short, bounded description of an offending JSON value for the reject detail. */
function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
