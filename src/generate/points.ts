/**
 * Road points for generated data: ids, nearest weather station, road shape, allowed speed, lanes.
 */
import type { RoadPoint } from '../join/types.js';
import { deriveSeed, mulberry32 } from './prng.js';

export interface GeneratedRoadPoint extends RoadPoint {
  /** Lanes of the measuring point, 1..3 (generator-only: not a CSV column). */
  lanes: number;
}

/** Points per weather station: neighbouring points share the nearest station. */
export const POINTS_PER_STATION = 5;

const SHAPES: ReadonlyArray<{ shape: string; weight: number; speeds: readonly number[] }> = [
  { shape: 'straight', weight: 0.5, speeds: [80, 100, 120] },
  { shape: 'curve', weight: 0.25, speeds: [60, 70, 80] },
  { shape: 'junction', weight: 0.15, speeds: [50, 60, 70] },
  { shape: 'bridge', weight: 0.1, speeds: [80, 100] },
];

function pad(i: number, width: number): string {
  return String(i).padStart(width, '0');
}

/** `n` road points `P0001…`, stations `WS001…` (one per POINTS_PER_STATION consecutive points). */
export function generateRoadPoints(n: number, seed: number): GeneratedRoadPoint[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`generateRoadPoints: n must be a positive integer (got ${n})`);
  const rng = mulberry32(deriveSeed(seed, 0x706f696e));
  const width = Math.max(4, String(n).length);
  const stations = Math.ceil(n / POINTS_PER_STATION);
  const stationWidth = Math.max(3, String(stations).length);
  const points: GeneratedRoadPoint[] = [];
  for (let i = 0; i < n; i++) {
    let u = rng();
    let pick = SHAPES[SHAPES.length - 1]!;
    for (const s of SHAPES) {
      if (u < s.weight) {
        pick = s;
        break;
      }
      u -= s.weight;
    }
    const speed = pick.speeds[Math.floor(rng() * pick.speeds.length)]!;
    const lanes = 1 + Math.floor(rng() * 3);
    points.push({
      index: i,
      pointId: `P${pad(i + 1, width)}`,
      station: `WS${pad(Math.floor(i / POINTS_PER_STATION) + 1, stationWidth)}`,
      roadShape: pick.shape,
      allowedSpeedKmh: speed,
      extra: {},
      lanes,
    });
  }
  return points;
}

/** The distinct stations of `points`, in first-seen order. */
export function stationsOf(points: readonly Pick<RoadPoint, 'station'>[]): string[] {
  return [...new Set(points.map((p) => p.station))];
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The road-points table as CSV (`point_id,nearest_weather_station,road_shape,allowed_speed`, then extra columns). */
export function roadPointsCsv(points: readonly RoadPoint[]): string {
  const extraNames = [...new Set(points.flatMap((p) => Object.keys(p.extra)))];
  const header = ['point_id', 'nearest_weather_station', 'road_shape', 'allowed_speed', ...extraNames];
  const lines = [header.map(csvField).join(',')];
  for (const p of points) {
    lines.push(
      [p.pointId, p.station, p.roadShape, p.allowedSpeedKmh === null ? '' : String(p.allowedSpeedKmh), ...extraNames.map((n) => p.extra[n] ?? '')]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
