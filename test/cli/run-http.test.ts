import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saferoads } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'saferoads-run-http-'));
const points = join(dir, 'points.csv');
writeFileSync(points, 'point_id,nearest_weather_station,road_shape,allowed_speed\nP1,WS1,curve,70\n');
// An unreachable broker: reaching "connect" would hang or fail with exit 1, not 2.
const env = { KAFKA_BROKERS: '127.0.0.1:1' };

describe('saferoads run --http', () => {
  it.each([
    [['--http', '9464'], {}, /^saferoads run: --http must be HOST:PORT \(e\.g\. 127\.0\.0\.1:9464, or 0\.0\.0\.0:9464 to expose it\) or off \(got "9464"\)$/],
    [[], { SAFEROADS_HTTP: 'nowhere' }, /^saferoads run: SAFEROADS_HTTP must be HOST:PORT/],
  ])('%j %j → exit 2 with one line', async (args, extraEnv, message) => {
    const result = await saferoads(['run', '--points', points, ...args], { ...env, ...extraEnv });
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
  });

  it('an address in use stops it before it connects: exit 2, one line naming --http', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await saferoads(['run', '--points', points, '--http', `127.0.0.1:${port}`], env);
      expect(result.code).toBe(2);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`^saferoads run: --http 127\\.0\\.0\\.1:${port}: the port is in use .*--http off`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('--help shows the flag and its loopback default', async () => {
    const result = await saferoads(['run', '--help'], env);
    expect(result.stdout).toMatch(/--http HOST:PORT\|off[\s\S]*default 127\.0\.0\.1:9464; env SAFEROADS_HTTP/);
  });
});
