/**
 * Score bands a person reads (LOW / ELEVATED / HIGH): `run --print`, the dashboard, and the shadow
 * comparison (how often two models put a row in different bands). Bands, not calibrated crash
 * probabilities: the score ranks conditions.
 */
import { ConfigError } from '../errors.js';

/** Score bands: elevated from `elevated`, high from `high` (0 < elevated < high < 1). */
export interface RiskLevels {
  readonly elevated: number;
  readonly high: number;
}

export const DEFAULT_RISK_LEVELS: RiskLevels = Object.freeze({ elevated: 0.3, high: 0.6 });

export type RiskLevel = 'LOW' | 'ELEVATED' | 'HIGH';

/** Parses `--risk-levels ELEVATED,HIGH` (e.g. `0.3,0.6`). */
export function parseRiskLevels(text: string, flag = '--risk-levels'): RiskLevels {
  const parts = text.split(',').map((p) => Number(p.trim()));
  const [elevated, high] = parts;
  if (parts.length !== 2 || !(elevated > 0) || !(high > elevated) || !(high < 1)) {
    throw new ConfigError(flag, `must be two scores ELEVATED,HIGH with 0 < ELEVATED < HIGH < 1, e.g. 0.3,0.6 (got "${text}")`);
  }
  return Object.freeze({ elevated, high });
}

export function riskLevel(score: number, levels: RiskLevels = DEFAULT_RISK_LEVELS): RiskLevel {
  if (score >= levels.high) return 'HIGH';
  if (score >= levels.elevated) return 'ELEVATED';
  return 'LOW';
}
