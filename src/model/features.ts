import { parseRoadShape, ROAD_SHAPE_CURVATURE } from '../road/shape.js';
import type { Calendar, RoadPoint, WeatherReading } from '../join/types.js';
import { WINDOW_STAT_FIELDS, type WindowStatField, type WindowStats } from '../kernel/contract.js';

/**
 * The risk model's inputs: named, documented features computed from one row (short + long window
 * stats of a point), the road, the joined weather reading and the local calendar.
 *
 * Every feature is oriented so that larger means riskier, and is 0 in the "nothing known" case:
 * an empty window (no vehicles), a point without an allowed speed, no weather reading. A missing
 * value must not look like risk — the output still says explicitly that it is missing (count 0,
 * null stats, weather null), and the model's contributions show that the feature added nothing.
 *
 * Sources for the choice of features (direction of effect):
 * - speed dispersion: Garber & Gadiraju (1989), Lee, Saccomanno & Hellinga (2002) — crash risk rises
 *   with the variation of speeds more than with their mean.
 * - speed over the limit: Nilsson's power model (2004), Elvik (2009) — crashes grow with a power of
 *   the mean speed; V85 above the posted limit is the usual operating-speed indicator.
 * - short headways: time headways under 1–2 s leave no reaction time (rear-end crashes); the 2 s
 *   rule of driver training.
 * - sudden slowdown / turbulence: Lee et al. (2003), Abdel-Aty et al. (2004) — a drop of the recent
 *   mean speed against the longer-term mean precedes rear-end crashes (shockwaves).
 * - occupancy: Golob & Recker (2004) — dense traffic raises conflict rates.
 * - precipitation, freezing precipitation, low visibility: Andrey & Yagar (1993), Qiu & Nixon (2008)
 *   meta-analysis — rain and snow raise crash rates, snow/ice and fog most.
 * - curvature: Elvik (2013) — crash rates on sharp curves are several times those on tangents.
 * - night, holiday: darkness raises crash rates per vehicle-km; holiday travel changes the driver mix.
 */

export interface RiskFeatureInput {
  short: WindowStats;
  long: WindowStats;
  road: RoadPoint;
  weather: WeatherReading | null;
  calendar: Calendar;
}

/** Precipitation above 0 at or below this air temperature may freeze on the road, °C. */
export const FREEZING_TEMP_C = 0;
/** Visibility below this is "low" (fog), metres: the usual threshold of fog warnings and VSL systems. */
export const LOW_VISIBILITY_M = 200;
/** Night: local hour < NIGHT_END_HOUR or >= NIGHT_START_HOUR. */
export const NIGHT_START_HOUR = 22;
export const NIGHT_END_HOUR = 6;

/** Every feature riskFeatures computes, with its unit and meaning (the model may use any subset). */
export const RISK_FEATURES = Object.freeze({
  speed_std: 'long-window speed standard deviation, km/h',
  v85_over_limit: 'max(0, long-window V85 − allowed speed), km/h; 0 without an allowed speed',
  headway_lt_1s_share: 'short-window share of time headways < 1 s, 0..1',
  headway_lt_2s_share: 'short-window share of time headways < 2 s, 0..1',
  sudden_slowdown: 'max(0, long-window mean speed − short-window mean speed), km/h',
  occupancy: 'short-window loop occupancy, 0..1 (a value above 1, a faulty loop, counts as 1)',
  precipitation: 'rain + snow, mm/h',
  freezing_precipitation: '1 if temp <= 0 °C and rain + snow > 0, else 0',
  low_visibility: `1 if visibility < ${LOW_VISIBILITY_M} m, else 0`,
  curvature: 'road_shape curvature index: straight 0, curve 1, sharp_curve 2, or the number given; empty 0',
  night: `1 if the local hour is < ${NIGHT_END_HOUR} or >= ${NIGHT_START_HOUR}, else 0`,
  holiday: '1 on a public holiday (local date), else 0',
} as const);
export type RiskFeatureName = keyof typeof RISK_FEATURES;
export const RISK_FEATURE_NAMES = Object.freeze(Object.keys(RISK_FEATURES) as RiskFeatureName[]);

/**
 * Curvature index of a road shape (road/shape.ts: straight 0, curve 1, sharp_curve 2, or a number
 * on that scale). The table is checked at start, so a shape it refused never gets here; 0 for safety.
 */
export function curvatureOf(roadShape: string): number {
  return parseRoadShape(roadShape) ?? 0;
}

export { ROAD_SHAPE_CURVATURE };

/** The features of one row. Every value is a finite number. */
export function riskFeatures(input: RiskFeatureInput): Record<RiskFeatureName, number> {
  const { short, long, road, weather, calendar } = input;
  const w = weather;
  // No weather reading (station never reported): no precipitation, fog or frost is known → 0.
  const precipitation = w === null ? 0 : w.rain + w.snow;
  return {
    // Null when the long window is empty: no vehicles, no dispersion measured → 0.
    speed_std: long.speedStdKmh ?? 0,
    // Needs both a V85 (vehicles in the long window) and a limit; either missing → 0.
    v85_over_limit:
      long.v85Kmh === null || road.allowedSpeedKmh === null ? 0 : Math.max(0, long.v85Kmh - road.allowedSpeedKmh),
    // Null when the short window is empty: no vehicles, no short headways → 0.
    headway_lt_1s_share: short.headwayLt1sShare ?? 0,
    headway_lt_2s_share: short.headwayLt2sShare ?? 0,
    // "10-min mean minus 1-min mean": only a drop counts. An empty short window is no slowdown —
    // a road without traffic is not a jam — so either mean missing → 0.
    sudden_slowdown:
      long.meanSpeedKmh === null || short.meanSpeedKmh === null ? 0 : Math.max(0, long.meanSpeedKmh - short.meanSpeedKmh),
    // Null for an empty short window: nothing occupied the loop → 0. Above 1 is physically impossible
    // (a faulty loop, flagged OCCUPANCY_OVER_1 in the output): capped at 1 so it cannot saturate the score.
    occupancy: Math.min(short.occupancy ?? 0, 1),
    precipitation,
    freezing_precipitation: w !== null && w.temp <= FREEZING_TEMP_C && precipitation > 0 ? 1 : 0,
    // Visibility is optional in the feed; not measured is not fog → 0.
    low_visibility: w !== null && w.visibility !== null && w.visibility < LOW_VISIBILITY_M ? 1 : 0,
    curvature: curvatureOf(road.roadShape),
    night: calendar.hour < NIGHT_END_HOUR || calendar.hour >= NIGHT_START_HOUR ? 1 : 0,
    holiday: calendar.holiday ? 1 : 0,
  };
}

/** Position of each feature in RISK_FEATURE_NAMES: the layout riskFeaturesInto writes. */
export const RISK_FEATURE_INDEX: Readonly<Record<RiskFeatureName, number>> = Object.freeze(
  Object.fromEntries(RISK_FEATURE_NAMES.map((name, i) => [name, i])) as Record<RiskFeatureName, number>,
);

const SPEED_STD = RISK_FEATURE_INDEX.speed_std;
const V85_OVER_LIMIT = RISK_FEATURE_INDEX.v85_over_limit;
const HEADWAY_LT_1S = RISK_FEATURE_INDEX.headway_lt_1s_share;
const HEADWAY_LT_2S = RISK_FEATURE_INDEX.headway_lt_2s_share;
const SUDDEN_SLOWDOWN = RISK_FEATURE_INDEX.sudden_slowdown;
const OCCUPANCY = RISK_FEATURE_INDEX.occupancy;
const PRECIPITATION = RISK_FEATURE_INDEX.precipitation;
const FREEZING_PRECIPITATION = RISK_FEATURE_INDEX.freezing_precipitation;
const LOW_VISIBILITY = RISK_FEATURE_INDEX.low_visibility;
const CURVATURE = RISK_FEATURE_INDEX.curvature;
const NIGHT = RISK_FEATURE_INDEX.night;
const HOLIDAY = RISK_FEATURE_INDEX.holiday;

const STAT = (f: WindowStatField) => WINDOW_STAT_FIELDS.indexOf(f);
const S_SPEED_STD = STAT('speedStdKmh');
const S_V85 = STAT('v85Kmh');
const S_MEAN_SPEED = STAT('meanSpeedKmh');
const S_HEADWAY_LT_1S = STAT('headwayLt1sShare');
const S_HEADWAY_LT_2S = STAT('headwayLt2sShare');
const S_OCCUPANCY = STAT('occupancy');

/** NaN (the kernel's "null") → 0, like `?? 0` on the decoded stats. */
function orZero(v: number): number {
  return Number.isNaN(v) ? 0 : v;
}

/**
 * riskFeatures without objects, for the hot path (src/pipeline/output.ts): the same values, bit for
 * bit, written into `out` in RISK_FEATURE_NAMES order (RISK_FEATURE_INDEX). The windows are read
 * straight from a kernel row: `rows[shortAt + k]` / `rows[longAt + k]` is stat WINDOW_STAT_FIELDS[k],
 * NaN where the decoded stats have null. `allowedSpeedKmh` NaN: the point has none (null);
 * `curvature` is curvatureOf(road.roadShape). The weather values are those of the reading when
 * `hasWeather` (visibility NaN: not measured) and ignored otherwise.
 */
export function riskFeaturesInto(
  out: Float64Array,
  rows: Float64Array,
  shortAt: number,
  longAt: number,
  allowedSpeedKmh: number,
  curvature: number,
  hasWeather: boolean,
  temp: number,
  snow: number,
  rain: number,
  visibility: number,
  hour: number,
  holiday: boolean,
): void {
  const longV85 = rows[longAt + S_V85];
  const longMean = rows[longAt + S_MEAN_SPEED];
  const shortMean = rows[shortAt + S_MEAN_SPEED];
  const precipitation = hasWeather ? rain + snow : 0;
  out[SPEED_STD] = orZero(rows[longAt + S_SPEED_STD]);
  out[V85_OVER_LIMIT] = Number.isNaN(longV85) || Number.isNaN(allowedSpeedKmh) ? 0 : Math.max(0, longV85 - allowedSpeedKmh);
  out[HEADWAY_LT_1S] = orZero(rows[shortAt + S_HEADWAY_LT_1S]);
  out[HEADWAY_LT_2S] = orZero(rows[shortAt + S_HEADWAY_LT_2S]);
  out[SUDDEN_SLOWDOWN] = Number.isNaN(longMean) || Number.isNaN(shortMean) ? 0 : Math.max(0, longMean - shortMean);
  out[OCCUPANCY] = Math.min(orZero(rows[shortAt + S_OCCUPANCY]), 1);
  out[PRECIPITATION] = precipitation;
  out[FREEZING_PRECIPITATION] = hasWeather && temp <= FREEZING_TEMP_C && precipitation > 0 ? 1 : 0;
  out[LOW_VISIBILITY] = hasWeather && !Number.isNaN(visibility) && visibility < LOW_VISIBILITY_M ? 1 : 0;
  out[CURVATURE] = curvature;
  out[NIGHT] = hour < NIGHT_END_HOUR || hour >= NIGHT_START_HOUR ? 1 : 0;
  out[HOLIDAY] = holiday ? 1 : 0;
}
