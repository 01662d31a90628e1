import { ROW_LONG, ROW_POINT, ROW_SHORT, ROW_WINDOW_END, WINDOW_STAT_FIELDS, type WindowStatField, type WindowStats } from '../kernel/contract.js';
import type { WindowSpec } from '../kernel/window-spec.js';
import type { CalendarResolver } from '../join/calendar.js';
import type { PublishedWindowStats, RiskRecord, RoadPoint, WeatherReading, WindowQuality } from '../join/types.js';
import type { RiskModel } from '../model/risk-model.js';
import { riskFeatures } from '../model/features.js';
import type { RoadPointTable } from '../road/points.js';
import { windowQuality } from './plausibility.js';
import { OUT_ROW_F64, OUT_ROW_WEATHER, type ShardJoin } from './shard-protocol.js';

/** Kernel stat name → the published (snake_case) name: the output contract, spelled out. */
export const PUBLISHED_NAMES: Readonly<Record<WindowStatField, keyof PublishedWindowStats>> = Object.freeze({
  count: 'count',
  flowVph: 'flow_vph',
  meanSpeedKmh: 'mean_speed_kmh',
  speedStdKmh: 'speed_std_kmh',
  v85Kmh: 'v85_kmh',
  meanGapM: 'mean_gap_m',
  minGapM: 'min_gap_m',
  meanGapS: 'mean_gap_s',
  minGapS: 'min_gap_s',
  headwayLt1sShare: 'headway_lt_1s_share',
  headwayLt2sShare: 'headway_lt_2s_share',
  meanLengthM: 'mean_length_m',
  longVehicleShare: 'long_vehicle_share',
  occupancy: 'occupancy',
  overLimitShare: 'over_limit_share',
  laneSpeedSpreadKmh: 'lane_speed_spread_kmh',
  lanes: 'lanes',
});

function statsAt(rows: Float64Array, at: number): WindowStats {
  const s = {} as Record<string, number | null>;
  for (let k = 0; k < WINDOW_STAT_FIELDS.length; k++) {
    const v = rows[at + k];
    s[WINDOW_STAT_FIELDS[k]] = Number.isNaN(v) ? null : v;
  }
  return s as WindowStats;
}

function publish(stats: WindowStats, start: number, end: number, quality: WindowQuality): PublishedWindowStats {
  const out: Record<string, unknown> = { start, end };
  for (const f of WINDOW_STAT_FIELDS) out[PUBLISHED_NAMES[f]] = stats[f];
  out.quality = quality;
  return out as unknown as PublishedWindowStats;
}

function weatherAt(rows: Float64Array, at: number, station: string): WeatherReading | null {
  if (rows[at] !== 1) return null;
  const nullable = (v: number) => (Number.isNaN(v) ? null : v);
  return {
    station,
    timestamp: rows[at + 1],
    temp: rows[at + 2],
    snow: rows[at + 3],
    rain: rows[at + 4],
    pressure: rows[at + 5],
    wind: nullable(rows[at + 6]),
    visibility: nullable(rows[at + 7]),
  };
}

function roadOf(p: RoadPoint): RiskRecord['road'] {
  return { station: p.station, road_shape: p.roadShape, allowed_speed: p.allowedSpeedKmh, ...p.extra };
}

/**
 * The final join: a shard row (kernel stats + the weather the shard attached) with the road point,
 * the calendar of its window, and the risk model's score → the published record. Each window gets
 * its plausibility (`quality`, src/pipeline/plausibility.ts); a flag in either window makes
 * `risk.reliable` false. The score is kept rather than nulled: the record stays one shape for every
 * consumer, the contributions show what an implausible window did to it, and the features keep it
 * from saturating (occupancy is capped at 1).
 */
export class RiskRecordBuilder {
  constructor(
    private readonly spec: WindowSpec,
    private readonly points: Pick<RoadPointTable, 'byIndex'>,
    private readonly calendar: CalendarResolver,
    private readonly model: RiskModel,
  ) {}

  build(rows: Float64Array, row: number): RiskRecord {
    const at = row * OUT_ROW_F64;
    const point = this.points.byIndex(rows[at + ROW_POINT]);
    const end = rows[at + ROW_WINDOW_END];
    const short = statsAt(rows, at + ROW_SHORT);
    const long = statsAt(rows, at + ROW_LONG);
    const weather = weatherAt(rows, at + OUT_ROW_WEATHER, point.station);
    const calendar = this.calendar.at(end);
    const features = riskFeatures({ short, long, road: point, weather, calendar });
    const shortQuality = windowQuality(short);
    const longQuality = windowQuality(long);
    const { score, model, contributions } = this.model.score(features);
    return {
      point_id: point.pointId,
      window_end: end,
      short: publish(short, end - this.spec.shortS, end, shortQuality),
      long: publish(long, end - this.spec.longS, end, longQuality),
      road: roadOf(point),
      weather:
        weather === null
          ? null
          : {
              station: weather.station,
              timestamp: weather.timestamp,
              age_s: end - weather.timestamp,
              temp: weather.temp,
              snow: weather.snow,
              rain: weather.rain,
              pressure: weather.pressure,
              wind: weather.wind,
              visibility: weather.visibility,
            },
      calendar,
      risk: { score, reliable: shortQuality.plausible && longQuality.plausible, model, contributions },
    };
  }
}

/** What every shard needs to build the records itself (plain data: it crosses to the worker threads). */
export function shardJoin(points: RoadPointTable, model: RiskModel, calendar: CalendarResolver): ShardJoin {
  const { holidays } = calendar.options;
  return {
    points: [...points.points],
    model: { id: model.id, description: model.description, intercept: model.intercept, features: { ...model.coefficients } },
    calendar: { ...calendar.options, holidays: typeof holidays === 'string' ? holidays : [...holidays] },
  };
}
