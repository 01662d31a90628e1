/**
 * The shipped default model is what `npm run train:default` makes of the repository's simulated
 * data set (sim/): trained again here, it comes out the same; the data set is plausible traffic
 * (every row passes the service's plausibility checks, no event refused); and the hand-set model
 * it replaced ships as a named baseline.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainCommand } from '../../../src/cli/train.js';
import { DEFAULT_MODEL_PATH, loadRiskModel } from '../../../src/model/risk-model.js';
import { PACKAGE_ROOT } from '../../../src/paths.js';
import type { Report } from '../../../src/model/train/report.js';

const sim = (name: string) => join(PACKAGE_ROOT, 'sim', 'data', name);
const HEURISTIC_PATH = join(PACKAGE_ROOT, 'src', 'model', 'heuristic-baseline-v1.json');

interface TrainedFile {
  id: string;
  intercept: number;
  features: Record<string, number>;
  training: { argv: string[]; crossValidation: { rocAuc: { mean: number } } };
}

describe('the shipped default model', () => {
  it('is trained on sim/data and comes out the same when trained again', async () => {
    const shipped = JSON.parse(readFileSync(DEFAULT_MODEL_PATH, 'utf8')) as TrainedFile;
    // The command it was made with, its files relative to the repository.
    const argv = [...shipped.training.argv];
    const tmp = mkdtempSync(join(tmpdir(), 'saferoads-default-'));
    const out = join(tmp, 'model.json');
    // Everything it writes goes to a temporary directory instead.
    const redirect = (flag: string, path: string) => {
      const at = argv.indexOf(flag);
      if (at >= 0) argv[at + 1] = path;
    };
    redirect('--out', out);
    redirect('--report', out.replace(/\.json$/, '.report.json'));
    redirect('--html', join(tmp, 'report.html'));
    const cwd = process.cwd();
    process.chdir(PACKAGE_ROOT);
    let lines: string[] = [];
    try {
      lines = [];
      const status = await trainCommand(argv, {}, (l) => lines.push(l), () => undefined);
      expect(status).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    const again = JSON.parse(readFileSync(out, 'utf8')) as TrainedFile;
    expect(again.id).toBe(shipped.id);
    expect(again.intercept).toBeCloseTo(shipped.intercept, 9);
    expect(Object.keys(again.features)).toEqual(Object.keys(shipped.features));
    for (const [name, c] of Object.entries(shipped.features)) expect(again.features[name]).toBeCloseTo(c, 9);
    expect(again.training.crossValidation.rocAuc.mean).toBeCloseTo(shipped.training.crossValidation.rocAuc.mean, 12);

    const report = JSON.parse(readFileSync(out.replace(/\.json$/, '.report.json'), 'utf8')) as Report;
    // Plausible data: no event refused, no bad line, (almost) every row reliable. The exceptions are
    // minutes in which a vehicle that stood on a loop for more than a minute in a queue leaves it: the
    // service counts a vehicle's whole loop time in the minute it leaves, so that minute's occupancy
    // is over 1 (OCCUPANCY_OVER_1).
    expect(report.data.refusedEvents).toEqual({});
    expect(report.data.badLines).toEqual({ events: 0, weather: 0 });
    expect(report.data.leftOut.unreliable).toBeLessThan(report.data.historyRows / 1000);
    // It ranks the simulated conflicts better than chance and than the hand-set model it replaced.
    const trained = report.models[0];
    const heuristic = report.models.find((m) => m.name === 'model heuristic-baseline-v1');
    expect(trained.rocAuc.mean).toBeGreaterThan(0.6);
    expect(heuristic).toBeDefined();
    expect(trained.rocAuc.mean).toBeGreaterThan(heuristic!.rocAuc.mean);
  }, 300_000);

  it('says what it was trained on, and the hand-set model ships as a named baseline', () => {
    const model = loadRiskModel(DEFAULT_MODEL_PATH);
    expect(model.description).toMatch(/SUMO/);
    expect(model.description).toMatch(/surrogate/i);
    expect(existsSync(sim('manifest.json'))).toBe(true);
    const heuristic = loadRiskModel(HEURISTIC_PATH);
    expect(heuristic.id).toBe('heuristic-baseline-v1');
    expect(heuristic.description).toMatch(/NOT a trained model/);
  });
});
