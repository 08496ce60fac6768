/**
 * L2-regularised logistic regression, trained in-app (the built-in change-risk baseline).
 *
 * Matches scikit-learn's LogisticRegression(penalty='l2', C) objective: minimise
 * ½‖w‖² + C·Σ log-loss, intercept not penalised. Features are standardised with the *training*
 * rows' mean and standard deviation (optionally after log1p), the point-in-time way: a replay
 * could not know the statistics of rows that had not happened yet. Solved by Newton's method,
 * which for a dozen features converges to machine precision in a few iterations.
 */

export interface LogisticModel {
  kind: 'logistic';
  features: string[];
  log1p: boolean;
  mean: number[];
  scale: number[];
  /** Weights on standardised features. */
  coef: number[];
  intercept: number;
  C: number;
  iterations: number;
}

export interface TrainOptions {
  C?: number;
  log1p?: boolean;
  maxIterations?: number;
}

function transform(value: number, log1p: boolean): number {
  return log1p ? Math.sign(value) * Math.log1p(Math.abs(value)) : value;
}

/** @param rows row-major feature values, one array per training row */
export function trainLogistic(features: string[], rows: readonly (readonly number[])[], labels: readonly number[], options: TrainOptions = {}): LogisticModel {
  const C = options.C ?? 1;
  const log1p = options.log1p ?? false;
  const n = rows.length;
  const d = features.length;
  if (n === 0) throw new Error('no training rows');
  if (labels.length !== n) throw new Error('one label per row is needed');
  const positives = labels.reduce((a, b) => a + b, 0);
  if (positives === 0 || positives === n) throw new Error(`the training rows have only ${positives === 0 ? 'negative' : 'positive'} outcomes; a classifier needs both`);
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of rows) for (let j = 0; j < d; j++) mean[j]! += transform(row[j]!, log1p) / n;
  for (const row of rows) for (let j = 0; j < d; j++) scale[j]! += (transform(row[j]!, log1p) - mean[j]!) ** 2 / n;
  // A constant feature carries no information; scale 1 keeps it at 0 instead of dividing by zero (as sklearn's StandardScaler).
  for (let j = 0; j < d; j++) scale[j] = scale[j]! > 0 ? Math.sqrt(scale[j]!) : 1;
  const X = new Float64Array(n * (d + 1));
  for (let i = 0; i < n; i++) {
    X[i * (d + 1)] = 1;
    for (let j = 0; j < d; j++) X[i * (d + 1) + j + 1] = (transform(rows[i]![j]!, log1p) - mean[j]!) / scale[j]!;
  }
  const k = d + 1;
  const w = new Float64Array(k);
  let iterations = 0;
  for (; iterations < (options.maxIterations ?? 100); iterations++) {
    const grad = new Float64Array(k);
    const hess = new Float64Array(k * k);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < k; j++) z += X[i * k + j]! * w[j]!;
      const p = 1 / (1 + Math.exp(-z));
      const r = C * (p - labels[i]!);
      const h = C * p * (1 - p);
      for (let a = 0; a < k; a++) {
        const xa = X[i * k + a]!;
        grad[a]! += r * xa;
        for (let b = a; b < k; b++) hess[a * k + b]! += h * xa * X[i * k + b]!;
      }
    }
    for (let a = 1; a < k; a++) {
      grad[a]! += w[a]!;
      hess[a * k + a]! += 1;
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) hess[a * k + b] = hess[b * k + a]!;
    const step = solve(hess, grad, k);
    let change = 0;
    for (let j = 0; j < k; j++) {
      w[j]! -= step[j]!;
      change = Math.max(change, Math.abs(step[j]!));
    }
    if (change < 1e-10) {
      iterations++;
      break;
    }
  }
  return { kind: 'logistic', features: [...features], log1p, mean, scale, coef: Array.from(w.subarray(1)), intercept: w[0]!, C, iterations };
}

/** Solves A x = b for a symmetric positive definite A (Cholesky). */
function solve(A: Float64Array, b: Float64Array, k: number): Float64Array {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * k + j]!;
      for (let m = 0; m < j; m++) sum -= L[i * k + m]! * L[j * k + m]!;
      if (i === j) {
        if (sum <= 0) throw new Error('the training problem is singular; are two features identical?');
        L[i * k + i] = Math.sqrt(sum);
      } else L[i * k + j] = sum / L[j * k + j]!;
    }
  }
  const y = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let sum = b[i]!;
    for (let m = 0; m < i; m++) sum -= L[i * k + m]! * y[m]!;
    y[i] = sum / L[i * k + i]!;
  }
  const x = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let m = i + 1; m < k; m++) sum -= L[m * k + i]! * x[m]!;
    x[i] = sum / L[i * k + i]!;
  }
  return x;
}

/** Log-odds of one row; the probability is its logistic. */
export function logit(model: LogisticModel, row: readonly number[]): number {
  let z = model.intercept;
  for (let j = 0; j < model.features.length; j++) z += model.coef[j]! * ((transform(row[j]!, model.log1p) - model.mean[j]!) / model.scale[j]!);
  return z;
}

export function predictLogistic(model: LogisticModel, row: readonly number[]): number {
  return 1 / (1 + Math.exp(-logit(model, row)));
}

/**
 * Exact additive explanation of one score: each feature's contribution to the log-odds against
 * the reference row, mapped to probability space so that they sum exactly to
 * score(x) − score(reference). The mapping spreads the non-linearity of the sigmoid over the
 * features in proportion to their log-odds contributions.
 */
export function explainLogistic(model: LogisticModel, row: readonly number[], reference: readonly number[]): { feature: string; value: number; contribution: number }[] {
  const zx = logit(model, row);
  const zr = logit(model, reference);
  const px = 1 / (1 + Math.exp(-zx));
  const pr = 1 / (1 + Math.exp(-zr));
  const parts = model.features.map((_, j) => model.coef[j]! * ((transform(row[j]!, model.log1p) - transform(reference[j]!, model.log1p)) / model.scale[j]!));
  const dz = zx - zr;
  return model.features.map((feature, j) => ({
    feature,
    value: row[j]!,
    contribution: dz === 0 ? 0 : (parts[j]! / dz) * (px - pr),
  }));
}
