import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saferoads } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'saferoads-run-'));
const points = join(dir, 'points.csv');
writeFileSync(points, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,70\n');
const badPoints = join(dir, 'bad.csv');
writeFileSync(badPoints, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,fast\n');
const badModel = join(dir, 'model.json');
writeFileSync(badModel, JSON.stringify({ id: 'm', intercept: 0, features: { no_such_feature: 1 } }));

describe('saferoads run: bad configuration stops it before it connects', () => {
  // An unreachable broker: reaching "connect" would hang or fail with exit 1, not 2.
  const env = { KAFKA_BROKERS: '127.0.0.1:1' };

  it.each([
    [['--points', points, '--shards', 'x'], /^saferoads run: --shards must be/],
    [['--shards', '2'], /^saferoads run: --points is required/],
    [['--points', join(dir, 'missing.csv')], /^saferoads run: --points .*missing\.csv/],
    [['--points', badPoints], /^saferoads run: --points .*allowed_speed/],
    [['--points', points, '--model', badModel], /^saferoads run: --model .*no_such_feature/],
    [['--points', points, '--grace', '900'], /^saferoads run: --grace must be less than --long-window/],
    [['--points', points, '--long-window', '90'], /^saferoads run: --long-window must be a whole multiple of --advance/],
    [['--points', points, '--time-zone', 'Mars/Olympus'], /^saferoads run: --time-zone /],
    [['--points', points, '--risk-levels', '0.6,0.3'], /^saferoads run: --risk-levels must be two scores ELEVATED,HIGH/],
    [['--points', points, '--car-topic', 'bad topic'], /^saferoads run: --car-topic must be/],
    [['--points', points, '--brokers', 'nohostport'], /^saferoads run: --brokers must be host:port/],
    [['--points', points, '--no-such-flag'], /^saferoads run: --no-such-flag is not an option/],
    [['--points', points, '--partitioner', 'random'], /^saferoads run: --partitioner /],
    [['--points', points, '--shadow-model', join(dir, 'missing.json')], /^saferoads run: --shadow-model cannot read .*missing\.json/],
    [['--points', points, '--shadow-model', badModel], /^saferoads run: --shadow-model .*no_such_feature/],
    [['--points', points, '--shadow-model', ''], /^saferoads run: --shadow-model must not be empty/],
    [['--points', points, '--models-topic', 'bad topic'], /^saferoads run: --models-topic must be 1-245 characters/],
    [['--points', points, '--models-topic', 'car'], /^saferoads run: --output-topic and the other topics must all differ/],
  ])('%j → exit 2 with one line naming the option', async (args, message) => {
    const result = await saferoads(['run', ...args], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('--help lists the options and exits 0', async () => {
    const result = await saferoads(['run', '--help'], env);
    expect(result.code).toBe(0);
    for (const flag of ['--brokers', '--points', '--shards', '--group-id', '--grace', '--car-dlq-topic', '--shadow-model', '--models-topic']) expect(result.stdout).toContain(flag);
    expect(result.stdout).toContain('default saferoads.models');
  });
});
