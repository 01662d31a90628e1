/**
 * Changing the model while the service runs (real broker, the service in-process): the models
 * topic, the --model file, a shadow model, bad model records.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PublishedWindowStats, RiskRecord } from '../../src/join/types.js';
import { WINDOW_STAT_FIELDS, type WindowStats } from '../../src/kernel/contract.js';
import { riskFeatures } from '../../src/model/features.js';
import { riskLevel } from '../../src/model/risk-levels.js';
import { DEFAULT_MODEL_PATH, loadRiskModel, riskModel, type RiskModel } from '../../src/model/risk-model.js';
import { KafkaClient } from '../../src/kafka/client.js';
import { PromMetrics } from '../../src/observe/metrics.js';
import { PUBLISHED_NAMES } from '../../src/pipeline/output.js';
import { loadRoadPoints } from '../../src/road/points.js';
import type { SaferoadsService } from '../../src/service/service.js';
import { brokers } from '../kafka/helpers.js';
import {
  byKey,
  createTopics,
  type Dataset,
  dataset,
  expectedLastEnd,
  expectRowsMatchReference,
  jsonRecords,
  parseRows,
  produce,
  readTopic,
  startService,
  type Topics,
  uniqueTopics,
  waitFor,
  weatherRecords,
} from './scenario.js';

const BASE = loadRiskModel(DEFAULT_MODEL_PATH);
const V2_JSON = { id: 'swap-test-v2', intercept: -1.5, features: { occupancy: 3, speed_std: 0.02, night: 0.4 } };
const V2 = riskModel(V2_JSON, 'test');
/** Scores far above the default model's (HIGH where the default says LOW): levels disagree. */
const SHADOW_JSON = { id: 'shadow-high', intercept: 2, features: { occupancy: 1, night: 0.1 } };
const SHADOW = riskModel(SHADOW_JSON, 'test');

function modelsTopicOf(t: Topics): string {
  return `${t.output}-models`;
}

/** What `model` scores for a published record: its features computed again from the record itself. */
function scoreOf(model: RiskModel, r: RiskRecord, d: Dataset): number {
  const road = loadRoadPoints(d.pointsPath).points.find((p) => p.pointId === r.point_id)!;
  const stats = (w: PublishedWindowStats) => Object.fromEntries(WINDOW_STAT_FIELDS.map((f) => [f, w[PUBLISHED_NAMES[f]]])) as unknown as WindowStats;
  const w = r.weather;
  const features = riskFeatures({
    short: stats(r.short),
    long: stats(r.long),
    road,
    weather: w === null ? null : { station: w.station, timestamp: w.timestamp, temp: w.temp, snow: w.snow, rain: w.rain, pressure: w.pressure, wind: w.wind, visibility: w.visibility },
    calendar: r.calendar,
  });
  return model.score(features).score;
}

/** Rows by window end. */
function byEnd(rows: readonly RiskRecord[]): Map<number, RiskRecord[]> {
  const ends = new Map<number, RiskRecord[]>();
  for (const r of rows) ends.set(r.window_end, [...(ends.get(r.window_end) ?? []), r]);
  return ends;
}

/**
 * Runs the service over `d`: the first half of the traffic, then `between` (a model change) once its
 * rows are out, then the rest; returns the service (stopped) and its rows.
 */
async function runWithChange(
  d: Dataset,
  t: Topics,
  options: Parameters<typeof startService>[3],
  between: (service: SaferoadsService, firstEnd: number) => Promise<void>,
): Promise<{ service: SaferoadsService; rows: RiskRecord[]; lastEnd: number }> {
  await produce(t.weather, weatherRecords(d.weather));
  const cut = d.startS + 8 * 60 + 17;
  const first = d.events.filter((e) => e.timestamp_in_1 < cut);
  const second = d.events.filter((e) => e.timestamp_in_1 >= cut);
  await produce(t.car, jsonRecords(d, first));
  const firstEnd = expectedLastEnd(d, first);
  const lastEnd = expectedLastEnd(d, d.events);
  const service = await startService(t, d, 3, options);
  try {
    await waitFor(() => service.stats.lastEnd === firstEnd, 60_000, `window end ${firstEnd}`);
    await between(service, firstEnd);
    await produce(t.car, jsonRecords(d, second));
    await waitFor(() => service.stats.lastEnd === lastEnd, 60_000, `window end ${lastEnd}`);
    await service.idle();
  } finally {
    await service.stop();
  }
  const rows = parseRows(await readTopic(t.output, service.stats.rowsOut));
  expectRowsMatchReference(byKey(rows), d, d.events, d.weather, d.startS, lastEnd);
  return { service, rows, lastEnd };
}

/** Every window end's rows carry one model: `before` up to `switchEnd`, `after` from it; scores are those models'. */
function expectSwitchAt(rows: readonly RiskRecord[], d: Dataset, switchEnd: number, before: RiskModel, after: RiskModel): void {
  const ends = byEnd(rows);
  expect([...ends.keys()].some((end) => end < switchEnd)).toBe(true);
  expect([...ends.keys()].some((end) => end >= switchEnd)).toBe(true);
  for (const [end, list] of ends) {
    const model = end < switchEnd ? before : after;
    expect(new Set(list.map((r) => r.risk.model)), `models of window end ${end}`).toEqual(new Set([model.id]));
    for (const r of list) {
      expect(Object.keys(r.risk.contributions)).toEqual(Object.keys(model.coefficients));
      expect(r.risk.score).toBeCloseTo(scoreOf(model, r, d), 12);
    }
  }
}

/** A topic's configuration value, through the adapter. */
async function topicConfig(topic: string, name: string): Promise<string | undefined> {
  const client = new KafkaClient({ brokers: brokers() });
  try {
    return await client.topicConfig(topic, name);
  } finally {
    await client.close();
  }
}

describe('changing the model while the service runs (real broker)', () => {
  it('a model published on the models topic takes over at the first window end after its timestamp; every end is scored by one model', async () => {
    const d = dataset(6, 16, 21);
    const t = uniqueTopics();
    const modelsTopic = modelsTopicOf(t);
    await createTopics(t);
    let switchEnd = NaN;
    const { rows } = await runWithChange(d, t, { modelsTopic }, async (service, firstEnd) => {
      // Created by the service, compacted: the latest model per key is what counts.
      expect(await topicConfig(modelsTopic, 'cleanup.policy')).toBe('compact');
      // Event time ahead of what was emitted: the record says from when (deterministic on every instance).
      const ts = firstEnd + 150;
      switchEnd = firstEnd + 180;
      await produce(modelsTopic, [{ key: 'active', value: JSON.stringify(V2_JSON), timestampMs: ts * 1000 }]);
      await waitFor(() => service.modelSchedule.list.length === 2, 30_000, 'the model record');
      expect(service.modelSchedule.list[1]).toMatchObject({ fromEnd: switchEnd, shadow: null });
      expect(service.modelSchedule.list[1].active.id).toBe(V2.id);
    });
    expectSwitchAt(rows, d, switchEnd, BASE, V2);
    expect(rows.every((r) => !('shadow' in r.risk))).toBe(true);
    // A restart reads the topic again and comes to the same window end (the boundary is the record's).
    const again = await startService(t, d, 1, { modelsTopic });
    try {
      expect(again.modelSchedule.list.map((e) => [e.fromEnd, e.active.id])).toEqual([
        [-Infinity, BASE.id],
        [switchEnd, V2.id],
      ]);
    } finally {
      await again.stop();
    }
  });

  it('a shadow model: every row carries risk.shadow with its score, level disagreements are counted; a tombstone removes it', async () => {
    const d = dataset(6, 16, 22);
    const t = uniqueTopics();
    const modelsTopic = modelsTopicOf(t);
    await createTopics(t);
    const dir = mkdtempSync(join(tmpdir(), 'saferoads-shadow-'));
    const shadowModelPath = join(dir, 'shadow.json');
    writeFileSync(shadowModelPath, JSON.stringify(SHADOW_JSON));
    const metrics = new PromMetrics({ defaultMetrics: false });
    const observer = { metrics, bind: (probe: Parameters<PromMetrics['bind']>[0]) => metrics.bind(probe) };
    let removedFrom = NaN;
    const { service, rows } = await runWithChange(d, t, { modelsTopic, shadowModelPath, observer }, async (s, firstEnd) => {
      removedFrom = firstEnd + 120;
      await produce(modelsTopic, [{ key: 'shadow', value: null, timestampMs: (firstEnd + 90) * 1000 }]);
      await waitFor(() => s.modelSchedule.list.length === 2, 30_000, 'the tombstone');
      expect(s.modelSchedule.list[1]).toMatchObject({ fromEnd: removedFrom, shadow: null });
    });
    let shadowed = 0;
    let disagreements = 0;
    for (const r of rows) {
      expect(r.risk.model).toBe(BASE.id);
      if (r.window_end >= removedFrom) {
        expect('shadow' in r.risk, `${r.point_id}@${r.window_end}`).toBe(false);
        continue;
      }
      shadowed++;
      expect(r.risk.shadow?.model).toBe(SHADOW.id);
      expect(r.risk.shadow!.score).toBeCloseTo(scoreOf(SHADOW, r, d), 12);
      if (riskLevel(r.risk.score) !== riskLevel(r.risk.shadow!.score)) disagreements++;
    }
    expect(shadowed).toBeGreaterThan(0);
    expect(disagreements).toBeGreaterThan(0);
    expect(service.stats.shadowRows).toBe(shadowed);
    expect(service.stats.shadowDisagreements).toBe(disagreements);
    const text = await metrics.text();
    expect(text).toContain(`saferoads_shadow_rows_total{active="${BASE.id}",shadow="${SHADOW.id}"} ${shadowed}`);
    expect(text).toContain(`saferoads_shadow_level_disagreements_total{active="${BASE.id}",shadow="${SHADOW.id}"} ${disagreements}`);
  });

  it('bad model records go to the models dead-letter topic with provenance, one log line each; the running model stays', async () => {
    const d = dataset(4, 16, 23);
    const t = uniqueTopics();
    const modelsTopic = modelsTopicOf(t);
    await createTopics(t);
    const lines: string[] = [];
    const bad = [
      { key: 'active', value: '{"id": "broken", ', reason: 'INVALID_JSON' },
      { key: 'active', value: JSON.stringify({ ...V2_JSON, features: { no_such_feature: 1 } }), reason: 'INVALID_MODEL' },
      { key: 'shadow', value: '{"id": "inf", "intercept": 1e999, "features": {}}', reason: 'INVALID_MODEL' },
      { key: 'active', value: JSON.stringify({ id: 'no-features', intercept: 0 }), reason: 'INVALID_MODEL' },
      { key: 'standby', value: JSON.stringify(V2_JSON), reason: 'UNKNOWN_KEY' },
      { key: 'active', value: null, reason: 'ACTIVE_TOMBSTONE' },
    ];
    // Most before the start (read from the beginning), the last while running.
    const client = new KafkaClient({ brokers: brokers() });
    await client.ensureTopics([{ topic: modelsTopic, partitions: 1, config: { 'cleanup.policy': 'compact' } }]);
    await client.close();
    await produce(modelsTopic, bad.slice(0, -1).map((b) => ({ key: b.key, value: b.value })));
    const { service, rows } = await runWithChange(d, t, { modelsTopic, log: (line) => lines.push(line) }, async (s) => {
      expect(s.stats.modelDeadLetters).toBe(bad.length - 1);
      const last = bad[bad.length - 1];
      await produce(modelsTopic, [{ key: last.key, value: last.value }]);
      await waitFor(() => s.stats.modelDeadLetters === bad.length, 30_000, 'the last dead letter');
    });
    expect(service.modelSchedule.list).toHaveLength(1);
    expect(rows.every((r) => r.risk.model === BASE.id)).toBe(true);
    const refused = lines.filter((l) => l.startsWith('saferoads: refused the record'));
    expect(refused).toHaveLength(bad.length);
    for (const line of refused) expect(line).toMatch(/^saferoads: refused the record at offset \d+ of .*: .*; the running (active|shadow) model .* stays \(dead letter on .*\.dlq, [A-Z_]+\)$/);
    const dead = await readTopic(`${modelsTopic}.dlq`, bad.length);
    const sources = await readTopic(modelsTopic, bad.length);
    expect(dead.map((r) => r.headers['saferoads-reason'].toString())).toEqual(bad.map((b) => b.reason));
    dead.forEach((r, k) => {
      expect(r.headers['saferoads-source-topic'].toString()).toBe(modelsTopic);
      expect(r.headers['saferoads-source-partition'].toString()).toBe('0');
      expect(r.headers['saferoads-source-offset'].toString()).toBe(String(sources[k].offset));
      expect(r.headers['saferoads-detail'].toString().length).toBeGreaterThan(0);
      expect(r.key?.toString()).toBe(bad[k].key);
      expect(r.value?.toString() ?? null).toBe(bad[k].value);
    });
  });

  it('a change of the --model file takes over at the first window end not yet emitted; a bad file is refused in one line', async () => {
    const d = dataset(4, 16, 24);
    const t = uniqueTopics();
    await createTopics(t);
    const dir = mkdtempSync(join(tmpdir(), 'saferoads-model-'));
    const modelPath = join(dir, 'model.json');
    copyFileSync(DEFAULT_MODEL_PATH, modelPath);
    const lines: string[] = [];
    let switchEnd = NaN;
    const { rows } = await runWithChange(d, t, { modelsTopic: modelsTopicOf(t), modelPath, modelWatchIntervalMs: 100, log: (line) => lines.push(line) }, async (service, firstEnd) => {
      writeFileSync(modelPath, '{"id": "half-written", ');
      await waitFor(() => lines.some((l) => l.includes('not valid JSON')), 30_000, 'the bad file refused');
      expect(lines.filter((l) => l.includes('not valid JSON'))).toEqual([expect.stringMatching(new RegExp(`^saferoads: --model .*model\\.json is not valid JSON: .*; the running active model "${BASE.id}" stays$`))]);
      expect(service.modelSchedule.list).toHaveLength(1);
      writeFileSync(modelPath, JSON.stringify(V2_JSON));
      await waitFor(() => service.modelSchedule.list.length === 2, 30_000, 'the new model file');
      switchEnd = service.modelSchedule.list[1].fromEnd;
      // Nothing after firstEnd was asked of the shards yet.
      expect(switchEnd).toBe(firstEnd + 60);
    });
    expectSwitchAt(rows, d, switchEnd, BASE, V2);
    expect(lines.filter((l) => l.includes(`active model "${V2.id}"`))).toHaveLength(1);
  });

  it('a models topic made before without compaction: one warning line naming the fix', async () => {
    const d = dataset(2, 4, 3);
    const t = uniqueTopics();
    const modelsTopic = modelsTopicOf(t);
    await createTopics(t);
    const client = new KafkaClient({ brokers: brokers() });
    await client.ensureTopics([{ topic: modelsTopic, partitions: 1 }]);
    await client.close();
    expect(await topicConfig(modelsTopic, 'cleanup.policy')).toBe('delete');
    const lines: string[] = [];
    const service = await startService(t, d, 1, { modelsTopic, log: (line) => lines.push(line) });
    await service.stop();
    const warned = lines.filter((l) => l.includes('is not compacted'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain(`the models topic ${modelsTopic} is not compacted (cleanup.policy=delete)`);
    expect(warned[0]).toContain('--add-config cleanup.policy=compact');
  });
});
