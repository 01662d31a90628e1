/**
 * Metrics and health scraped over HTTP while the real service runs against the test broker.
 */
import { describe, expect, it } from 'vitest';
import { Observability } from '../../src/observe/observability.js';
import type { SaferoadsService } from '../../src/service/service.js';
import {
  createTopics,
  dataset,
  expectedLastEnd,
  jsonRecords,
  PARTITIONS,
  produce,
  startService,
  uniqueTopics,
  waitFor,
  weatherRecords,
} from '../service/scenario.js';
import { find, get, samples, value } from './scrape.js';

const data = dataset(4, 12, 11);

async function untilReady(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(base, '/readyz');
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${r.body}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('observability of a running service (real broker)', () => {
  it('/readyz, /livez and /metrics tell what the service did; a restart shows its rebuild', async () => {
    const t = uniqueTopics();
    await createTopics(t);
    const obs = await Observability.start({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${obs.address.port}`;
    let service: SaferoadsService | undefined;
    try {
      // Before the service exists: live, not ready.
      const starting = await get(base, '/readyz');
      expect(starting.status).toBe(503);
      expect(JSON.parse(starting.body)).toEqual({ ok: false, checks: { service: { ok: false, detail: expect.stringMatching(/^starting/) } } });
      expect((await get(base, '/livez')).status).toBe(200);

      await produce(t.weather, weatherRecords(data.weather));
      const cars = jsonRecords(data, data.events);
      // One record no decoder accepts, on partition 1.
      cars.push({ key: 'garbage', value: '{"lane": 1,', partition: 1 });
      await produce(t.car, cars);
      const produced = Array.from({ length: PARTITIONS }, (_, p) => cars.filter((r) => r.partition === p).length);
      const lastEnd = expectedLastEnd(data, data.events);

      service = await startService(t, data, 2, { observer: obs });
      const running = service;
      await waitFor(() => running.stats.lastEnd === lastEnd, 45_000, `window end ${lastEnd} (at ${running.stats.lastEnd})`);
      await running.idle();
      await untilReady(base, 15_000);
      const ready = JSON.parse((await get(base, '/readyz')).body);
      expect(Object.keys(ready.checks).sort()).toEqual(['assignment', 'broker', 'rebuild', 'weather']);
      expect(ready.checks.assignment.detail).toBe(`partitions 0,1,2 of ${t.car}`);
      const live = await get(base, '/livez');
      expect(live.status).toBe(200);
      expect(JSON.parse(live.body).checks.shards.detail).toBe('2 shard thread(s) alive');

      const res = await get(base, '/metrics');
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = res.body;
      for (let p = 0; p < PARTITIONS; p++) {
        expect(value(text, 'saferoads_records_in_total', { topic: t.car, partition: String(p) }), `partition ${p}`).toBe(produced[p]);
        expect(value(text, 'saferoads_consumer_lag_records', { topic: t.car, partition: String(p) }), `lag of ${p}`).toBe(0);
      }
      expect(value(text, 'saferoads_records_in_total', { topic: t.weather, partition: '0' })).toBe(data.weather.length);
      expect(running.stats.rowsOut).toBeGreaterThan(0);
      expect(value(text, 'saferoads_rows_out_total')).toBe(running.stats.rowsOut);
      expect(value(text, 'saferoads_implausible_rows_total')).toBe(running.stats.implausibleRows);
      expect(running.stats.deadLetters).toBe(1);
      expect(value(text, 'saferoads_dead_letters_total', { topic: t.car, reason: 'INVALID_JSON' })).toBe(1);
      expect(find(text, 'saferoads_dead_letters_total').reduce((sum, s) => sum + s.value, 0)).toBe(1);
      // W is past the last published end and before the next one.
      const w = value(text, 'saferoads_watermark_seconds');
      expect(w).toBeGreaterThanOrEqual(lastEnd);
      expect(w).toBeLessThan(lastEnd + 60);
      expect(value(text, 'saferoads_watermark_lag_seconds')).toBeGreaterThan(Date.now() / 1000 - w - 5);
      const stations = [...new Set(data.points.map((p) => p.station))];
      expect(find(text, 'saferoads_weather_age_seconds').map((s) => s.labels.station).sort()).toEqual(stations.sort());
      for (const station of stations) {
        const newest = Math.max(...data.weather.filter((r) => r.station === station).map((r) => r.timestamp));
        const age = value(text, 'saferoads_weather_age_seconds', { station });
        expect(age).toBeGreaterThanOrEqual(Date.now() / 1000 - newest - 5);
        expect(age).toBeLessThanOrEqual(Date.now() / 1000 - newest + 5);
      }
      expect(value(text, 'saferoads_emission_latency_seconds_count')).toBeGreaterThan(0);
      expect(value(text, 'saferoads_rebuild_duration_seconds_count')).toBe(PARTITIONS);
      for (const shard of ['0', '1']) {
        expect(value(text, 'saferoads_kernel_state_bytes', { shard })).toBeGreaterThan(0);
        expect(value(text, 'saferoads_shard_queue_depth', { shard })).toBe(0);
      }
      expect(value(text, 'saferoads_partitioner_mismatches_total')).toBe(running.stats.partitionerMismatches);
      // Cardinality: no point id anywhere in the labels.
      const pointIds = new Set(data.points.map((p) => p.pointId));
      for (const s of samples(text)) {
        expect(Object.keys(s.labels)).not.toContain('point_id');
        for (const v of Object.values(s.labels)) expect(pointIds.has(v), `${s.name} ${v}`).toBe(false);
      }
    } finally {
      await service?.stop();
      await obs.close();
    }

    // A second instance of the group re-reads each partition from its restart point: ready once
    // every partition is rebuilt, without writing the dead letter again.
    const again = await Observability.start({ host: '127.0.0.1', port: 0 }, { defaultMetrics: false });
    const base2 = `http://127.0.0.1:${again.address.port}`;
    service = undefined;
    try {
      service = await startService(t, data, 1, { observer: again });
      await untilReady(base2, 20_000);
      const text = (await get(base2, '/metrics')).body;
      expect(value(text, 'saferoads_rebuild_duration_seconds_count')).toBe(PARTITIONS);
      const reread = find(text, 'saferoads_records_in_total', { topic: t.car }).reduce((sum, s) => sum + s.value, 0);
      expect(reread).toBeGreaterThan(0);
      expect(find(text, 'saferoads_dead_letters_total').reduce((sum, s) => sum + s.value, 0)).toBe(0);
      expect(service.stats.deadLetters).toBe(0);
    } finally {
      await service?.stop();
      await again.close();
    }
  });
});
