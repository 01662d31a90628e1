/**
 * The service's configuration, checked and loaded before anything connects: options resolved and
 * validated (options.ts), the window spec, the road points, the models and the calendar. Every
 * mistake is a ConfigError (exit 2).
 */
import { CalendarResolver } from '../join/calendar.js';
import { windowSpec, type WindowSpec } from '../kernel/window-spec.js';
import { DEFAULT_RISK_LEVELS } from '../model/risk-levels.js';
import { loadRiskModel, type RiskModel } from '../model/risk-model.js';
import { loadRoadPoints, type RoadPointTable } from '../road/points.js';
import { resolveServiceOptions, type ServiceOptions } from './options.js';

export type ServiceInput = Partial<ServiceOptions> & Pick<ServiceOptions, 'pointsPath'>;

/** Configuration checked and loaded (points, model, calendar), before anything connects. */
export interface PreparedService {
  options: Readonly<ServiceOptions>;
  spec: WindowSpec;
  points: RoadPointTable;
  model: RiskModel;
  /** `--shadow-model`: scored beside the active model (risk.shadow); null: none. */
  shadowModel: RiskModel | null;
  calendar: CalendarResolver;
}

/** Validates every option and loads the files; throws ConfigError (exit 2) for any mistake. */
export function prepareService(input: ServiceInput): PreparedService {
  const resolved = resolveServiceOptions(input);
  const spec = windowSpec(resolved.windows, '--');
  const model = loadRiskModel(resolved.modelPath, '--model');
  // Score bands: given, else the ones the model was made to be read with, else the default.
  const options = { ...resolved, riskLevels: input.riskLevels ?? model.levels ?? DEFAULT_RISK_LEVELS };
  return {
    options,
    spec,
    points: loadRoadPoints(options.pointsPath, '--points'),
    model,
    shadowModel: options.shadowModelPath === undefined ? null : loadRiskModel(options.shadowModelPath, '--shadow-model'),
    calendar: new CalendarResolver({ timeZone: options.timeZone, holidays: options.holidays, startOffsetS: spec.shortS }, '--'),
  };
}
