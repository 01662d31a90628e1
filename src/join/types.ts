/**
 * The public output contract of saferoads: one `RiskRecord` per road point and window end on the
 * topic `road-risk` (key = point_id), JSON with exactly these snake_case names. README documents it.
 */

import type { PlausibilityFlag } from '../pipeline/plausibility.js';

/** Window statistics as published (null where undefined, e.g. means of an empty window). */
export interface PublishedWindowStats {
  start: number;
  end: number;
  count: number;
  flow_vph: number;
  mean_speed_kmh: number | null;
  speed_std_kmh: number | null;
  v85_kmh: number | null;
  mean_gap_m: number | null;
  min_gap_m: number | null;
  mean_gap_s: number | null;
  min_gap_s: number | null;
  headway_lt_1s_share: number | null;
  headway_lt_2s_share: number | null;
  mean_length_m: number | null;
  long_vehicle_share: number | null;
  occupancy: number | null;
  over_limit_share: number | null;
  lane_speed_spread_kmh: number | null;
  /** Distinct lanes with at least one vehicle in the window (0 when count is 0). */
  lanes: number;
  /** Whether the statistics are physically possible (src/pipeline/plausibility.ts). */
  quality: WindowQuality;
}

/** Plausibility of a window: `plausible` is false exactly when `flags` is not empty. */
export interface WindowQuality {
  plausible: boolean;
  /** Each check the window fails, e.g. OCCUPANCY_OVER_1, FLOW_OVER_CAPACITY. */
  flags: readonly PlausibilityFlag[];
}

/** A row of the road-points table (CSV `point_id,nearest_weather_station,road_shape,allowed_speed,…`). */
export interface RoadPoint {
  /** Dense index 0..n-1 in table order: the kernel's point index. */
  index: number;
  pointId: string;
  station: string;
  roadShape: string;
  /** km/h; null when the table gives none (empty cell). */
  allowedSpeedKmh: number | null;
  /** Extra CSV columns, passed through to the output as strings. */
  extra: Readonly<Record<string, string>>;
}

/** A weather reading (topic `weather`, key = station). Times are epoch seconds. */
export interface WeatherReading {
  station: string;
  timestamp: number;
  temp: number;
  snow: number;
  rain: number;
  pressure: number;
  wind: number | null;
  visibility: number | null;
}

export interface PublishedWeather {
  station: string;
  timestamp: number;
  /** Seconds between the reading and the window end. */
  age_s: number;
  temp: number;
  snow: number;
  rain: number;
  pressure: number;
  wind: number | null;
  visibility: number | null;
}

export interface Calendar {
  /** ISO weekday 1 = Monday … 7 = Sunday, in the configured time zone. */
  weekday: number;
  /** Hour 0..23 of the window's start in the configured time zone. */
  hour: number;
  holiday: boolean;
}

export interface RiskScore {
  /** Probability-like score in (0, 1). */
  score: number;
  /** Id of the model that scored it. */
  model: string;
  /** coefficient × feature value for each feature of the model (log-odds contributions). */
  contributions: Record<string, number>;
}

export interface RiskRecord {
  point_id: string;
  window_end: number;
  short: PublishedWindowStats;
  long: PublishedWindowStats;
  road: { station: string; road_shape: string; allowed_speed: number | null; [extra: string]: string | number | null };
  weather: PublishedWeather | null;
  calendar: Calendar;
  risk: PublishedRisk;
}

/** The score as published: the model's score plus whether the windows behind it are plausible. */
export interface PublishedRisk extends RiskScore {
  /**
   * false when the short or the long window carries a quality flag: the score was computed from
   * statistics no real traffic produces (occupancy capped at 1 in the features), so it is not to be
   * acted on as a risk — the point's loop or producer needs a look.
   */
  reliable: boolean;
  /**
   * The shadow model's score of the same features (`--shadow-model`, or key `shadow` of the models
   * topic): compared with the active model, never acted on. Absent when no shadow model runs.
   */
  shadow?: ShadowScore;
}

/** A second model's score of a row, published beside the active one for comparison. */
export interface ShadowScore {
  model: string;
  score: number;
}
