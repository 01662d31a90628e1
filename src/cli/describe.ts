/**
 * One line a person can read per risk record (`run --print`, `demo`): local time with its zone, the
 * point, the score with a level word, what drove it in words, and what the loop saw.
 *
 *   14:05 CET  P0004     ELEVATED 0.41  sudden slow-down, dense traffic · 12 veh/min  23 km/h  -1.5 °C snow
 *
 * Levels are bands of the score (not calibrated crash probabilities: the score ranks conditions);
 * the defaults put free-flowing traffic in dry weather at LOW, a queue forming or snow at ELEVATED,
 * both together at HIGH.
 */
import { DEFAULT_RISK_LEVELS, riskLevel, type RiskLevels } from '../model/risk-levels.js';
import type { RiskRecord } from '../join/types.js';
import type { RiskFeatureName } from '../model/features.js';

export { DEFAULT_RISK_LEVELS, parseRiskLevels, riskLevel, type RiskLevel, type RiskLevels } from '../model/risk-levels.js';

/** Each model feature in words, for the reasons of a score. */
export const FEATURE_WORDS: Readonly<Record<RiskFeatureName, string>> = Object.freeze({
  speed_std: 'uneven speeds',
  v85_over_limit: 'speeding',
  headway_lt_1s_share: 'tailgating (gaps < 1 s)',
  headway_lt_2s_share: 'short gaps (< 2 s)',
  sudden_slowdown: 'sudden slow-down',
  occupancy: 'dense traffic',
  precipitation: 'rain or snow',
  freezing_precipitation: 'snow or rain at or below 0 °C',
  low_visibility: 'low visibility',
  curvature: 'curve',
  night: 'night',
  holiday: 'holiday traffic',
});

/** Contributions below this add too little to the score to name (logit units). */
const MIN_REASON_CONTRIBUTION = 0.2;
const MAX_REASONS = 3;

/**
 * The largest positive contributions in words, largest first (at most three). Freezing
 * precipitation says what precipitation says, and more: named, it stands for both.
 */
export function riskReasons(contributions: Readonly<Record<string, number>>): string[] {
  const freezing = (contributions.freezing_precipitation ?? 0) >= MIN_REASON_CONTRIBUTION;
  return Object.entries(contributions)
    .filter(([name, v]) => v >= MIN_REASON_CONTRIBUTION && !(freezing && name === 'precipitation'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_REASONS)
    .map(([name]) => FEATURE_WORDS[name as RiskFeatureName] ?? name.replace(/_/g, ' '));
}

/** Formats window ends as local "HH:MM ZONE" in one time zone (one formatter, reused). */
export class LocalClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
  }

  at(epochS: number): string {
    return this.format.format(new Date(epochS * 1000));
  }
}

/** The line before the first record: what the levels and reasons mean (a new user's first question). */
export function legend(levels: RiskLevels = DEFAULT_RISK_LEVELS): string {
  return (
    `risk: LOW < ${levels.elevated} <= ELEVATED < ${levels.high} <= HIGH; the score ranks conditions at a point ` +
    `(it is not a crash probability); after it, what raised it most, then vehicles/min, mean speed and weather of the last minute`
  );
}

export class RecordDescriber {
  private readonly clock: LocalClock;

  constructor(
    timeZone: string,
    private readonly levels: RiskLevels = DEFAULT_RISK_LEVELS,
  ) {
    this.clock = new LocalClock(timeZone);
  }

  describe(r: RiskRecord): string {
    const s = r.short;
    const level = riskLevel(r.risk.score, this.levels);
    const reasons = riskReasons(r.risk.contributions);
    const speed = s.mean_speed_kmh === null ? '  - km/h' : `${s.mean_speed_kmh.toFixed(0).padStart(3)} km/h`;
    const w = r.weather;
    const weather = w === null ? 'no weather' : `${w.temp.toFixed(1)} °C${w.snow > 0 ? ' snow' : w.rain > 0 ? ' rain' : ''}`;
    const line =
      `${this.clock.at(r.window_end)}  ${r.point_id.padEnd(9)} ${level.padEnd(8)} ${r.risk.score.toFixed(2)}  ` +
      `${reasons.length > 0 ? reasons.join(', ') : 'nothing notable'} · ${String(Math.round(s.flow_vph / 60)).padStart(3)} veh/min  ${speed}  ${weather}`;
    if (r.risk.reliable) return line;
    const flags = [...s.quality.flags.map((f) => `short ${f}`), ...r.long.quality.flags.map((f) => `long ${f}`)];
    return `${line}  IMPLAUSIBLE (${flags.join(', ')}): score unreliable`;
  }
}
