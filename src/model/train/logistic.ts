/**
 * L2-regularised logistic regression by Newton's method (iteratively reweighted least squares).
 *
 * Why a small solver of our own rather than a library: the models here have at most a dozen
 * features, where Newton converges in a handful of iterations to the exact optimum (a 13 × 13
 * Cholesky per step), deterministically and without tuning a learning rate; the npm numeric
 * libraries with logistic regression fit by plain gradient descent with a fixed step and stop after
 * a fixed number of iterations. The solver is tested against the optimality conditions (gradient
 * zero at the result) and against data with known coefficients (test/model/train/logistic.test.ts).
 *
 * Objective, for rows x_i (already scaled), labels y_i ∈ {0, 1} and weights w_i (1 by default):
 *
 *   minimise  Σ w_i · [log(1 + exp(z_i)) − y_i · z_i] + (l2 / 2) · Σ_j β_j²,   z_i = β_0 + Σ_j β_j x_ij
 *
 * The intercept β_0 is not penalised.
 */

export interface LogisticFit {
  intercept: number;
  /** One coefficient per column of X. */
  coefficients: Float64Array;
  iterations: number;
  converged: boolean;
  /** The objective at the result (penalised negative log-likelihood). */
  objective: number;
}

export interface LogisticOptions {
  l2: number;
  maxIterations?: number;
  /** Stop when no parameter moves more than this in a step. */
  tolerance?: number;
  /** Per-row weights (default 1). */
  weights?: Float64Array;
  /**
   * Coefficients (not the intercept) constrained to be >= 0: for features oriented so that larger
   * means riskier. Solved by an active set: fit the free columns, drop the most negative, and take
   * back an excluded column whose gradient says a positive coefficient would lower the objective,
   * until neither applies (the optimality conditions of the bound-constrained problem).
   */
  nonNegative?: boolean;
}

/** log(1 + exp(z)) without overflow. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Fits the model to `rows` rows of `x` (row-major, `cols` values a row) and labels `y`.
 * Throws RangeError for a non-finite value in x or l2 < 0.
 */
export function fitLogistic(x: Float64Array, y: Uint8Array, rows: number, cols: number, options: LogisticOptions): LogisticFit {
  if (!options.nonNegative) return fitUnconstrained(x, y, rows, cols, options);
  const free = Array.from({ length: cols }, (_, j) => j);
  const excluded: number[] = [];
  let result: LogisticFit | undefined;
  let totalIterations = 0;
  for (let round = 0; round < 4 * cols + 4; round++) {
    const sub = new Float64Array(rows * free.length);
    for (let i = 0; i < rows; i++) for (let q = 0; q < free.length; q++) sub[i * free.length + q] = x[i * cols + free[q]];
    const fit = fitUnconstrained(sub, y, rows, free.length, options);
    totalIterations += fit.iterations;
    const coefficients = new Float64Array(cols);
    free.forEach((j, q) => (coefficients[j] = fit.coefficients[q]));
    result = { ...fit, coefficients, iterations: totalIterations };
    // The most negative free coefficient leaves the set.
    let worst = -1;
    for (let q = 0; q < free.length; q++) if (fit.coefficients[q] < 0 && (worst < 0 || fit.coefficients[q] < fit.coefficients[worst])) worst = q;
    if (worst >= 0) {
      excluded.push(free[worst]);
      free.splice(worst, 1);
      continue;
    }
    // An excluded column comes back when a positive coefficient would lower the objective.
    const g = logisticGradient(x, y, rows, cols, options.l2, result.intercept, coefficients, options.weights);
    let back = -1;
    for (let e = 0; e < excluded.length; e++) if (g[excluded[e] + 1] < -1e-9 * rows && (back < 0 || g[excluded[e] + 1] < g[excluded[back] + 1])) back = e;
    if (back < 0) return result;
    free.push(excluded[back]);
    free.sort((a, b) => a - b);
    excluded.splice(back, 1);
  }
  return { ...result!, converged: false };
}

function fitUnconstrained(x: Float64Array, y: Uint8Array, rows: number, cols: number, options: LogisticOptions): LogisticFit {
  const { l2 } = options;
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new RangeError(`l2 must be a finite number >= 0 (got ${l2})`);
  if (x.length < rows * cols || y.length < rows) throw new RangeError('x or y is shorter than rows × cols');
  for (let i = 0; i < rows * cols; i++) if (!Number.isFinite(x[i])) throw new RangeError(`x[${i}] is ${x[i]}: every value must be finite`);
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-9;
  const weights = options.weights;
  const p = cols + 1;
  // Parameters: [β_0, β_1 … β_cols].
  const beta = new Float64Array(p);
  const gradient = new Float64Array(p);
  const hessian = new Float64Array(p * p);
  const step = new Float64Array(p);
  const trial = new Float64Array(p);
  // Start at the intercept that fits the base rate: fewer steps, and no step from far away.
  let positives = 0;
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const w = weights ? weights[i] : 1;
    positives += w * y[i];
    total += w;
  }
  const rate = Math.min(Math.max(positives / Math.max(total, 1e-300), 1e-6), 1 - 1e-6);
  beta[0] = Math.log(rate / (1 - rate));

  const objectiveAt = (b: Float64Array): number => {
    let f = 0;
    for (let i = 0; i < rows; i++) {
      let z = b[0];
      const at = i * cols;
      for (let j = 0; j < cols; j++) z += b[j + 1] * x[at + j];
      f += (weights ? weights[i] : 1) * (softplus(z) - y[i] * z);
    }
    let penalty = 0;
    for (let j = 1; j < p; j++) penalty += b[j] * b[j];
    return f + (l2 / 2) * penalty;
  };

  let objective = objectiveAt(beta);
  let iterations = 0;
  let converged = false;
  const xi = new Float64Array(p);
  while (iterations < maxIterations) {
    iterations++;
    gradient.fill(0);
    hessian.fill(0);
    for (let i = 0; i < rows; i++) {
      const at = i * cols;
      xi[0] = 1;
      for (let j = 0; j < cols; j++) xi[j + 1] = x[at + j];
      let z = 0;
      for (let j = 0; j < p; j++) z += beta[j] * xi[j];
      const mu = sigmoid(z);
      const w = weights ? weights[i] : 1;
      const r = w * (mu - y[i]);
      const v = w * mu * (1 - mu);
      for (let j = 0; j < p; j++) {
        gradient[j] += r * xi[j];
        const vj = v * xi[j];
        // Lower triangle only; mirrored below.
        for (let k = 0; k <= j; k++) hessian[j * p + k] += vj * xi[k];
      }
    }
    for (let j = 1; j < p; j++) {
      gradient[j] += l2 * beta[j];
      hessian[j * p + j] += l2;
    }
    // A tiny ridge on the diagonal keeps the system solvable when l2 = 0 and a column is constant.
    for (let j = 0; j < p; j++) hessian[j * p + j] += 1e-12 * (1 + hessian[j * p + j]);
    solveSymmetric(hessian, gradient, step, p);
    // Damped Newton: halve the step until the objective does not rise (it rarely needs to).
    let t = 1;
    let next = objective;
    for (let halvings = 0; halvings < 30; halvings++) {
      for (let j = 0; j < p; j++) trial[j] = beta[j] - t * step[j];
      next = objectiveAt(trial);
      if (next <= objective + 1e-12 * Math.abs(objective)) break;
      t /= 2;
    }
    let moved = 0;
    for (let j = 0; j < p; j++) {
      moved = Math.max(moved, Math.abs(trial[j] - beta[j]));
      beta[j] = trial[j];
    }
    objective = next;
    if (moved < tolerance) {
      converged = true;
      break;
    }
  }
  return { intercept: beta[0], coefficients: beta.slice(1), iterations, converged, objective };
}

/**
 * Solves A·s = b for a symmetric positive definite A given by its lower triangle (row-major p × p),
 * by Cholesky. A is overwritten.
 */
export function solveSymmetric(a: Float64Array, b: Float64Array, out: Float64Array, p: number): void {
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j];
    for (let k = 0; k < j; k++) d -= a[j * p + k] * a[j * p + k];
    if (!(d > 0)) throw new RangeError('the Newton system is not positive definite (a constant or duplicated feature with l2 = 0?)');
    const l = Math.sqrt(d);
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j];
      for (let k = 0; k < j; k++) s -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = s / l;
    }
  }
  // L·u = b, then Lᵀ·s = u.
  for (let i = 0; i < p; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= a[i * p + k] * out[k];
    out[i] = s / a[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = out[i];
    for (let k = i + 1; k < p; k++) s -= a[k * p + i] * out[k];
    out[i] = s / a[i * p + i];
  }
}

/** Gradient of the objective at (intercept, coefficients): zero at the optimum (tests, diagnostics). */
export function logisticGradient(
  x: Float64Array,
  y: Uint8Array,
  rows: number,
  cols: number,
  l2: number,
  intercept: number,
  coefficients: Float64Array,
  weights?: Float64Array,
): Float64Array {
  const g = new Float64Array(cols + 1);
  for (let i = 0; i < rows; i++) {
    let z = intercept;
    const at = i * cols;
    for (let j = 0; j < cols; j++) z += coefficients[j] * x[at + j];
    const r = (weights ? weights[i] : 1) * (sigmoid(z) - y[i]);
    g[0] += r;
    for (let j = 0; j < cols; j++) g[j + 1] += r * x[at + j];
  }
  for (let j = 0; j < cols; j++) g[j + 1] += l2 * coefficients[j];
  return g;
}
