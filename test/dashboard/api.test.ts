/**
 * The dashboard's JSON API on the observability server, fed directly (no service): routes, status
 * codes, and /api/health read from the same metrics and probe as /metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Observability } from '../../src/observe/observability.js';
import { fakeProbe } from '../observe/fake-probe.js';
import { get, value } from '../observe/scrape.js';
import { record } from './records.js';

const opened: Observability[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

async function start(options: Parameters<typeof Observability.start>[1] = {}): Promise<{ obs: Observability; base: string }> {
  const obs = await Observability.start({ host: '127.0.0.1', port: 0 }, { defaultMetrics: false, ...options });
  opened.push(obs);
  return { obs, base: `http://127.0.0.1:${obs.address.port}` };
}

describe('dashboard API', () => {
  it('/api/now, /api/history, /api/heat; unknown point → 404 JSON; bad ends → 400', async () => {
    const { obs, base } = await start();
    const { probe } = fakeProbe();
    obs.bind({ ...probe, advanceS: 300 });
    for (let k = 1; k <= 4; k++) obs.record(record('P1', k * 300, k / 10));
    obs.record(record('P2', 4 * 300, 0.9));

    const now = await get(base, '/api/now');
    expect(now.status).toBe(200);
    expect(now.type).toBe('application/json');
    expect(JSON.parse(now.body).map((r: { point_id: string; window_end: number }) => [r.point_id, r.window_end])).toEqual([
      ['P2', 1200],
      ['P1', 1200],
    ]);

    const h = JSON.parse((await get(base, '/api/history?point=P1')).body);
    expect(h.window_end).toEqual([300, 600, 900, 1200]);
    expect(h.series.score).toEqual([0.1, 0.2, 0.3, 0.4]);

    const missing = await get(base, '/api/history?point=nope');
    expect(missing.status).toBe(404);
    expect(missing.type).toBe('application/json');
    expect(JSON.parse(missing.body)).toEqual({ error: 'unknown_point', message: expect.stringContaining('"nope"') });
    expect((await get(base, '/api/history')).status).toBe(400);

    const heat = JSON.parse((await get(base, '/api/heat?ends=2')).body);
    expect(heat).toEqual({ advance_s: 300, window_end: [900, 1200], points: ['P1', 'P2'], scores: [[0.3, 0.4], [null, 0.9]] });
    expect((await get(base, '/api/heat?ends=x')).status).toBe(400);
    expect((await get(base, '/api/heat?ends=0')).status).toBe(400);

    // The observability routes still answer; an unknown path names the dashboard's too.
    expect((await get(base, '/livez')).status).toBe(200);
    expect((await get(base, '/metrics')).status).toBe(200);
    const unknown = await get(base, '/api/else');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatch(/\/api\/now/);
  });

  it('/api/health tells what /metrics tells: events/s, dead letters by reason, watermark and consumer lag', async () => {
    const { obs, base } = await start({ dashboard: { rateSampleMs: 60_000 } });
    const { probe, state } = fakeProbe({ watermarkS: Date.now() / 1000 - 42, lag: new Map([[0, 5], [1, 7]]) });
    obs.bind(probe);
    obs.metrics.recordsIn('car', 0, 100);
    obs.metrics.recordsIn('weather', 0, 3);
    obs.metrics.deadLetters('car', 'INVALID_JSON', 2);
    const first = JSON.parse((await get(base, '/api/health')).body);
    expect(first.records_in).toBe(100);
    await new Promise((r) => setTimeout(r, 200));
    obs.metrics.recordsIn('car', 1, 50);
    const res = await get(base, '/api/health');
    expect(res.status).toBe(200);
    const health = JSON.parse(res.body);
    expect(health.records_in).toBe(150);
    // 50 events in about 0.2 s.
    expect(health.events_per_s).toBeGreaterThan(50);
    expect(health.events_per_s).toBeLessThan(50 / 0.15);
    expect(health.dead_letters.car.INVALID_JSON).toBe(2);
    expect(health.dead_letters.car.INVALID_JSON).toBe(value((await get(base, '/metrics')).body, 'saferoads_dead_letters_total', { topic: 'car', reason: 'INVALID_JSON' }));
    expect(Object.keys(health.dead_letters.weather).length).toBeGreaterThan(0);
    expect(health.watermark_lag_s).toBeGreaterThanOrEqual(42);
    expect(health.watermark_lag_s).toBeLessThan(45);
    expect(health.consumer_lag).toEqual({ 0: 5, 1: 7 });
    expect(health.consumer_lag_total).toBe(12);
    state.watermarkS = -Infinity;
    const before = JSON.parse((await get(base, '/api/health')).body);
    expect(before.watermark_s).toBeNull();
    expect(before.watermark_lag_s).toBeNull();
  });

  it('dashboard: false serves none of its routes', async () => {
    const { base } = await start({ dashboard: false });
    expect((await get(base, '/api/now')).status).toBe(404);
    expect((await get(base, '/metrics')).status).toBe(200);
  });

  it('serves the page, its assets, uPlot from node_modules and /api/words; nothing outside the list', async () => {
    const { base } = await start();
    const page = await get(base, '/');
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('/assets/app.js');
    expect(page.body).toContain('/vendor/uplot.iife.min.js');
    for (const [path, type] of [
      ['/assets/app.js', 'text/javascript'],
      ['/assets/style.css', 'text/css'],
      ['/vendor/uplot.iife.min.js', 'text/javascript'],
      ['/vendor/uPlot.min.css', 'text/css'],
    ]) {
      const res = await get(base, path);
      expect(res.status, path).toBe(200);
      expect(res.type, path).toContain(type);
      expect(res.body.length, path).toBeGreaterThan(100);
    }
    const words = JSON.parse((await get(base, '/api/words')).body);
    expect(words.levels).toEqual({ elevated: 0.3, high: 0.6 });
    // Bound to a service: the levels it reads its scores with (the model's, or --risk-levels).
    const { obs } = await start();
    obs.bind({ ...fakeProbe().probe, riskLevels: { elevated: 0.16, high: 0.448 } });
    const bound = `http://127.0.0.1:${obs.address.port}`;
    expect(JSON.parse((await get(bound, '/api/words')).body).levels).toEqual({ elevated: 0.16, high: 0.448 });
    expect(words.features.headway_lt_1s_share).toBe('tailgating (gaps < 1 s)');
    for (const path of ['/assets/../package.json', '/assets/index.html.bak', '/vendor/uPlot.esm.js', '/assets/']) expect((await get(base, path)).status, path).toBe(404);
  });
});
