/**
 * `saferoads train`: learns a risk model from labelled history.
 *
 *   saferoads train --events car.ndjson.gz --weather weather.ndjson --points points.csv \
 *     --labels labels.csv --horizon 10 --out model.json
 *
 * History goes through the service's own decoder, WASM window kernel and join (model/train/
 * history.ts); each (point, window end) row is labelled by whether an incident follows at the point
 * within the horizon; an L2-regularised logistic regression is evaluated by time-blocked
 * cross-validation next to the baselines (mean speed alone, speed variance alone, the shipped model
 * and any --baseline-model), then fitted on every row and written as a model file `run --model`
 * reads. The report goes to stdout, as JSON next to the model (--report) and as HTML (--html).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../errors.js';
import { CalendarResolver } from '../join/calendar.js';
import { windowSpec, type WindowSpec } from '../kernel/window-spec.js';
import { DEFAULT_MODEL_PATH, loadRiskModel, riskModel, type RiskModel } from '../model/risk-model.js';
import { labelRows, timeBlockedFolds, type Fold, type LabelledRows } from '../model/train/dataset.js';
import { fileSource, historyRows, type HistoryRows, type HistorySource } from '../model/train/history.js';
import { topicSource } from '../model/train/topic-source.js';
import { loadLabels, type Labels } from '../model/train/labels.js';
import { formatReport, reportHtml, type Report } from '../model/train/report.js';
import {
  allFeatureColumns,
  baselineCandidates,
  chooseL2,
  crossValidate,
  fitColumns,
  LEVEL_SHARES,
  levelsOf,
  modelFile,
  modelScorer,
  type Candidate,
  type FitSettings,
} from '../model/train/train.js';
import { loadRoadPoints, type RoadPointTable } from '../road/points.js';
import { brokerList, choice, commaList, defineCommand, holidaysOption, helpText, integer, option, parseCommand, text, type OptionValues } from './args.js';
import { connectKafka, type KafkaConnection } from './generate.js';
import { kafkaSecurityOf, SECURITY_OPTIONS } from './security.js';

/** The data options train and backtest share. */
export const HISTORY_OPTIONS = {
  events: option({ schema: text(), valueName: 'FILE', help: 'loop events, seed JSON, one per line (NDJSON; .gz is read gunzipped); or --car-topic' }),
  weather: option({ schema: text(), valueName: 'FILE', help: 'weather readings NDJSON (without it and --weather-topic every row has no weather)' }),
  carTopic: option({ schema: text(), valueName: 'TOPIC', help: 'read the loop events from this topic instead (all it holds now; needs --brokers)' }),
  weatherTopic: option({ schema: text(), valueName: 'TOPIC', help: 'read the weather from this topic instead (needs --brokers)' }),
  brokers: option({ schema: brokerList(), valueName: 'HOST:PORT,…', envAliases: ['KAFKA_BROKERS'], help: 'Kafka bootstrap servers of --car-topic / --weather-topic' }),
  from: option({ schema: text(), valueName: 'TIME', help: 'only events at or after this event time (ISO 8601, e.g. 2026-03-02T00:00Z, or epoch seconds)' }),
  to: option({ schema: text(), valueName: 'TIME', help: 'only events before this event time (ISO 8601 or epoch seconds)' }),
  points: option({ schema: text(), valueName: 'FILE', help: 'road-points CSV, as run --points (required)' }),
  labels: option({ schema: text(), valueName: 'FILE', help: 'incidents CSV point_id,timestamp[,kind] (epoch seconds) (required)' }),
  labelKinds: option({ schema: text(), valueName: 'KIND,…', help: 'use only labels of these kinds (third column)' }),
  horizon: option({ schema: integer(1, 24 * 60), default: 10, valueName: 'MIN', help: 'a row is positive when an incident follows within this many minutes' }),
  folds: option({ schema: integer(2, 100), default: 5, valueName: 'K', help: 'time-blocked cross-validation folds' }),
  foldBy: option({
    schema: choice(['auto', 'hour', 'day'] as const),
    default: 'auto' as 'auto' | 'hour' | 'day',
    valueName: 'auto|hour|day',
    help: 'block of time no fold splits (auto: day when the data has at least 2 days per fold, else hour)',
  }),
  timeZone: option({ schema: text(), default: 'Europe/Warsaw', valueName: 'TZ', help: 'time zone of the calendar features (night, holiday), as run --time-zone' }),
  holidays: option({ schema: text(), default: 'PL', valueName: 'CC|DATES', help: 'public holidays, as run --holidays' }),
  html: option({ schema: text(), valueName: 'FILE', help: 'also write the report as an HTML page (ROC curves, calibration)' }),
  ...SECURITY_OPTIONS,
};

export const TRAIN_COMMAND = defineCommand({
  name: 'train',
  summary:
    'Fits a logistic risk model on labelled history (the service\'s own windows and join, in batch),\n' +
    'with time-blocked cross-validation and baselines, and writes a model file for run --model.',
  options: {
    ...HISTORY_OPTIONS,
    l2: option({
      schema: text(),
      default: '0.1,1,10,100,1000',
      valueName: 'X[,Y…]',
      help: 'L2 penalties on the standardized coefficients; of several, each fold picks one by an inner time-blocked cross-validation of its training rows',
    }),
    coefficients: option({
      schema: choice(['nonnegative', 'free'] as const),
      default: 'nonnegative' as 'nonnegative' | 'free',
      valueName: 'nonnegative|free',
      help: 'nonnegative: every feature can only add risk, as the features are defined (the free fit is reported beside it)',
    }),
    id: option({ schema: text(), valueName: 'ID', help: 'model id (default: trained-<date>)' }),
    description: option({
      schema: text(),
      valueName: 'TEXT',
      help: 'model description (default: what it was trained on and its metrics); {roc_auc}, {pr_auc}, {folds}, {l2} are replaced by the cross-validated figures',
    }),
    out: option({ schema: text(), default: 'model.json', valueName: 'FILE', help: 'where the model goes' }),
    report: option({ schema: text(), valueName: 'FILE', help: 'the report as JSON (default: the model file name with .report.json)' }),
    baselineModel: option({ schema: text(), valueName: 'FILE,…', help: 'more model files to compare with (the shipped model always is)' }),
  },
  notes: 'Exit status: 0 trained, 1 a runtime failure, 2 bad options or input files.',
});

/** The parsed data options of train / backtest. */
export interface HistoryInputs {
  points: RoadPointTable;
  pointsPath: string;
  events: HistorySource;
  weather?: HistorySource;
  fromS?: number;
  toS?: number;
  /** The Kafka connection of topic sources (close it when done). */
  connection?: KafkaConnection;
  labelsPath: string;
  labels: Labels;
  spec: WindowSpec;
  calendar: CalendarResolver;
  horizonS: number;
  folds: number;
  foldBy: 'auto' | 'hour' | 'day';
}

type HistoryValues = Parameters<typeof kafkaSecurityOf>[0] & {
  events?: string;
  weather?: string;
  carTopic?: string;
  weatherTopic?: string;
  brokers?: string[];
  from?: string;
  to?: string;
  points?: string;
  labels?: string;
  labelKinds?: string;
  horizon: number;
  folds: number;
  foldBy: 'auto' | 'hour' | 'day';
  timeZone: string;
  holidays: string;
};

function readableFile(flag: string, path: string | undefined, what: string): string {
  if (path === undefined) throw new ConfigError(flag, `is required (${what})`);
  try {
    if (!statSync(path).isFile()) throw new ConfigError(flag, `${path} is not a file; fix: give ${what}`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(flag, `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); fix: give ${what}`);
  }
  return path;
}

/** A time option: ISO 8601 or epoch seconds → epoch seconds. */
function timeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Date.parse(value) / 1000;
  if (!Number.isFinite(n)) throw new ConfigError(flag, `${JSON.stringify(value)} is not a time; fix: ISO 8601 (2026-03-02T06:00Z) or epoch seconds`);
  return n;
}

/**
 * Checks the data options and reads the small files (points, labels); the big inputs are streamed
 * later. Connects to Kafka when a topic is the source (the caller closes `connection`).
 */
export async function historyInputs(o: HistoryValues, log: (line: string) => void): Promise<HistoryInputs> {
  if (o.events !== undefined && o.carTopic !== undefined) throw new ConfigError('--car-topic', 'and --events both name the loop events; fix: give one');
  if (o.weather !== undefined && o.weatherTopic !== undefined) throw new ConfigError('--weather-topic', 'and --weather both name the weather; fix: give one');
  if (o.events === undefined && o.carTopic === undefined) throw new ConfigError('--events', 'is required (the loop events NDJSON), or --car-topic with --brokers');
  const topics = o.carTopic !== undefined || o.weatherTopic !== undefined;
  if (topics && o.brokers === undefined) throw new ConfigError('--brokers', 'is required with --car-topic / --weather-topic (the cluster that holds them)');
  const eventsPath = o.events === undefined ? undefined : readableFile('--events', o.events, 'the loop events NDJSON');
  const weatherPath = o.weather === undefined ? undefined : readableFile('--weather', o.weather, 'the weather NDJSON');
  const pointsPath = readableFile('--points', o.points, 'the road-points CSV');
  const labelsPath = readableFile('--labels', o.labels, 'the incidents CSV point_id,timestamp[,kind]');
  const fromS = timeOption('--from', o.from);
  const toS = timeOption('--to', o.to);
  if (fromS !== undefined && toS !== undefined && !(fromS < toS)) throw new ConfigError('--to', `must be after --from (${o.from} … ${o.to})`);
  const points = loadRoadPoints(pointsPath);
  const kinds = o.labelKinds === undefined ? undefined : commaList(o.labelKinds);
  const labels = loadLabels(labelsPath, points, kinds);
  const spec = windowSpec();
  const holidays = holidaysOption(o.holidays);
  const calendar = new CalendarResolver({ timeZone: o.timeZone, holidays, startOffsetS: spec.shortS }, '--');
  const connection = topics ? await connectKafka(o.brokers, 'train', log, kafkaSecurityOf(o)) : undefined;
  const fromTopic = (topic: string) => topicSource(connection!.client, topic, connection!.brokers);
  return {
    points,
    pointsPath,
    events: eventsPath !== undefined ? fileSource(eventsPath) : fromTopic(o.carTopic!),
    weather: weatherPath !== undefined ? fileSource(weatherPath) : o.weatherTopic !== undefined ? fromTopic(o.weatherTopic) : undefined,
    fromS,
    toS,
    connection,
    labelsPath,
    labels,
    spec,
    calendar,
    horizonS: o.horizon * 60,
    folds: o.folds,
    foldBy: o.foldBy,
  };
}

export interface PreparedHistory {
  h: HistoryRows;
  rows: LabelledRows;
  folds: Fold[];
  foldBy: 'hour' | 'day';
  embargoS: number;
}

/** Reads the history, labels the rows and cuts the folds. */
export async function prepareHistory(i: HistoryInputs, model: RiskModel, log: (line: string) => void): Promise<PreparedHistory> {
  const h = await historyRows({ events: i.events, weather: i.weather, fromS: i.fromS, toS: i.toS, points: i.points, spec: i.spec, calendar: i.calendar, model, log });
  if (h.events === 0) throw new ConfigError('--events', `${i.events.name} has no loop event of a point in ${i.pointsPath}${i.fromS !== undefined || i.toS !== undefined ? ' in the period --from … --to' : ''}`);
  const rows = labelRows(h, i.labels, i.spec, { horizonS: i.horizonS });
  if (rows.index.length === 0) throw new ConfigError('--events', `no row to learn from: the history (${h.count} rows) is shorter than the warm-up (${i.spec.longS} s) plus the horizon`);
  if (rows.positives === 0) throw new ConfigError('--labels', `no row is followed by an incident within ${i.horizonS / 60} min: check the labels' point ids and times against the events`);
  const days = (h.lastEventS - h.firstEventS) / 86_400;
  const foldBy = i.foldBy === 'auto' ? (days >= 2 * i.folds ? 'day' : 'hour') : i.foldBy;
  const embargoS = i.horizonS + i.spec.longS;
  let folds: Fold[];
  try {
    folds = timeBlockedFolds(h, rows, i.folds, foldBy === 'day' ? 86_400 : 3_600, embargoS);
  } catch (e) {
    throw new ConfigError('--folds', `${(e as Error).message}; fix: fewer --folds or --fold-by hour`);
  }
  return { h, rows, folds, foldBy, embargoS };
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

export function reportBase(command: 'train' | 'backtest', i: HistoryInputs, p: PreparedHistory, fit?: Report['settings']['fit']): Omit<Report, 'models'> {
  const { h, rows, folds } = p;
  return {
    command,
    createdAt: new Date().toISOString(),
    data: {
      events: h.events,
      eventsPath: i.events.name,
      weatherPath: i.weather?.name ?? null,
      labelsPath: i.labelsPath,
      pointsPath: i.pointsPath,
      firstEvent: iso(h.firstEventS),
      lastEvent: iso(h.lastEventS),
      historyRows: h.count,
      rows: rows.index.length,
      positives: rows.positives,
      baseRate: rows.positives / rows.index.length,
      leftOut: rows.leftOut,
      refusedEvents: h.refused,
      badLines: { events: h.badLines.events.count, weather: h.badLines.weather.count },
      labels: { total: i.labels.total, kinds: i.labels.kinds, unknownPoints: i.labels.unknownPoints },
    },
    settings: { horizonMin: i.horizonS / 60, folds: folds.length, foldBy: p.foldBy, embargoMin: p.embargoS / 60, ...(fit === undefined ? {} : { fit }) },
    folds: folds.map((f) => {
      let pos = 0;
      for (const k of f.test) pos += rows.label[k];
      return { from: iso(f.fromS), to: iso(f.toS), testRows: f.test.length, testPositives: pos, trainRows: f.train.length, embargoed: f.embargoed };
    }),
  };
}

/** Problems in the input worth a line on stderr (they do not stop the run). */
export function inputWarnings(h: HistoryRows, labels: Labels, log: (line: string) => void): void {
  for (const [what, bad] of [['events', h.badLines.events], ['weather', h.badLines.weather]] as const) {
    if (bad.count === 0) continue;
    log(`warning: ${bad.count} bad ${what} lines skipped (${bad.first.map((b) => `line ${b.line}: ${b.detail}`).join('; ')}${bad.count > bad.first.length ? '; …' : ''})`);
  }
  const refused = Object.entries(h.refused);
  if (refused.length > 0) log(`warning: events refused by the kernel: ${refused.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (labels.unknownPoints > 0) log(`warning: ${labels.unknownPoints} labels name points that are not in the road-points table (not used)`);
}

/** `--l2`: one penalty or a comma-separated list, each a finite number >= 0. */
function penalties(text: string): number[] {
  const list = commaList(text).map(Number);
  if (list.length === 0 || list.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new ConfigError('--l2', `must be a number >= 0 or a comma-separated list of them (got ${JSON.stringify(text)})`);
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

/** Models by id, the first of each (the same file given twice, or --baseline-model naming the shipped one). */
function uniqueModels(models: RiskModel[]): RiskModel[] {
  const seen = new Set<string>();
  return models.filter((m) => !seen.has(m.id) && (seen.add(m.id), true));
}

/** The first sentence of a description (up to the first period or semicolon; at most 160 characters), for tables. */
export function firstSentence(text: string): string {
  const m = /^(.*?[.;])(\s|$)/.exec(text);
  const sentence = m ? m[1] : text;
  return sentence.length <= 160 ? sentence : `${sentence.slice(0, 159)}…`;
}

/** Model files of a comma-separated option value; `default` names the shipped model. */
export function fileModels(list: string | undefined, flag: string): RiskModel[] {
  if (list === undefined) return [];
  return commaList(list).map((path) => loadRiskModel(path === 'default' ? DEFAULT_MODEL_PATH : path, flag));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A file input's digest (what exactly a model was trained on); nothing for a topic. */
function fileDigest(path: string | undefined): { sha256?: string } {
  return path === undefined ? {} : { sha256: sha256(path) };
}

/** Runs `saferoads train`; resolves to the exit status. Throws ConfigError for bad options. */
export async function trainCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const parsed = parseCommand(TRAIN_COMMAND, argv, env);
  if (parsed.help) {
    stdout(helpText(TRAIN_COMMAND).trimEnd());
    return 0;
  }
  const o = parsed.values;
  const l2 = penalties(o.l2);
  const shipped = loadRiskModel(DEFAULT_MODEL_PATH, 'the shipped model');
  const baselines = fileModels(o.baselineModel, '--baseline-model');
  const inputs = await historyInputs(o, stderr);
  try {
    return await train(argv, o, l2, inputs, shipped, baselines, stdout, stderr);
  } finally {
    await inputs.connection?.close();
  }
}

async function train(
  argv: readonly string[],
  o: OptionValues<typeof TRAIN_COMMAND.options>,
  l2: number[],
  inputs: HistoryInputs,
  shipped: RiskModel,
  baselines: RiskModel[],
  stdout: (line: string) => void,
  stderr: (line: string) => void,
): Promise<number> {
  const began = Date.now();
  stderr(`saferoads train: reading ${inputs.events.name}…`);
  const p = await prepareHistory(inputs, shipped, (line) => stderr(line));
  inputWarnings(p.h, inputs.labels, stderr);

  const id = o.id ?? `trained-${new Date().toISOString().slice(0, 10)}`;
  const nonNegative = o.coefficients === 'nonnegative';
  const settings: FitSettings = { l2, nonNegative, innerFolds: Math.min(o.folds, 4), blockS: p.foldBy === 'day' ? 86_400 : 3_600, embargoS: p.embargoS };
  const what = `logistic regression on the model features, L2 chosen from ${l2.join(', ')}`;
  const candidates: Candidate[] = [
    { name: 'trained (all features)', description: `${what}${nonNegative ? ', coefficients >= 0' : ''}`, columns: allFeatureColumns() },
    ...(nonNegative ? [{ name: 'trained, coefficients free', description: `${what}, coefficients of either sign`, columns: allFeatureColumns(), nonNegative: false }] : []),
    ...baselineCandidates(),
    // A model of the id being trained is an earlier fit of these very rows: not a baseline.
    ...uniqueModels([shipped, ...baselines]).filter((m) => m.id !== id).map((m) => ({
      name: `model ${m.id}`,
      description: `the model file as it is${m.description ? `: ${firstSentence(m.description)}` : ''}`,
      score: modelScorer(m),
    })),
  ];
  const results = crossValidate(p.h, p.rows, p.folds, candidates, settings);

  // The model itself: every labelled row, the penalty chosen the same way over all of them.
  const all = Uint32Array.from({ length: p.rows.index.length }, (_, k) => k);
  const chosen = chooseL2(p.h, p.rows, all, allFeatureColumns(), { ...settings, innerFolds: o.folds }, nonNegative);
  const fitted = fitColumns(p.h, p.rows, all, allFeatureColumns(), chosen.l2, nonNegative);
  if (!fitted.converged) stderr(`warning: the final fit did not converge in ${fitted.iterations} iterations`);
  const fit = { l2, coefficients: o.coefficients, finalL2: chosen.l2 };
  const levels = levelsOf(fitted, p.h, p.rows);
  const base = reportBase('train', inputs, p, fit);
  const cv = results[0];
  const figures: Record<string, string> = {
    roc_auc: `${cv.rocAuc.mean.toFixed(3)} ± ${cv.rocAuc.sd.toFixed(3)}`,
    pr_auc: `${cv.prAuc.mean.toFixed(3)} ± ${cv.prAuc.sd.toFixed(3)}`,
    folds: `${p.folds.length} folds by ${p.foldBy}`,
    l2: String(chosen.l2),
  };
  const description =
    o.description?.replace(/\{(roc_auc|pr_auc|folds|l2)\}/g, (_, k: string) => figures[k]) ??
    `Logistic regression trained by saferoads train on ${basename(inputs.events.name)} (${base.data.firstEvent} → ${base.data.lastEvent}), ` +
      `labels ${basename(inputs.labelsPath)}: an incident within ${o.horizon} min. Cross-validated ROC AUC ${cv.rocAuc.mean.toFixed(3)} ± ${cv.rocAuc.sd.toFixed(3)} ` +
      `(${p.folds.length} folds by ${p.foldBy}). Scores rank risk as the labels define it; they are calibrated to the training data's base rate only.`;
  const file = modelFile(id, description, fitted, {
    trainedAt: base.createdAt,
    // As given (relative paths stay relative): `saferoads train` with these reproduces the model.
    argv: [...argv],
    data: {
      events: { source: inputs.events.name, ...fileDigest(o.events), count: p.h.events },
      weather: inputs.weather ? { source: inputs.weather.name, ...fileDigest(o.weather) } : null,
      labels: { path: inputs.labelsPath, sha256: sha256(inputs.labelsPath), used: inputs.labels.total, kinds: inputs.labels.kinds },
      points: inputs.pointsPath,
      period: [base.data.firstEvent, base.data.lastEvent],
      periodOptions: { from: o.from ?? null, to: o.to ?? null },
      rows: base.data.rows,
      positives: base.data.positives,
    },
    horizonMin: o.horizon,
    l2: chosen.l2,
    l2ChosenFrom: l2,
    coefficientsConstraint: o.coefficients,
    // The features depend on these: a model is meant for a service run with the same.
    windows: { advanceS: inputs.spec.advanceS, shortS: inputs.spec.shortS, longS: inputs.spec.longS, graceS: inputs.spec.graceS },
    calendar: { timeZone: o.timeZone, holidays: o.holidays },
    crossValidation: {
      folds: p.folds.length,
      foldBy: p.foldBy,
      embargoMin: p.embargoS / 60,
      rocAuc: cv.rocAuc,
      prAuc: cv.prAuc,
      baselines: Object.fromEntries(results.slice(1).map((r) => [r.name, { rocAuc: r.rocAuc.mean, prAuc: r.prAuc.mean }])),
    },
    unusedFeatures: fitted.columns.filter((_, j) => !fitted.used[j]).map((c) => c.name),
  }, levels);
  // What is written must load: the same validation as run --model.
  riskModel(JSON.parse(JSON.stringify(file)), 'the trained model', '--out');
  const report: Report = {
    ...base,
    models: results,
    model: { id, path: o.out },
    coefficients: fitted.columns.flatMap((c, j) =>
      fitted.used[j] ? [{ feature: c.name, perUnit: fitted.raw[j], standardized: fitted.standardized[j], mean: fitted.means[j], sd: fitted.sds[j] }] : [],
    ),
  };
  writeFileSync(o.out, `${JSON.stringify(file, null, 2)}\n`);
  const reportPath = o.report ?? o.out.replace(/\.json$/, '') + '.report.json';
  writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  if (o.html !== undefined) writeFileSync(o.html, reportHtml(report));
  stdout(formatReport(report));
  stdout('');
  const unused = file.training.unusedFeatures as string[];
  if (unused.length > 0) stdout(`constant in the data, left out of the model: ${unused.join(', ')}`);
  if (levels) stdout(`levels (run --print, the dashboard): ELEVATED from ${levels.elevated} (the riskiest ${100 * LEVEL_SHARES.elevated} % of the training minutes), HIGH from ${levels.high} (${100 * LEVEL_SHARES.high} %)`);
  stdout(`model ${id} → ${o.out}; report → ${reportPath}${o.html ? `, ${o.html}` : ''} (${((Date.now() - began) / 1000).toFixed(1)} s)`);
  return 0;
}
