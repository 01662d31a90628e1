/**
 * `saferoads train` and `saferoads backtest` on generated history with labels that follow the
 * traffic (incidents after sudden slowdowns and dense minutes): the trained model must find that
 * signal in cross-validation, be written in the shape run --model loads, and backtest must score it
 * as the live service would.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedEventJson } from '../../src/codec/seed-json.js';
import { generateRoadPoints, roadPointsCsv, stationsOf } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather, weatherJson } from '../../src/generate/weather.js';
import { CalendarResolver } from '../../src/join/calendar.js';
import { windowSpec } from '../../src/kernel/window-spec.js';
import { RISK_FEATURE_INDEX, RISK_FEATURE_NAMES } from '../../src/model/features.js';
import { DEFAULT_MODEL_PATH, loadRiskModel } from '../../src/model/risk-model.js';
import { fileSource, historyRows } from '../../src/model/train/history.js';
import type { Report } from '../../src/model/train/report.js';
import { loadRoadPoints } from '../../src/road/points.js';
import { backtestCommand } from '../../src/cli/backtest.js';
import { trainCommand } from '../../src/cli/train.js';
import { ConfigError } from '../../src/errors.js';
import { KafkaClient } from '../../src/kafka/client.js';
import { brokers, uniqueTopic } from '../kafka/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'saferoads-train-'));
const files = {
  events: join(dir, 'car.ndjson'),
  weather: join(dir, 'weather.ndjson'),
  points: join(dir, 'points.csv'),
  labels: join(dir, 'labels.csv'),
  model: join(dir, 'model.json'),
  html: join(dir, 'report.html'),
};
const data = ['--events', files.events, '--weather', files.weather, '--points', files.points, '--labels', files.labels];

function run(command: typeof trainCommand, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  return command(argv, {}, (l) => out.push(l), (l) => err.push(l)).then((status) => ({ status, out: out.join('\n'), err: err.join('\n') }));
}

beforeAll(async () => {
  const startS = 1_767_250_800; // 2026-01-01T07:00Z
  const points = generateRoadPoints(12, 5);
  writeFileSync(files.points, roadPointsCsv(points));
  const events = generateTraffic({ points, durationS: 4 * 3600, startS, seed: 5, incidentsPerPointDay: 12 });
  writeFileSync(files.events, `${[...events].map((e) => seedEventJson(e)).join('\n')}\n`);
  const weather = generateWeather({ stations: stationsOf(points), startS: startS - 600, durationS: 4 * 3600 + 1200, intervalS: 300, seed: 5 });
  writeFileSync(files.weather, `${[...weather].map((r) => weatherJson(r)).join('\n')}\n`);
  // Labels from the rows the service would emit: an incident 1–5 min after a minute whose mean
  // speed dropped sharply, more often when dense, and a few at random.
  const spec = windowSpec();
  const table = loadRoadPoints(files.points);
  const h = await historyRows({
    events: fileSource(files.events),
    points: table,
    spec,
    calendar: new CalendarResolver({ timeZone: 'Europe/Warsaw', holidays: 'PL', startOffsetS: spec.shortS }),
    model: loadRiskModel(DEFAULT_MODEL_PATH),
  });
  let a = 99;
  const u = () => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0), a / 4294967296);
  const F = RISK_FEATURE_NAMES.length;
  const lines = ['point_id,timestamp,kind'];
  for (let r = 0; r < h.count; r++) {
    const slowdown = h.features[r * F + RISK_FEATURE_INDEX.sudden_slowdown];
    const occupancy = h.features[r * F + RISK_FEATURE_INDEX.occupancy];
    if (u() < 0.002 + (slowdown > 10 ? 0.25 : 0) + 0.1 * occupancy) {
      lines.push(`${table.byIndex(h.point[r]).pointId},${h.windowEnd[r] + 60 + Math.floor(u() * 240)},conflict`);
    }
  }
  lines.push('P9999,1767251000,conflict');
  writeFileSync(files.labels, `${lines.join('\n')}\n`);
}, 120_000);

describe('saferoads train', () => {
  let report: Report;

  it('finds the signal in time-blocked cross-validation and writes a model run --model loads', async () => {
    const r = await run(trainCommand, [...data, '--horizon', '10', '--folds', '4', '--out', files.model, '--html', files.html, '--id', 'test-trained']);
    expect(r.status).toBe(0);
    expect(r.err).toMatch(/1 labels name points that are not in the road-points table/);
    report = JSON.parse(readFileSync(files.model.replace(/\.json$/, '.report.json'), 'utf8')) as Report;
    expect(report.settings).toMatchObject({ horizonMin: 10, folds: 4, foldBy: 'hour', embargoMin: 20 });
    expect(report.settings.fit).toMatchObject({ l2: [0.1, 1, 10, 100, 1000], coefficients: 'nonnegative' });
    expect(report.models.map((m) => m.name)).toEqual([
      'trained (all features)',
      'trained, coefficients free',
      'mean speed alone',
      'speed variance alone',
      `model ${loadRiskModel(DEFAULT_MODEL_PATH).id}`,
    ]);
    const trained = report.models[0];
    expect(trained.perFold).toHaveLength(4);
    // Each fold chose its penalty from the grid.
    expect(trained.l2).toHaveLength(4);
    for (const l2 of trained.l2!) expect([0.1, 1, 10, 100, 1000]).toContain(l2);
    expect(report.settings.fit!.l2).toContain(report.settings.fit!.finalL2);
    expect(trained.rocAuc.mean).toBeGreaterThan(0.7);
    expect(trained.rocAuc.min).toBeGreaterThan(0.6);
    // Folds: contiguous, in time order, disjoint; together every labelled row once.
    expect(report.folds.reduce((n, f) => n + f.testRows, 0)).toBe(report.data.rows);
    for (let k = 1; k < report.folds.length; k++) expect(report.folds[k].from >= report.folds[k - 1].to).toBe(true);
    expect(report.folds.every((f) => f.embargoed > 0)).toBe(true);

    const model = loadRiskModel(files.model);
    expect(model.id).toBe('test-trained');
    for (const c of Object.values(model.coefficients)) expect(c).toBeGreaterThanOrEqual(0);
    // The labels follow sudden slowdowns and occupancy: the model leans on them.
    expect(model.coefficients.sudden_slowdown).toBeGreaterThan(0);
    expect(model.coefficients.occupancy).toBeGreaterThan(0);
    const file = JSON.parse(readFileSync(files.model, 'utf8')) as { scaling: Record<string, { sd: number }>; training: { crossValidation: { rocAuc: { mean: number } } } };
    expect(Object.keys(file.scaling).sort()).toEqual(Object.keys(model.coefficients).sort());
    expect(file.training.crossValidation.rocAuc.mean).toBe(trained.rocAuc.mean);
    expect(r.out).toMatch(/trained \(all features\)\s+0\.\d{3} ± 0\.\d{3}/);
    expect(r.out).toContain('calibration of trained (all features)');
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain(loadRiskModel(DEFAULT_MODEL_PATH).id);
  }, 120_000);

  it('backtest scores the models side by side on the same rows', async () => {
    const json = join(dir, 'backtest.json');
    const r = await run(backtestCommand, [...data, '--folds', '4', '--models', `default,${files.model}`, '--json', json]);
    expect(r.status).toBe(0);
    const bt = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(bt.models.map((m) => m.name)).toEqual([loadRiskModel(DEFAULT_MODEL_PATH).id, 'test-trained']);
    expect(bt.data.rows).toBe(report.data.rows);
    // Fitted on every row, the trained model ranks them at least as well as out of fold.
    expect(bt.models[1].pooled.rocAuc).toBeGreaterThan(report.models[0].pooled.rocAuc - 0.01);
    // The shipped model scores as in train's comparison (same rows, same scorer).
    expect(bt.models[0].pooled.rocAuc).toBe(report.models[4].pooled.rocAuc);
    expect(r.out).toContain('test-trained');
  }, 120_000);

  it('reads the same history from topics as from files, and --from / --to cut the period', async () => {
    const client = new KafkaClient({ brokers: brokers() });
    const car = uniqueTopic('train-car');
    const weather = uniqueTopic('train-weather');
    await client.ensureTopics([
      { topic: car, partitions: 3 },
      { topic: weather, partitions: 1 },
    ]);
    const producer = await client.producer();
    const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    await producer.send(car, lines(files.events).map((value) => ({ key: (JSON.parse(value) as { point_id: string }).point_id, value })));
    await producer.send(weather, lines(files.weather).map((value) => ({ key: (JSON.parse(value) as { station: string }).station, value })));
    await producer.close();
    await client.close();
    const json = join(dir, 'from-topics.json');
    const fromTopics = [...data.slice(4), '--brokers', brokers().join(','), '--car-topic', car, '--weather-topic', weather, '--folds', '4'];
    const r = await run(backtestCommand, [...fromTopics, '--models', `default,${files.model}`, '--json', json]);
    expect(r.status).toBe(0);
    const fromFiles = join(dir, 'from-files.json');
    await run(backtestCommand, [...data, '--folds', '4', '--models', `default,${files.model}`, '--json', fromFiles]);
    const a = JSON.parse(readFileSync(json, 'utf8')) as Report;
    const b = JSON.parse(readFileSync(fromFiles, 'utf8')) as Report;
    expect(a.data.eventsPath).toContain(`topic ${car}`);
    expect({ ...a.data, eventsPath: '', weatherPath: '' }).toEqual({ ...b.data, eventsPath: '', weatherPath: '' });
    expect(a.models.map((m) => m.pooled)).toEqual(b.models.map((m) => m.pooled));

    // The first two hours only (ISO and epoch seconds both read).
    const cut = join(dir, 'cut.json');
    const start = new Date(Date.parse(b.data.firstEvent)).toISOString();
    const end = String(Math.floor(Date.parse(b.data.firstEvent) / 1000) + 2 * 3600);
    await run(backtestCommand, [...data, '--folds', '2', '--models', 'default', '--from', start, '--to', end, '--json', cut]);
    const c = JSON.parse(readFileSync(cut, 'utf8')) as Report;
    expect(Date.parse(c.data.lastEvent) / 1000).toBeLessThan(Number(end));
    expect(c.data.rows).toBeLessThan(b.data.rows * 0.6);
    expect(c.data.rows).toBeGreaterThan(b.data.rows * 0.3);
  }, 120_000);

  it('refuses bad options and files with one line naming the field', async () => {
    await expect(run(trainCommand, ['--events', files.events, '--points', files.points])).rejects.toThrow(/--labels is required/);
    const bad = join(dir, 'bad-labels.csv');
    writeFileSync(bad, 'point_id,timestamp\nP0001,yesterday\n');
    await expect(run(trainCommand, [...data.slice(0, 6), '--labels', bad])).rejects.toThrow(ConfigError);
    await expect(run(trainCommand, [...data.slice(0, 6), '--labels', bad])).rejects.toThrow(/line 2: timestamp "yesterday" is not epoch seconds/);
    const none = join(dir, 'no-labels.csv');
    writeFileSync(none, 'point_id,timestamp\nP0001,1000\n');
    await expect(run(trainCommand, [...data.slice(0, 6), '--labels', none])).rejects.toThrow(/no row is followed by an incident/);
    await expect(run(trainCommand, [...data, '--folds', '40'])).rejects.toThrow(/--folds .*blocks/);
    await expect(run(backtestCommand, data)).rejects.toThrow(/--models is required/);
    await expect(run(trainCommand, [...data, '--l2=-1'])).rejects.toThrow(/--l2 must be a number >= 0/);
    await expect(run(trainCommand, [...data, '--l2', '1,x'])).rejects.toThrow(/--l2 must be a number >= 0/);
    await expect(run(trainCommand, [...data.slice(2), '--car-topic', 'car'])).rejects.toThrow(/--brokers is required with --car-topic/);
    await expect(run(trainCommand, [...data, '--car-topic', 'car'])).rejects.toThrow(/--car-topic and --events both/);
    await expect(run(trainCommand, [...data, '--from', 'soon'])).rejects.toThrow(/--from "soon" is not a time/);
    await expect(run(trainCommand, [...data, '--from', '2000', '--to', '1000'])).rejects.toThrow(/--to must be after --from/);
  }, 120_000);
});
