/** Risk records made up for the dashboard's unit tests. */
import type { PublishedWindowStats, RiskRecord } from '../../src/join/types.js';

function stats(end: number, count: number, speed: number | null): PublishedWindowStats {
  return {
    start: end - 300,
    end,
    count,
    flow_vph: count * 12,
    mean_speed_kmh: speed,
    speed_std_kmh: null,
    v85_kmh: speed === null ? null : speed + 10,
    mean_gap_m: null,
    min_gap_m: null,
    mean_gap_s: null,
    min_gap_s: null,
    headway_lt_1s_share: null,
    headway_lt_2s_share: null,
    mean_length_m: null,
    long_vehicle_share: null,
    occupancy: speed === null ? null : 0.1,
    over_limit_share: null,
    lane_speed_spread_kmh: null,
    lanes: count > 0 ? 1 : 0,
    quality: { plausible: true, flags: [] },
  };
}

export function record(pointId: string, end: number, score: number, o: { weather?: boolean; speed?: number | null; reliable?: boolean } = {}): RiskRecord {
  const speed = o.speed === undefined ? 80 : o.speed;
  return {
    point_id: pointId,
    window_end: end,
    short: stats(end, 10, speed),
    long: stats(end, 50, speed),
    road: { station: 'S1', road_shape: 'straight', allowed_speed: 90 },
    weather:
      o.weather === false
        ? null
        : { station: 'S1', timestamp: end - 30, age_s: 30, temp: -2, snow: 1.5, rain: 0, pressure: 1010, wind: null, visibility: null },
    calendar: { weekday: 1, hour: 8, holiday: false },
    risk: { score, model: 'test', reliable: o.reliable ?? true, contributions: { speed: score / 2, snow: score / 4 } },
  };
}
