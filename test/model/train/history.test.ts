/**
 * History rows are the live service's rows: the same events through the real broker and the
 * service (--until-end), and through historyRows (batch), give the same window ends, the same
 * features and — scored by the same model — the same score, bit for bit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seedEventJson } from '../../../src/codec/seed-json.js';
import { weatherJson } from '../../../src/generate/weather.js';
import { CalendarResolver } from '../../../src/join/calendar.js';
import { windowSpec } from '../../../src/kernel/window-spec.js';
import { DEFAULT_MODEL_PATH, loadRiskModel } from '../../../src/model/risk-model.js';
import { RISK_FEATURE_NAMES } from '../../../src/model/features.js';
import { fileSource, historyRows } from '../../../src/model/train/history.js';
import { modelScorer } from '../../../src/model/train/train.js';
import { loadRoadPoints } from '../../../src/road/points.js';
import { DEFAULT_SERVICE_OPTIONS } from '../../../src/service/options.js';
import {
  byKey,
  createTopics,
  dataset,
  GRACE_S,
  jsonRecords,
  parseRows,
  produce,
  readTopic,
  replayToEnd,
  uniqueTopics,
  weatherRecords,
} from '../../service/scenario.js';

describe('historyRows', () => {
  it('gives the rows, features and scores the service publishes for the same input', async () => {
    const d = dataset(6, 25, 31);
    const t = uniqueTopics();
    await createTopics(t);
    await produce(t.weather, weatherRecords(d.weather));
    await produce(t.car, jsonRecords(d, d.events));
    const service = await replayToEnd(t, d, 2);
    const published = byKey(parseRows(await readTopic(t.output, service.stats.rowsOut)));

    const dir = mkdtempSync(join(tmpdir(), 'saferoads-history-'));
    const eventsPath = join(dir, 'car.ndjson.gz');
    // Shuffled a little, as an export might be: history puts events in event-time order itself.
    const lines = d.events.map((e) => seedEventJson(e));
    for (let i = 0; i + 1 < lines.length; i += 7) [lines[i], lines[i + 1]] = [lines[i + 1], lines[i]];
    writeFileSync(eventsPath, gzipSync(`${lines.join('\n')}\nnot json\n`));
    const weatherPath = join(dir, 'weather.ndjson');
    writeFileSync(weatherPath, `${d.weather.map((r) => weatherJson(r)).join('\n')}\n`);
    const model = loadRiskModel(DEFAULT_MODEL_PATH);
    const spec = windowSpec({ graceS: GRACE_S });
    const h = await historyRows({
      events: fileSource(eventsPath),
      weather: fileSource(weatherPath),
      points: loadRoadPoints(d.pointsPath),
      spec,
      calendar: new CalendarResolver({ timeZone: DEFAULT_SERVICE_OPTIONS.timeZone, holidays: DEFAULT_SERVICE_OPTIONS.holidays, startOffsetS: spec.shortS }),
      model,
    });
    expect(h.events).toBe(d.events.length);
    expect(h.badLines.events.count).toBe(1);
    expect(h.badLines.events.first[0].line).toBe(d.events.length + 1);
    expect(h.refused).toEqual({});

    const score = modelScorer(model);
    const F = RISK_FEATURE_NAMES.length;
    const points = loadRoadPoints(d.pointsPath);
    let compared = 0;
    for (let r = 0; r < h.count; r++) {
      const id = points.byIndex(h.point[r]).pointId;
      const row = published.get(`${id}@${h.windowEnd[r]}`);
      // The service's --until-end also emits the end of the pane holding the last event.
      if (row === undefined) {
        expect(h.windowEnd[r]).toBeGreaterThan(Math.max(...d.events.map((e) => e.timestamp_out_2)) - 60);
        continue;
      }
      expect(score(h, r)).toBe(row.risk.score);
      // Each contribution is coefficient × feature: the features are the service's.
      for (const [name, c] of Object.entries(row.risk.contributions)) {
        const k = RISK_FEATURE_NAMES.indexOf(name as (typeof RISK_FEATURE_NAMES)[number]);
        expect(model.coefficients[name] * h.features[r * F + k]).toBe(c);
      }
      expect(h.reliable[r]).toBe(row.risk.reliable ? 1 : 0);
      compared++;
    }
    // Every published end but the service's last is a history row.
    const ends = new Set([...published.values()].map((r) => r.window_end));
    expect(compared).toBe((ends.size - 1) * d.points.length);
    expect(compared).toBeGreaterThan(20 * d.points.length);
  });
});
