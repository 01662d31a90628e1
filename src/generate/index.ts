/** Seeded, seed-compatible traffic and weather generator (library; the CLI is src/cli/generate.ts). */
export { generateRoadPoints, roadPointsCsv, stationsOf, POINTS_PER_STATION, type GeneratedRoadPoint } from './points.js';
export {
  generateTraffic,
  lanesOf,
  currentMinuteS,
  LOOP_LENGTH_M,
  LOOP_SPACING_M,
  TRUCK_SHARE,
  type TrafficOptions,
  type TrafficPoint,
} from './traffic.js';
export { generateWeather, weatherJson, type WeatherOptions } from './weather.js';
export { mulberry32, deriveSeed, type Rng } from './prng.js';
