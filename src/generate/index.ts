/** Seeded, seed-compatible traffic and weather generator (library; the CLI is src/cli/generate.ts). */
export { generateRoadPoints, roadPointsCsv, stationsOf, POINTS_PER_STATION, type GeneratedRoadPoint } from './points.js';
export {
  generateTraffic,
  weatherEffect,
  DEFAULT_SPEED_KMH,
  LOOP_LENGTH_M,
  LOOP_SPACING_M,
  MIN_GAP_S,
  type TrafficOptions,
} from './traffic.js';
export { lanesOf, rateLimits, LANE_CAPACITY_VPH, TYPICAL_PEAK_VPH, TRUCK_SHARE_RANGE, type TrafficPoint } from './lanes.js';
export { DailyProfile, DEFAULT_TIME_ZONE, WEEKDAY_MEAN_DEMAND, demandAt } from './daily-profile.js';
export { Incidents, DEFAULT_INCIDENTS_PER_POINT_DAY, type QueueEpisode } from './incidents.js';
export { generateWeather, weatherJson, WeatherModel, type Precipitation, type WeatherOptions } from './weather.js';
export { currentMinuteS } from './time.js';
export { mulberry32, deriveSeed, type Rng } from './prng.js';
