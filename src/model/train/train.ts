/**
 * `saferoads train` and `saferoads backtest` as library functions: labelled history rows in,
 * cross-validated metrics, a fitted model and the comparison with baselines out.
 *
 * Fitting: features standardised on the training rows (mean 0, sd 1; a feature constant there is
 * left out), L2-regularised logistic regression (logistic.ts), the result folded back into
 * coefficients per unit of each feature, so the model file has the existing shape and the live
 * scorer needs nothing new; the scaling is kept in the file for reference.
 */
import { RISK_FEATURE_INDEX, RISK_FEATURE_NAMES, type RiskFeatureName } from '../features.js';
import { linearTerms, scoreLinearInto, type RiskModel } from '../risk-model.js';
import { timeBlockedFolds, type Fold, type LabelledRows } from './dataset.js';
import { ROW_EXTRAS, type HistoryRows, type RowExtra } from './history.js';
import { fitLogistic, sigmoid } from './logistic.js';
import { calibration, rocCurve, scoreMetrics, spread, type CalibrationBin, type ScoreMetrics } from './metrics.js';

/** One input column of a fitted model: a feature, or a window statistic for a baseline. */
export interface ColumnDef {
  name: string;
  /** The value of history row r (NaN: unknown, imputed with the training mean). */
  value(h: HistoryRows, r: number): number;
  /** A model feature (part of a model file), or a baseline's own input. */
  feature?: RiskFeatureName;
}

export function featureColumn(name: RiskFeatureName): ColumnDef {
  const k = RISK_FEATURE_INDEX[name];
  const F = RISK_FEATURE_NAMES.length;
  return { name, feature: name, value: (h, r) => h.features[r * F + k] };
}

export function extraColumn(name: RowExtra, transform: (v: number) => number = (v) => v, label: string = name): ColumnDef {
  const k = ROW_EXTRAS.indexOf(name);
  const X = ROW_EXTRAS.length;
  return { name: label, value: (h, r) => transform(h.extras[r * X + k]) };
}

export interface Fitted {
  columns: ColumnDef[];
  /** Per column: used (non-constant on the training rows), mean and sd of the training rows, imputation. */
  used: boolean[];
  means: Float64Array;
  sds: Float64Array;
  /** Coefficients per standardised column (0 for unused). */
  standardized: Float64Array;
  /** Per unit of each column (0 for unused), and the matching intercept. */
  raw: Float64Array;
  intercept: number;
  iterations: number;
  converged: boolean;
  l2: number;
}

/** How fitted candidates are fitted. */
export interface FitSettings {
  /** Penalties to choose from (one: no choice). */
  l2: readonly number[];
  /** Coefficients >= 0 (every model feature is oriented so that larger means riskier). */
  nonNegative: boolean;
  /** Folds of the inner cross-validation that chooses the penalty. */
  innerFolds: number;
  blockS: number;
  embargoS: number;
}

/** Fits `columns` on the labelled rows at `positions`. */
export function fitColumns(
  h: HistoryRows,
  rows: LabelledRows,
  positions: Uint32Array,
  columns: ColumnDef[],
  l2: number,
  nonNegative = false,
): Fitted {
  const c = columns.length;
  const n = positions.length;
  const means = new Float64Array(c);
  const sds = new Float64Array(c);
  const used: boolean[] = [];
  for (let j = 0; j < c; j++) {
    let sum = 0;
    let finite = 0;
    for (let i = 0; i < n; i++) {
      const v = columns[j].value(h, rows.index[positions[i]]);
      if (Number.isFinite(v)) {
        sum += v;
        finite++;
      }
    }
    const mean = finite > 0 ? sum / finite : 0;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = columns[j].value(h, rows.index[positions[i]]);
      const d = (Number.isFinite(v) ? v : mean) - mean;
      ss += d * d;
    }
    means[j] = mean;
    sds[j] = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
    used.push(sds[j] > 1e-12 * Math.max(1, Math.abs(mean)));
  }
  const usedIdx = used.flatMap((u, j) => (u ? [j] : []));
  const u = usedIdx.length;
  const x = new Float64Array(n * u);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows.index[positions[i]];
    y[i] = rows.label[positions[i]];
    for (let q = 0; q < u; q++) {
      const j = usedIdx[q];
      const v = columns[j].value(h, r);
      x[i * u + q] = ((Number.isFinite(v) ? v : means[j]) - means[j]) / sds[j];
    }
  }
  const fit = fitLogistic(x, y, n, u, { l2, nonNegative });
  const standardized = new Float64Array(c);
  const raw = new Float64Array(c);
  let intercept = fit.intercept;
  usedIdx.forEach((j, q) => {
    standardized[j] = fit.coefficients[q];
    raw[j] = fit.coefficients[q] / sds[j];
    intercept -= raw[j] * means[j];
  });
  return { columns, used, means, sds, standardized, raw, intercept, iterations: fit.iterations, converged: fit.converged, l2 };
}

/** The labelled rows at `positions` as rows of their own (for an inner cross-validation). */
function subset(rows: LabelledRows, positions: Uint32Array): LabelledRows {
  const index = new Uint32Array(positions.length);
  const label = new Uint8Array(positions.length);
  let positives = 0;
  positions.forEach((k, i) => {
    index[i] = rows.index[k];
    label[i] = rows.label[k];
    positives += label[i];
  });
  return { index, label, positives, leftOut: rows.leftOut };
}

/**
 * The penalty among `s.l2` with the best mean ROC AUC in a time-blocked cross-validation of the
 * rows at `positions` alone (ties: the larger penalty). Nested inside a fold, the fold's test rows
 * never choose their own model. With too few blocks of time for the inner folds: the largest penalty.
 */
export function chooseL2(
  h: HistoryRows,
  rows: LabelledRows,
  positions: Uint32Array,
  columns: ColumnDef[],
  s: FitSettings,
  nonNegative: boolean,
): { l2: number; meanAuc: number[] } {
  const grid = [...s.l2].sort((a, b) => a - b);
  if (grid.length === 1) return { l2: grid[0], meanAuc: [NaN] };
  const inner = subset(rows, positions);
  let folds: Fold[];
  try {
    folds = timeBlockedFolds(h, inner, s.innerFolds, s.blockS, s.embargoS);
  } catch {
    return { l2: grid[grid.length - 1], meanAuc: grid.map(() => NaN) };
  }
  const meanAuc = grid.map((l2) => {
    const aucs: number[] = [];
    for (const fold of folds) {
      const f = fitColumns(h, inner, fold.train, columns, l2, nonNegative);
      const scores = new Float64Array(fold.test.length);
      const labels = new Uint8Array(fold.test.length);
      fold.test.forEach((k, i) => {
        scores[i] = predictFitted(f, h, inner.index[k]);
        labels[i] = inner.label[k];
      });
      aucs.push(scoreMetrics(scores, labels).rocAuc);
    }
    return spread(aucs).mean;
  });
  let best = grid.length - 1;
  for (let g = grid.length - 1; g >= 0; g--) if (meanAuc[g] > meanAuc[best]) best = g;
  return { l2: grid[best], meanAuc };
}

/** The probability a fitted model gives history row r. */
export function predictFitted(f: Fitted, h: HistoryRows, r: number): number {
  let z = f.intercept;
  for (let j = 0; j < f.columns.length; j++) {
    if (!f.used[j]) continue;
    const v = f.columns[j].value(h, r);
    z += f.raw[j] * (Number.isFinite(v) ? v : f.means[j]);
  }
  return sigmoid(z);
}

/** A scorer of history rows with a model file: the live score (scoreLinearInto), bit for bit. */
export function modelScorer(model: RiskModel): (h: HistoryRows, r: number) => number {
  const terms = linearTerms(model);
  if (terms === undefined) throw new RangeError(`model ${model.id} was not made by riskModel()`);
  const F = RISK_FEATURE_NAMES.length;
  const contributions = new Float64Array(terms.names.length);
  return (h, r) => scoreLinearInto(terms, h.features.subarray(r * F, (r + 1) * F), contributions);
}

export interface Candidate {
  name: string;
  /** Fitted per fold on its training rows… */
  columns?: ColumnDef[];
  /** …or scored as it is (a model file). */
  score?: (h: HistoryRows, r: number) => number;
  /** Overrides FitSettings.nonNegative (the unconstrained variant, for comparison). */
  nonNegative?: boolean;
  description: string;
}

export interface CandidateResult {
  name: string;
  description: string;
  perFold: ScoreMetrics[];
  rocAuc: ReturnType<typeof spread>;
  prAuc: ReturnType<typeof spread>;
  brier: ReturnType<typeof spread>;
  /** Over the out-of-fold predictions of every fold together. */
  pooled: ScoreMetrics;
  calibration: CalibrationBin[];
  roc: { fpr: number[]; tpr: number[] };
  /** Fitted candidates: the penalty chosen in each fold. */
  l2?: number[];
}

/**
 * Out-of-fold evaluation: a fitted candidate is fitted on each fold's training rows and scored on
 * its test rows; a fixed one is scored on the test rows. Same rows, same folds for every candidate.
 */
export function crossValidate(
  h: HistoryRows,
  rows: LabelledRows,
  folds: Fold[],
  candidates: Candidate[],
  /** How fitted candidates are fitted (unused when every candidate is a model file). */
  settings?: FitSettings,
): CandidateResult[] {
  return candidates.map((cand) => {
    const perFold: ScoreMetrics[] = [];
    const pooledScores: number[] = [];
    const pooledLabels: number[] = [];
    const chosen: number[] = [];
    if (cand.columns && settings === undefined) throw new RangeError(`candidate ${cand.name} is fitted: crossValidate needs FitSettings`);
    const nonNegative = cand.nonNegative ?? settings?.nonNegative ?? false;
    for (const fold of folds) {
      let fitted: Fitted | undefined;
      if (cand.columns && settings) {
        const { l2 } = chooseL2(h, rows, fold.train, cand.columns, settings, nonNegative);
        chosen.push(l2);
        fitted = fitColumns(h, rows, fold.train, cand.columns, l2, nonNegative);
      }
      const scores = new Float64Array(fold.test.length);
      const labels = new Uint8Array(fold.test.length);
      for (let i = 0; i < fold.test.length; i++) {
        const r = rows.index[fold.test[i]];
        scores[i] = fitted ? predictFitted(fitted, h, r) : cand.score!(h, r);
        labels[i] = rows.label[fold.test[i]];
        pooledScores.push(scores[i]);
        pooledLabels.push(labels[i]);
      }
      perFold.push(scoreMetrics(scores, labels));
    }
    const s = Float64Array.from(pooledScores);
    const y = Uint8Array.from(pooledLabels);
    return {
      name: cand.name,
      description: cand.description,
      perFold,
      rocAuc: spread(perFold.map((m) => m.rocAuc)),
      prAuc: spread(perFold.map((m) => m.prAuc)),
      brier: spread(perFold.map((m) => m.brier)),
      pooled: scoreMetrics(s, y),
      calibration: calibration(s, y, 10),
      roc: thin(rocCurve(s, y), 200),
      ...(cand.columns ? { l2: chosen } : {}),
    };
  });
}

/** At most `max` points of a curve (for reports), first and last kept. */
function thin(c: { fpr: number[]; tpr: number[] }, max: number): { fpr: number[]; tpr: number[] } {
  if (c.fpr.length <= max) return c;
  const fpr: number[] = [];
  const tpr: number[] = [];
  const step = (c.fpr.length - 1) / (max - 1);
  for (let k = 0; k < max; k++) {
    const i = Math.round(k * step);
    fpr.push(c.fpr[i]);
    tpr.push(c.tpr[i]);
  }
  return { fpr, tpr };
}

/** Every model feature as a column, in RISK_FEATURE_NAMES order. */
export function allFeatureColumns(): ColumnDef[] {
  return RISK_FEATURE_NAMES.map(featureColumn);
}

/** The baselines the issue names: mean speed alone and speed variance alone (fitted, one column each). */
export function baselineCandidates(): Candidate[] {
  return [
    {
      name: 'mean speed alone',
      description: 'logistic regression on the short-window mean speed (km/h) only; no vehicles: the training mean',
      columns: [extraColumn('short_mean_speed_kmh', (v) => v, 'short_mean_speed_kmh')],
      // Slower is riskier here: the sign is the fit's to find.
      nonNegative: false,
    },
    {
      name: 'speed variance alone',
      description: 'logistic regression on the long-window speed variance ((km/h)²) only; no vehicles: the training mean',
      columns: [extraColumn('long_speed_std_kmh', (v) => v * v, 'long_speed_variance')],
      nonNegative: false,
    },
  ];
}

export interface ModelFile {
  id: string;
  description: string;
  intercept: number;
  features: Record<string, number>;
  levels?: { elevated: number; high: number };
  scaling: Record<string, { mean: number; sd: number; standardized_coefficient: number }>;
  training: Record<string, unknown>;
}

/** The fitted model as a model file (src/model/risk-model.ts shape, plus scaling and metadata). */
export function modelFile(
  id: string,
  description: string,
  f: Fitted,
  training: Record<string, unknown>,
  levels?: { elevated: number; high: number },
): ModelFile {
  const features: Record<string, number> = {};
  const scaling: ModelFile['scaling'] = {};
  f.columns.forEach((c, j) => {
    if (!f.used[j] || c.feature === undefined) return;
    features[c.feature] = f.raw[j];
    scaling[c.feature] = { mean: f.means[j], sd: f.sds[j], standardized_coefficient: f.standardized[j] };
  });
  return { id, description, intercept: f.intercept, features, ...(levels ? { levels } : {}), scaling, training };
}

/** Shares of the training rows above the levels: ELEVATED the riskiest tenth, HIGH the riskiest fiftieth. */
export const LEVEL_SHARES = Object.freeze({ elevated: 0.1, high: 0.02 });

/**
 * Score bands for a fitted model (RiskModel.levels): the scores above which the riskiest
 * LEVEL_SHARES of its training rows lie, so that ELEVATED and HIGH mean the same share of minutes
 * whatever the scale of the model's scores. Rounded to 3 digits; undefined when the scores do not
 * separate (fewer than 3 distinct values above the median).
 */
export function levelsOf(f: Fitted, h: HistoryRows, rows: LabelledRows): { elevated: number; high: number } | undefined {
  const n = rows.index.length;
  const scores = new Float64Array(n);
  for (let k = 0; k < n; k++) scores[k] = predictFitted(f, h, rows.index[k]);
  scores.sort();
  const at = (share: number) => Math.round(scores[Math.min(n - 1, Math.floor((1 - share) * n))] * 1000) / 1000;
  const elevated = at(LEVEL_SHARES.elevated);
  const high = at(LEVEL_SHARES.high);
  return elevated > 0 && high > elevated && high < 1 ? { elevated, high } : undefined;
}
