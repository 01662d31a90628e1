import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, exitCodeFor } from '../../src/errors.js';
import { RISK_FEATURE_NAMES } from '../../src/model/features.js';
import { DEFAULT_MODEL_PATH, loadRiskModel, riskModel } from '../../src/model/risk-model.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const KNOWN = RISK_FEATURE_NAMES.join(', ');
const SHAPE_FIX = 'fix: the model must be {"id": string, "intercept": number, "features": {name: number, …}}';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(e)).toBe(2);
    expect((e as ConfigError).message).not.toContain('\n');
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const zeros = () => Object.fromEntries(RISK_FEATURE_NAMES.map((n) => [n, 0])) as Record<string, number>;

describe('the default model', () => {
  it('lives in the source tree at src/model/default-model.json, a trained model that says on what', () => {
    expect(DEFAULT_MODEL_PATH).toBe(join(PACKAGE_ROOT, 'src', 'model', 'default-model.json'));
    expect(existsSync(DEFAULT_MODEL_PATH)).toBe(true);
    const d = loadRiskModel(DEFAULT_MODEL_PATH);
    expect(d.id).toBe('sumo-ssm-v1');
    expect(d.description).toMatch(/SURROGATE labels, not crashes/);
    expect(d.description).toMatch(/not crash probabilities/);
    // Every feature is defined so that larger means riskier: no trained weight says otherwise.
    for (const c of Object.values(d.coefficients)) expect(c).toBeGreaterThanOrEqual(0);
  });
});

/** The hand-set model the trained default replaced, kept as a named baseline. */
describe('the heuristic baseline model', () => {
  const m = loadRiskModel(join(PACKAGE_ROOT, 'src', 'model', 'heuristic-baseline-v1.json'));

  it('is the heuristic baseline, and says so', () => {
    expect(m.id).toBe('heuristic-baseline-v1');
    expect(m.description).toMatch(/^Heuristic baseline, NOT a trained model/);
    expect(m.description).toMatch(/not calibrated crash probabilities/);
  });

  it('has the documented coefficients, one per feature, all raising risk', () => {
    expect(m.intercept).toBe(-4);
    expect(m.coefficients).toEqual({
      speed_std: 0.05,
      v85_over_limit: 0.04,
      headway_lt_1s_share: 1.5,
      headway_lt_2s_share: 0.5,
      sudden_slowdown: 0.04,
      occupancy: 2.0,
      precipitation: 0.15,
      freezing_precipitation: 1.0,
      low_visibility: 0.7,
      curvature: 0.4,
      night: 0.5,
      holiday: 0.2,
    });
    expect(Object.keys(m.coefficients).sort()).toEqual([...RISK_FEATURE_NAMES].sort());
  });

  it('scores a quiet straight road in daylight at sigmoid(−4) ≈ 1.8 %', () => {
    const s = m.score(zeros());
    expect(s.score).toBeCloseTo(1 / (1 + Math.exp(4)), 15);
    expect(s.score).toBeCloseTo(0.0179862, 6);
    expect(s.model).toBe('heuristic-baseline-v1');
    expect(Object.values(s.contributions).every((c) => c === 0)).toBe(true);
  });

  it('scores the hand-computed bad row: z = −4 + 6.75 = 2.75', () => {
    const s = m.score({
      speed_std: 12, // 0.6
      v85_over_limit: 20, // 0.8
      headway_lt_1s_share: 0.2, // 0.3
      headway_lt_2s_share: 0.5, // 0.25
      sudden_slowdown: 25, // 1.0
      occupancy: 0.15, // 0.3
      precipitation: 2, // 0.3
      freezing_precipitation: 1, // 1.0
      low_visibility: 1, // 0.7
      curvature: 2, // 0.8
      night: 1, // 0.5
      holiday: 1, // 0.2
    });
    const sum = Object.values(s.contributions).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(6.75, 12);
    expect(s.contributions.sudden_slowdown).toBeCloseTo(1.0, 12);
    expect(s.contributions.curvature).toBeCloseTo(0.8, 12);
    // 1 / (1 + e^−2.75) = 1 / 1.0639278612067076
    expect(s.score).toBeCloseTo(0.9399133498259924, 12);
  });
});

describe('RiskModel.score', () => {
  const m = riskModel({ id: 't', intercept: -1, features: { speed_std: 0.1, night: 0.5 } }, 'inline');

  it('score = 1/(1+exp(−(intercept + Σ coef·x))), contributions = coef·x', () => {
    const s = m.score({ speed_std: 10, night: 1, holiday: 1 }); // holiday is not in the model: ignored
    expect(s.contributions).toEqual({ speed_std: 1, night: 0.5 });
    // z = −1 + 1 + 0.5 = 0.5
    expect(s.score).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 15);
    expect(s.score).toBeCloseTo(0.6224593312018546, 12);
    expect(s.model).toBe('t');
  });

  it('a model with no features scores sigmoid(intercept)', () => {
    expect(riskModel({ id: 'c', intercept: 0, features: {} }, 'inline').score({}).score).toBe(0.5);
  });

  it('a missing or non-finite feature is a bug upstream: RangeError, not a silent 0', () => {
    expect(() => m.score({ speed_std: 1 })).toThrow('risk model t: feature night is undefined, expected a finite number');
    expect(() => m.score({ speed_std: Number.NaN, night: 0 })).toThrow(RangeError);
    expect(() => m.score({ speed_std: Infinity, night: 0 })).toThrow(RangeError);
  });

  it('property: the score lies in [0, 1], rises with a positive coefficient, and log-odds add up', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -5, max: 5, noNaN: true }),
        // |z| <= 10 keeps 1 − score far enough from rounding for the log-odds check.
        fc.double({ min: 0.01, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.double({ min: 0.01, max: 5, noNaN: true }),
        (intercept, coef, x, dx) => {
          const mm = riskModel({ id: 'p', intercept, features: { precipitation: coef } }, 'inline');
          const a = mm.score({ precipitation: x });
          const b = mm.score({ precipitation: x + dx });
          expect(a.score).toBeGreaterThan(0);
          expect(a.score).toBeLessThan(1);
          expect(b.score).toBeGreaterThan(a.score);
          expect(Math.log(a.score / (1 - a.score))).toBeCloseTo(intercept + coef * x, 6);
        },
      ),
    );
  });

  it('the model is frozen', () => {
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.coefficients)).toBe(true);
  });
});

describe('model validation', () => {
  it('an unknown feature names the file and the feature and lists the known ones', () => {
    const err = configError(() => riskModel({ id: 'x', intercept: 0, features: { speed_std: 1, rain_mm: 2 } }, 'my-model.json'));
    expect(err.field).toBe('--model');
    expect(err.message).toBe(
      `--model my-model.json: unknown feature "rain_mm" in features; fix: use only known features: ${KNOWN}`,
    );
  });

  const cases: Array<[string, unknown, string]> = [
    ['not an object', [], `--model m.json: (top level) Invalid input: expected object, received array; ${SHAPE_FIX}`],
    [
      'everything missing, all problems at once',
      {},
      `--model m.json: id must be a string; intercept must be a finite number; features must be an object {name: coefficient}; ${SHAPE_FIX}`,
    ],
    ['empty id', { id: '', intercept: 0, features: {} }, `--model m.json: id must not be empty; ${SHAPE_FIX}`],
    [
      'intercept as a string',
      { id: 'x', intercept: '-4', features: {} },
      `--model m.json: intercept must be a finite number; ${SHAPE_FIX}`,
    ],
    [
      'a coefficient as a string',
      { id: 'x', intercept: 0, features: { night: '0.5' } },
      `--model m.json: features.night must be a finite number (the coefficient); ${SHAPE_FIX}`,
    ],
    [
      'features as a list',
      { id: 'x', intercept: 0, features: ['night'] },
      `--model m.json: features must be an object {name: coefficient}; ${SHAPE_FIX}`,
    ],
    [
      'description not a string',
      { id: 'x', intercept: 0, features: {}, description: 3 },
      `--model m.json: description must be a string; ${SHAPE_FIX}`,
    ],
  ];
  for (const [name, json, message] of cases) {
    it(name, () => {
      expect(configError(() => riskModel(json, 'm.json')).message).toBe(message);
    });
  }

  it('extra top-level keys (provenance) are allowed', () => {
    const m = riskModel({ id: 'x', intercept: 0, features: {}, references: ['a paper'], notes: 'hi' }, 'm.json');
    expect(m.id).toBe('x');
    expect(m.description).toBe('');
  });
});

describe('loadRiskModel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saferoads-model-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a file', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ id: 'mine', description: 'd', intercept: -2, features: { night: 1 } }));
    const m = loadRiskModel(path);
    expect([m.id, m.description, m.intercept]).toEqual(['mine', 'd', -2]);
    expect(m.score({ night: 1 }).score).toBeCloseTo(1 / (1 + Math.exp(1)), 15);
  });

  it('a missing file', () => {
    const path = join(dir, 'nope.json');
    const err = configError(() => loadRiskModel(path, '--risk-model'));
    expect(err.field).toBe('--risk-model');
    expect(err.message).toBe(`--risk-model cannot read ${path} (ENOENT); fix: give the path of a readable model JSON file`);
  });

  it('invalid JSON names the file', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"id": "x", ');
    expect(configError(() => loadRiskModel(path)).message).toMatch(
      new RegExp(`^--model ${path} is not valid JSON: .+; fix: correct the JSON syntax$`),
    );
  });

  it('a coefficient of 1e999 (Infinity) is refused', () => {
    const path = join(dir, 'inf.json');
    writeFileSync(path, '{"id": "x", "intercept": 0, "features": {"night": 1e999}}');
    expect(configError(() => loadRiskModel(path)).message).toBe(
      `--model ${path}: features.night must be a finite number (the coefficient); ${SHAPE_FIX}`,
    );
  });

  it('an unknown feature in a file names that file', () => {
    const path = join(dir, 'unknown.json');
    writeFileSync(path, JSON.stringify({ id: 'x', intercept: 0, features: { nigth: 1 } }));
    expect(configError(() => loadRiskModel(path)).message).toBe(
      `--model ${path}: unknown feature "nigth" in features; fix: use only known features: ${KNOWN}`,
    );
  });
});
