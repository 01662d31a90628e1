/**
 * What a new user sees: `saferoads run --print` (built CLI, real broker) prints the legend, then one
 * readable line per record — local time with its zone, level, score, reasons, traffic, weather.
 */
import { describe, expect, it } from 'vitest';
import { brokers } from '../kafka/helpers.js';
import { createTopics, dataset, jsonRecords, produce, uniqueTopics, weatherRecords } from '../service/scenario.js';
import { saferoads } from './helpers.js';

describe('saferoads run --print', () => {
  it('prints the legend, then one line per point and window end in the --time-zone', async () => {
    const d = dataset(3, 12, 5);
    const t = uniqueTopics();
    await createTopics(t);
    await produce(t.weather, weatherRecords(d.weather));
    await produce(t.car, jsonRecords(d, d.events));
    const result = await saferoads([
      'run', '--points', d.pointsPath, '--brokers', brokers().join(','), '--http', 'off', '--until-end', '--print', '--shards', '1',
      '--group-id', t.group, '--car-topic', t.car, '--weather-topic', t.weather, '--output-topic', t.output,
      '--car-dlq-topic', t.carDlq, '--weather-dlq-topic', t.weatherDlq, '--time-zone', 'Asia/Tokyo', '--risk-levels', '0.2,0.5',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const [first, ...lines] = result.stdout.trimEnd().split('\n');
    expect(first).toMatch(/^risk: LOW < 0\.2 <= ELEVATED < 0\.5 <= HIGH; .*not a crash probability/);
    // Every window end (12 minutes of traffic, the last ones closed by --until-end) for 3 points.
    expect(lines.length).toBeGreaterThanOrEqual(3 * 10);
    expect(lines.length % 3).toBe(0);
    for (const line of lines) {
      expect(line).toMatch(/^\d\d:\d\d (JST|GMT\+9) +P\d{4} +(LOW|ELEVATED|HIGH) +0\.\d\d  .+ · +\d+ veh\/min +(\d+|-) km\/h +(-?\d+\.\d °C( snow| rain)?|no weather)$/);
    }
    // Local time: the window end in Tokyo (UTC+9) is the printed hour.
    const ends = new Set(lines.map((l) => l.slice(0, 5)));
    expect(ends.size).toBe(lines.length / 3);
    const firstEndUtcHour = new Date((Math.floor((d.events[0].timestamp_out_2 - 30) / 60) * 60 + 60) * 1000).getUTCHours();
    expect(Number(lines[0].slice(0, 2))).toBe((firstEndUtcHour + 9) % 24);
  }, 120_000);
});
