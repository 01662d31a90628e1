import { describe, expect, it } from 'vitest';
import { POINTS_PER_STATION, generateRoadPoints, roadPointsCsv, stationsOf } from '../../src/generate/points.js';

describe('generateRoadPoints', () => {
  const points = generateRoadPoints(23, 5);

  it('makes n points with dense indexes, unique ids and stations shared by neighbours', () => {
    expect(points).toHaveLength(23);
    expect(points.map((p) => p.index)).toEqual([...Array(23).keys()]);
    expect(new Set(points.map((p) => p.pointId)).size).toBe(23);
    expect(points[0]!.pointId).toBe('P0001');
    expect(stationsOf(points)).toHaveLength(Math.ceil(23 / POINTS_PER_STATION));
    expect(points[0]!.station).toBe(points[POINTS_PER_STATION - 1]!.station);
    expect(points[0]!.station).not.toBe(points[POINTS_PER_STATION]!.station);
  });

  it('gives plausible shapes, allowed speeds and 1–3 lanes', () => {
    for (const p of points) {
      expect(['straight', 'curve', 'junction', 'bridge']).toContain(p.roadShape);
      expect([50, 60, 70, 80, 100, 120]).toContain(p.allowedSpeedKmh);
      expect(p.lanes).toBeGreaterThanOrEqual(1);
      expect(p.lanes).toBeLessThanOrEqual(3);
    }
    expect(new Set(points.map((p) => p.lanes)).size).toBeGreaterThan(1);
  });

  it('is deterministic per seed', () => {
    expect(generateRoadPoints(23, 5)).toEqual(points);
    expect(generateRoadPoints(23, 6)).not.toEqual(points);
  });

  it('refuses n < 1', () => {
    expect(() => generateRoadPoints(0, 1)).toThrow(RangeError);
  });
});

describe('roadPointsCsv', () => {
  it('writes the seed header and one row per point', () => {
    const points = generateRoadPoints(3, 1);
    const lines = roadPointsCsv(points).trimEnd().split('\n');
    expect(lines[0]).toBe('point_id,nearest_weather_station,road_shape,allowed_speed');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(`P0001,${points[0]!.station},${points[0]!.roadShape},${points[0]!.allowedSpeedKmh}`);
  });

  it('leaves a missing allowed speed empty, quotes fields with commas and appends extra columns', () => {
    const csv = roadPointsCsv([
      { index: 0, pointId: 'a,b', station: 'S"1', roadShape: 'curve', allowedSpeedKmh: null, extra: { county: 'X' } },
    ]);
    expect(csv).toBe('point_id,nearest_weather_station,road_shape,allowed_speed,county\n"a,b","S""1",curve,,X\n');
  });
});
