/**
 * The dashboard of a running service (real broker): records stream live over /events, and the
 * JSON API answers from the history the service's published records fed.
 */
import { describe, expect, it } from 'vitest';
import type { RiskRecord } from '../../src/join/types.js';
import { Observability } from '../../src/observe/observability.js';
import type { SaferoadsService } from '../../src/service/service.js';
import { createTopics, dataset, expectedLastEnd, jsonRecords, produce, startService, uniqueTopics, waitFor, weatherRecords } from '../service/scenario.js';
import { get } from '../observe/scrape.js';
import { openEvents, until } from './sse.js';

const data = dataset(4, 12, 23);

describe('dashboard of a running service (real broker)', () => {
  it('streams published records live on /events; /api/now, /api/history and /api/heat answer from them', async () => {
    const t = uniqueTopics();
    await createTopics(t);
    const obs = await Observability.start({ host: '127.0.0.1', port: 0 }, { defaultMetrics: false });
    const base = `http://127.0.0.1:${obs.address.port}`;
    const sse = await openEvents(`${base}/events`);
    let service: SaferoadsService | undefined;
    const published: RiskRecord[] = [];
    try {
      await until(() => obs.dashboard!.stream.clientCount === 1, 2_000, 'the /events client');
      await produce(t.weather, weatherRecords(data.weather));
      await produce(t.car, jsonRecords(data, data.events));
      const lastEnd = expectedLastEnd(data, data.events);

      service = await startService(t, data, 1, { observer: obs, onRecord: (r) => published.push(r) });
      const running = service;
      // Live: the first events arrive while the service runs, before it is done.
      await until(() => sse.events.length > 0, 15_000, 'a first event');
      await waitFor(() => running.stats.lastEnd === lastEnd, 15_000, `window end ${lastEnd} (at ${running.stats.lastEnd})`);
      await running.idle();
      await until(() => sse.events.length === published.length, 5_000, `${published.length} events (got ${sse.events.length})`);
      expect(published.length).toBe(running.stats.rowsOut);
      // Every published record, in the order published, as a compact event.
      const events = sse.events.map((e) => {
        expect(e.event).toBe('record');
        return JSON.parse(e.data);
      });
      expect(events.map((e) => [e.point_id, e.window_end, e.score])).toEqual(published.map((r) => [r.point_id, r.window_end, r.risk.score]));
      expect(events[0].contributions).toEqual(published[0].risk.contributions);

      const ids = data.points.map((p) => p.pointId);
      const now = await get(base, '/api/now');
      expect(now.status).toBe(200);
      const latest: RiskRecord[] = JSON.parse(now.body);
      expect(latest.map((r) => r.point_id).sort()).toEqual([...ids].sort());
      for (const r of latest) expect(r.window_end).toBe(lastEnd);
      for (let k = 1; k < latest.length; k++) expect(latest[k - 1].risk.score).toBeGreaterThanOrEqual(latest[k].risk.score);

      for (const id of ids) {
        const res = await get(base, `/api/history?point=${encodeURIComponent(id)}`);
        expect(res.status).toBe(200);
        const h = JSON.parse(res.body);
        const mine = published.filter((r) => r.point_id === id).sort((a, b) => a.window_end - b.window_end);
        expect(h.point_id).toBe(id);
        expect(h.window_end).toEqual(mine.map((r) => r.window_end));
        expect(h.series.score).toEqual(mine.map((r) => r.risk.score));
        for (let k = 1; k < h.window_end.length; k++) expect(h.window_end[k] - h.window_end[k - 1]).toBe(60);
        expect(h.window_end.at(-1)).toBe(lastEnd);
      }
      expect((await get(base, '/api/history?point=no-such-point')).status).toBe(404);

      const heat = JSON.parse((await get(base, '/api/heat?ends=5')).body);
      expect(heat.points).toHaveLength(ids.length);
      expect(heat.window_end).toEqual([4, 3, 2, 1, 0].map((k) => lastEnd - k * 60));
      expect(heat.scores).toHaveLength(ids.length);
      for (const row of heat.scores) {
        expect(row).toHaveLength(5);
        for (const v of row) expect(typeof v).toBe('number');
      }

      const health = JSON.parse((await get(base, '/api/health')).body);
      expect(health.records_in).toBe(running.stats.carRecords);
      expect(health.rows_out).toBe(running.stats.rowsOut);
      expect(health.watermark_s).toBeGreaterThanOrEqual(lastEnd);
      expect(health.consumer_lag_total).toBe(0);
      expect(health.history.points).toBe(ids.length);
    } finally {
      sse.abort();
      await service?.stop();
      await obs.close();
    }
  });
});
