import { describe, expect, it } from 'vitest';
import {
  CAR_DEAD_LETTER_REASONS,
  MAX_REASONS_PER_TOPIC,
  MAX_SHADOW_PAIRS,
  MODEL_DEAD_LETTER_REASONS,
  NO_METRICS,
  OTHER_REASON,
  PromMetrics,
  WEATHER_DEAD_LETTER_REASONS,
} from '../../src/observe/metrics.js';
import { fakeProbe } from './fake-probe.js';
import { find, samples, value } from './scrape.js';

describe('PromMetrics', () => {
  it('counts records in per topic and partition, batch by batch', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    m.recordsIn('car', 0, 10);
    m.recordsIn('car', 2, 5);
    m.recordsIn('car', 0, 7);
    m.recordsIn('weather', 0, 3);
    const text = await m.text();
    expect(value(text, 'saferoads_records_in_total', { topic: 'car', partition: '0' })).toBe(17);
    expect(value(text, 'saferoads_records_in_total', { topic: 'car', partition: '2' })).toBe(5);
    expect(value(text, 'saferoads_records_in_total', { topic: 'weather', partition: '0' })).toBe(3);
    expect(find(text, 'saferoads_records_in_total', { partition: '1' })).toHaveLength(0);
  });

  it('counts rows, implausible rows, mismatches, and observes latencies in histograms', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    m.rowsOut(8, 0);
    m.rowsOut(4, 3);
    m.partitionerMismatch();
    m.emissionLatency(0.02);
    m.emissionLatency(3);
    m.rebuilt(1, 0.3);
    const text = await m.text();
    expect(value(text, 'saferoads_rows_out_total')).toBe(12);
    expect(value(text, 'saferoads_implausible_rows_total')).toBe(3);
    expect(value(text, 'saferoads_partitioner_mismatches_total')).toBe(1);
    expect(value(text, 'saferoads_emission_latency_seconds_count')).toBe(2);
    expect(value(text, 'saferoads_emission_latency_seconds_sum')).toBeCloseTo(3.02, 9);
    expect(value(text, 'saferoads_emission_latency_seconds_bucket', { le: '0.025' })).toBe(1);
    expect(value(text, 'saferoads_emission_latency_seconds_bucket', { le: '5' })).toBe(2);
    expect(value(text, 'saferoads_rebuild_duration_seconds_count')).toBe(1);
    expect(value(text, 'saferoads_rebuild_duration_seconds_bucket', { le: '0.1' })).toBe(0);
    expect(value(text, 'saferoads_rebuild_duration_seconds_bucket', { le: '0.5' })).toBe(1);
  });

  it('shows the known dead-letter reasons at 0 once bound, and counts by reason', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    m.bind(fakeProbe().probe);
    m.deadLetters('car', 'INVALID_JSON', 1);
    m.deadLetters('car', 'INVALID_JSON', 2);
    m.deadLetters('weather', 'OUT_OF_RANGE', 1);
    const text = await m.text();
    expect(value(text, 'saferoads_dead_letters_total', { topic: 'car', reason: 'INVALID_JSON' })).toBe(3);
    expect(value(text, 'saferoads_dead_letters_total', { topic: 'car', reason: 'LATE' })).toBe(0);
    expect(value(text, 'saferoads_dead_letters_total', { topic: 'weather', reason: 'OUT_OF_RANGE' })).toBe(1);
    expect(find(text, 'saferoads_dead_letters_total', { topic: 'car' })).toHaveLength(CAR_DEAD_LETTER_REASONS.length);
    expect(find(text, 'saferoads_dead_letters_total', { topic: 'weather' })).toHaveLength(WEATHER_DEAD_LETTER_REASONS.length);
    expect(CAR_DEAD_LETTER_REASONS).toEqual(expect.arrayContaining(['UNKNOWN_POINT_ID', 'KEY_MISMATCH', 'POINT_ON_TWO_PARTITIONS', 'INVALID_FLATBUFFERS', 'LATE']));
    expect(CAR_DEAD_LETTER_REASONS).not.toContain('OK');
  });

  it('shows the models topic dead-letter reasons at 0 when the probe names it', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    m.bind({ ...fakeProbe().probe, modelsTopic: 'saferoads.models' });
    m.deadLetters('saferoads.models', 'INVALID_MODEL', 1);
    const text = await m.text();
    expect(find(text, 'saferoads_dead_letters_total', { topic: 'saferoads.models' })).toHaveLength(MODEL_DEAD_LETTER_REASONS.length);
    expect(value(text, 'saferoads_dead_letters_total', { topic: 'saferoads.models', reason: 'INVALID_MODEL' })).toBe(1);
    expect(value(text, 'saferoads_dead_letters_total', { topic: 'saferoads.models', reason: 'ACTIVE_TOMBSTONE' })).toBe(0);
  });

  it('keeps the reason label bounded: reasons beyond the bound count as OTHER', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    for (let i = 0; i < MAX_REASONS_PER_TOPIC + 10; i++) m.deadLetters('car', `R${i}`, 1);
    m.deadLetters('car', 'R0', 1);
    const text = await m.text();
    const series = find(text, 'saferoads_dead_letters_total', { topic: 'car' });
    expect(series).toHaveLength(MAX_REASONS_PER_TOPIC + 1);
    expect(value(text, 'saferoads_dead_letters_total', { topic: 'car', reason: OTHER_REASON })).toBe(10);
    expect(value(text, 'saferoads_dead_letters_total', { topic: 'car', reason: 'R0' })).toBe(2);
  });

  it('counts shadow rows and level disagreements per (active, shadow) model ids, the pairs bounded', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    m.shadowRows('v1', 'v2', 10, 0);
    m.shadowRows('v1', 'v2', 5, 2);
    m.shadowRows('v2', 'v3', 4, 4);
    let text = await m.text();
    expect(value(text, 'saferoads_shadow_rows_total', { active: 'v1', shadow: 'v2' })).toBe(15);
    // Shown from the first shadow row on, also at 0.
    expect(value(text, 'saferoads_shadow_level_disagreements_total', { active: 'v1', shadow: 'v2' })).toBe(2);
    expect(value(text, 'saferoads_shadow_level_disagreements_total', { active: 'v2', shadow: 'v3' })).toBe(4);
    for (let k = 0; k < MAX_SHADOW_PAIRS + 5; k++) m.shadowRows(`a${k}`, 's', 1, 1);
    text = await m.text();
    expect(find(text, 'saferoads_shadow_rows_total', {})).toHaveLength(MAX_SHADOW_PAIRS + 1);
    expect(value(text, 'saferoads_shadow_rows_total', { active: OTHER_REASON, shadow: OTHER_REASON })).toBe(7);
  });

  it('reads gauges from the probe at scrape time', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    let text = await m.text();
    expect(Number.isNaN(value(text, 'saferoads_watermark_seconds'))).toBe(true);
    expect(find(text, 'saferoads_consumer_lag_records')).toHaveLength(0);

    const { probe, state } = fakeProbe({
      watermarkS: Date.now() / 1000 - 90,
      lag: new Map([
        [0, 0],
        [2, 41],
      ]),
      weather: new Map([
        ['WS1', Date.now() / 1000 - 120],
        ['WS2', -Infinity],
      ]),
      shards: [
        { threads: 1, pending: 3, lastProgressMs: 0, kernelBytes: 65536 },
        { threads: 1, pending: 0, lastProgressMs: 0, kernelBytes: 131072 },
      ],
    });
    m.bind(probe);
    text = await m.text();
    expect(value(text, 'saferoads_watermark_seconds')).toBeCloseTo(state.watermarkS, 0);
    expect(value(text, 'saferoads_watermark_lag_seconds')).toBeGreaterThanOrEqual(90);
    expect(value(text, 'saferoads_watermark_lag_seconds')).toBeLessThan(95);
    expect(value(text, 'saferoads_consumer_lag_records', { topic: 'car', partition: '0' })).toBe(0);
    expect(value(text, 'saferoads_consumer_lag_records', { topic: 'car', partition: '2' })).toBe(41);
    expect(value(text, 'saferoads_weather_age_seconds', { station: 'WS1' })).toBeGreaterThanOrEqual(120);
    expect(value(text, 'saferoads_weather_age_seconds', { station: 'WS2' })).toBe(Infinity);
    expect(value(text, 'saferoads_shard_queue_depth', { shard: '0' })).toBe(3);
    expect(value(text, 'saferoads_kernel_state_bytes', { shard: '1' })).toBe(131072);

    // A partition that went away (a rebalance) disappears from the lag gauge.
    state.lag.delete(2);
    text = await m.text();
    expect(find(text, 'saferoads_consumer_lag_records')).toHaveLength(1);
  });

  it('includes the process metrics by default, in its own registry', async () => {
    const a = new PromMetrics();
    const b = new PromMetrics({ defaultMetrics: false });
    a.rowsOut(1, 0);
    expect(samples(await a.text()).some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples(await b.text()).some((s) => s.name.startsWith('process_'))).toBe(false);
    expect(value(await b.text(), 'saferoads_rows_out_total')).toBe(0);
  });
});

describe('NO_METRICS', () => {
  it('accepts every call and keeps nothing', () => {
    expect(Object.isFrozen(NO_METRICS)).toBe(true);
    NO_METRICS.recordsIn('car', 0, 1);
    NO_METRICS.deadLetters('car', 'LATE', 1);
    NO_METRICS.rowsOut(1, 1);
    NO_METRICS.partitionerMismatch();
    NO_METRICS.emissionLatency(1);
    NO_METRICS.rebuilt(0, 1);
    NO_METRICS.shadowRows('a', 'b', 1, 1);
    expect(Object.keys(NO_METRICS).sort()).toEqual(['deadLetters', 'emissionLatency', 'partitionerMismatch', 'rebuilt', 'recordsIn', 'rowsOut', 'shadowRows']);
  });
});
