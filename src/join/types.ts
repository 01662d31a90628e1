/**
 * The public output contract of saferoads: one `RiskRecord` per road point and window end on the
 * topic `road-risk` (key = point_id), JSON with exactly these snake_case names. README documents it.
 */

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
  risk: RiskScore;
}
