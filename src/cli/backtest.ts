/**
 * `saferoads backtest`: scores labelled history with one or more model files and prints their
 * metrics side by side (ROC AUC, PR AUC, Brier per time block with the spread, calibration), as
 * text, JSON (--json) and an HTML page with ROC and calibration plots (--html).
 *
 *   saferoads backtest --events car.ndjson.gz --weather weather.ndjson --points points.csv \
 *     --labels labels.csv --models src/model/default-model.json,model.json
 *
 * Rows and scores are the live service's: the same windows and join as train (model/train/
 * history.ts), and each model scores as `run --model` would (scoreLinearInto).
 */
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { formatReport, reportHtml, type Report } from '../model/train/report.js';
import { crossValidate, modelScorer } from '../model/train/train.js';
import { defineCommand, helpText, option, parseCommand, text } from './args.js';
import { fileModels, firstSentence, HISTORY_OPTIONS, historyInputs, inputWarnings, prepareHistory, reportBase } from './train.js';

export const BACKTEST_COMMAND = defineCommand({
  name: 'backtest',
  summary: 'Scores labelled history with model files and prints their metrics side by side.',
  options: {
    ...HISTORY_OPTIONS,
    models: option({ schema: text(), valueName: 'FILE,…', help: 'model files to score with (required; "default" = the shipped model)' }),
    json: option({ schema: text(), valueName: 'FILE', help: 'also write the report as JSON' }),
  },
  notes: 'The folds of backtest are only blocks of time for the spread of the metrics: nothing is fitted.\nExit status: 0 ok, 1 a runtime failure, 2 bad options or input files.',
});

export async function backtestCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const parsed = parseCommand(BACKTEST_COMMAND, argv, env);
  if (parsed.help) {
    stdout(helpText(BACKTEST_COMMAND).trimEnd());
    return 0;
  }
  const o = parsed.values;
  if (o.models === undefined) throw new ConfigError('--models', 'is required (model files to score with, comma-separated; "default" = the shipped model)');
  const models = fileModels(o.models, '--models');
  if (models.length === 0) throw new ConfigError('--models', 'names no model file');
  const inputs = await historyInputs(o, stderr);
  try {
    const began = Date.now();
    stderr(`saferoads backtest: reading ${inputs.events.name}…`);
    const p = await prepareHistory(inputs, models[0], (line) => stderr(line));
    inputWarnings(p.h, inputs.labels, stderr);
    const results = crossValidate(
      p.h,
      p.rows,
      p.folds,
      models.map((m) => ({ name: m.id, description: firstSentence(m.description) || 'no description', score: modelScorer(m) })),
    );
    const report: Report = { ...reportBase('backtest', inputs, p), models: results };
    if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
    if (o.html !== undefined) writeFileSync(o.html, reportHtml(report));
    stdout(formatReport(report));
    stdout('');
    stdout(`${models.length} model(s) scored on ${report.data.rows.toLocaleString('en')} rows (${((Date.now() - began) / 1000).toFixed(1)} s)${o.json ? `; JSON → ${o.json}` : ''}${o.html ? `; HTML → ${o.html}` : ''}`);
    return 0;
  } finally {
    await inputs.connection?.close();
  }
}
