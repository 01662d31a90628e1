import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { RiskScore } from '../join/types.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { RiskLevels } from './risk-levels.js';
import { RISK_FEATURE_INDEX, RISK_FEATURE_NAMES, type RiskFeatureName } from './features.js';

/**
 * A logistic risk model loaded from JSON:
 *
 * ```json
 * { "id": "heuristic-baseline-v1", "description": "…", "intercept": -4,
 *   "features": { "speed_std": 0.05, "night": 0.5 } }
 * ```
 *
 * score = 1 / (1 + exp(−(intercept + Σ coef·x))) over the model's features; contributions are the
 * coef·x terms (log-odds), so an operator sees *why* a point scores high. Feature names must be ones
 * `riskFeatures` computes: a typo would otherwise silently score as 0 forever.
 *
 * Other top-level keys (e.g. `references`, `notes`) are allowed and ignored: model files carry
 * their provenance.
 */
export interface RiskModel {
  readonly id: string;
  readonly description: string;
  readonly intercept: number;
  /** Feature name → coefficient (log-odds per unit of the feature), in file order. */
  readonly coefficients: Readonly<Record<string, number>>;
  /**
   * The score bands LOW / ELEVATED / HIGH this model's scores are meant to be read with (its
   * file's `levels`; train writes them from the training data's score distribution); undefined:
   * none given (the readers' default, 0.3 and 0.6).
   */
  readonly levels?: RiskLevels;
  /** Scores one row's features; every feature of the model must be present and finite. */
  score(features: Readonly<Record<string, number>>): RiskScore;
}

/** A model as plain data (the file's shape): what crosses to the shard threads. */
export interface RiskModelJson {
  id: string;
  description: string;
  intercept: number;
  features: Record<string, number>;
}

/** `model` as plain data; riskModel(riskModelJson(m)) scores as `m` does. */
export function riskModelJson(model: RiskModel): RiskModelJson {
  return { id: model.id, description: model.description, intercept: model.intercept, features: { ...model.coefficients } };
}

/** Same id, intercept and coefficients in the same order: one model, whichever way it arrived. */
export function sameRiskModel(a: RiskModel, b: RiskModel): boolean {
  if (a === b) return true;
  if (a.id !== b.id || !Object.is(a.intercept, b.intercept)) return false;
  const x = Object.entries(a.coefficients);
  const y = Object.entries(b.coefficients);
  return x.length === y.length && x.every(([name, c], k) => name === y[k][0] && Object.is(c, y[k][1]));
}

/** The shipped model: src/model/default-model.json, read from the source tree (also when running dist/). */
export const DEFAULT_MODEL_PATH = join(PACKAGE_ROOT, 'src', 'model', 'default-model.json');

const ModelFile = z.looseObject({
  id: z.string('must be a string').min(1, 'must not be empty'),
  description: z.string('must be a string').optional(),
  intercept: z.number('must be a finite number'),
  features: z.record(z.string(), z.number('must be a finite number (the coefficient)'), 'must be an object {name: coefficient}'),
  levels: z
    .object({ elevated: z.number('must be a number'), high: z.number('must be a number') }, 'must be {"elevated": score, "high": score}')
    .refine((l) => l.elevated > 0 && l.high > l.elevated && l.high < 1, 'must have 0 < elevated < high < 1')
    .optional(),
});

/** Reads and validates a model file; every problem is a ConfigError naming `field` and the file. */
export function loadRiskModel(path: string, field = '--model'): RiskModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(field, `cannot read ${path} (${code}); fix: give the path of a readable model JSON file`, {
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(field, `${path} is not valid JSON: ${(e as Error).message}; fix: correct the JSON syntax`, {
      cause: e,
    });
  }
  return riskModel(json, path, field);
}

/** Validates a parsed model object; `source` names it in error messages. */
export function riskModel(json: unknown, source: string, field = '--model'): RiskModel {
  const parsed = ModelFile.safeParse(json);
  if (!parsed.success) {
    // All problems at once (one line), so a hand-edited file is fixed in one go.
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'} ${issue.message}`)
      .join('; ');
    throw new ConfigError(
      field,
      `${source}: ${problems}; fix: the model must be {"id": string, "intercept": number, "features": {name: number, …}}`,
    );
  }
  const m = parsed.data;
  const known = RISK_FEATURE_NAMES as readonly string[];
  for (const name of Object.keys(m.features)) {
    if (!known.includes(name)) {
      throw new ConfigError(
        field,
        `${source}: unknown feature ${JSON.stringify(name)} in features; fix: use only known features: ${known.join(', ')}`,
      );
    }
  }
  const terms = Object.entries(m.features);
  const intercept = m.intercept;
  const id = m.id;
  const model: RiskModel = Object.freeze({
    id,
    description: m.description ?? '',
    intercept,
    coefficients: Object.freeze({ ...m.features }),
    ...(m.levels === undefined ? {} : { levels: Object.freeze({ elevated: m.levels.elevated, high: m.levels.high }) }),
    score(features: Readonly<Record<string, number>>): RiskScore {
      let z = intercept;
      const contributions: Record<string, number> = {};
      for (const [name, coef] of terms) {
        const x = features[name];
        // riskFeatures always gives every feature as a finite number; anything else is a bug upstream,
        // and scoring it as 0 would hide it.
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          throw new RangeError(`risk model ${id}: feature ${name} is ${String(x)}, expected a finite number`);
        }
        const c = coef * x;
        contributions[name] = c;
        z += c;
      }
      return { score: 1 / (1 + Math.exp(-z)), model: id, contributions };
    },
  });
  LINEAR_TERMS.set(
    model,
    Object.freeze({
      id,
      intercept,
      names: Object.freeze(terms.map(([name]) => name as RiskFeatureName)),
      featureIndex: Int32Array.from(terms, ([name]) => RISK_FEATURE_INDEX[name as RiskFeatureName]),
      coefficients: Float64Array.from(terms, ([, coef]) => coef),
    }),
  );
  return model;
}

/**
 * The terms of a model made by riskModel, for scoring without objects (scoreLinearInto). In file
 * order: the order of `score`'s contributions.
 */
export interface LinearTerms {
  readonly id: string;
  readonly intercept: number;
  /** Feature names, in the order score() adds them (and lists them in `contributions`). */
  readonly names: readonly RiskFeatureName[];
  /** RISK_FEATURE_INDEX of each name. */
  readonly featureIndex: Int32Array;
  /** Coefficient of each name. */
  readonly coefficients: Float64Array;
}

const LINEAR_TERMS = new WeakMap<RiskModel, LinearTerms>();

/** The terms of `model` when riskModel (or loadRiskModel) made it; undefined for any other RiskModel. */
export function linearTerms(model: RiskModel): LinearTerms | undefined {
  return LINEAR_TERMS.get(model);
}

/**
 * `model.score` without objects: `features` holds every feature by RISK_FEATURE_INDEX (the layout
 * of riskFeaturesInto), `contributions[j]` receives the contribution of `terms.names[j]`. Returns
 * the score; the same numbers, bit for bit, and the same RangeError for a non-finite feature.
 */
export function scoreLinearInto(terms: LinearTerms, features: Float64Array, contributions: Float64Array): number {
  const { featureIndex, coefficients } = terms;
  let z = terms.intercept;
  for (let j = 0; j < featureIndex.length; j++) {
    const x = features[featureIndex[j]];
    if (!Number.isFinite(x)) {
      throw new RangeError(`risk model ${terms.id}: feature ${terms.names[j]} is ${String(x)}, expected a finite number`);
    }
    const c = coefficients[j] * x;
    contributions[j] = c;
    z += c;
  }
  return 1 / (1 + Math.exp(-z));
}
