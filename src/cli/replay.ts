/**
 * `saferoads replay FILE --topic T`: produces an NDJSON file (e.g. one written by
 * `saferoads generate --to files`) to a Kafka topic, line by line, streaming.
 *
 * Each line is produced as it is (value = the line's bytes), keyed by `point_id` when the record
 * has one (a loop event), else by `station` (a weather reading). Blank lines are skipped. A line
 * that is not a JSON object with a point_id (string or non-negative integer) or a string station is not produced: it is counted,
 * the first 10 are reported on stderr with their line numbers at the end, and the exit status is 1.
 * Configuration problems (flags, an unreadable FILE) stop before anything is produced (exit 2).
 */
import { canonicalPointId } from '../codec/seed-json.js';
import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import { ConfigError } from '../errors.js';
import type { OutgoingRecord } from '../kafka/client.js';
import { brokerList, defineCommand, helpText, integer, option, parseCommand, text } from './args.js';
import { connectKafka } from './generate.js';
import { checkSecurityNeedsBrokers, kafkaSecurityOf, SECURITY_OPTIONS } from './security.js';

export const REPLAY_COMMAND = defineCommand({
  name: 'replay',
  summary:
    'Produces an NDJSON file to a Kafka topic, keyed by point_id (loop events) or station (weather).\n' +
    'Lines that are not such JSON records are skipped and reported at the end (exit status 1).',
  positionals: [{ name: 'FILE', help: 'NDJSON file, one record per line', required: true }],
  options: {
    topic: option({ schema: text(), valueName: 'TOPIC', help: 'topic to produce to (required; created if missing)' }),
    brokers: option({
      schema: brokerList(),
      valueName: 'HOST:PORT,…',
      envAliases: ['KAFKA_BROKERS'],
      help: 'Kafka bootstrap servers; if unset, a local broker is started (and stopped, with its data, at the end)',
    }),
    batchSize: option({ schema: integer(1), default: 500, valueName: 'N', help: 'records per produce request' }),
    partitions: option({ schema: integer(1), default: 3, valueName: 'N', help: 'partitions of the topic when it is created' }),
    ...SECURITY_OPTIONS,
  },
  notes: 'Exit status: 0 all lines produced, 1 bad lines or a runtime failure, 2 bad configuration.',
});

/** How many bad lines are listed by number. */
export const BAD_LINES_LISTED = 10;

/** The key of one NDJSON line, or why it cannot be produced. */
export function keyOfLine(line: string): { key: string } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { error: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'not a JSON object' };
  const o = value as Record<string, unknown>;
  // An integer point_id (the seed's generator writes them) is keyed by its decimal form, as the
  // seed's producer does and as the service matches it.
  const pointId = canonicalPointId(o.point_id);
  if (pointId !== undefined) return { key: pointId };
  if (typeof o.station === 'string' && o.station !== '') return { key: o.station };
  return { error: 'has neither a point_id (loop event) nor a station (weather reading)' };
}

/** Runs `saferoads replay`; resolves to the exit status. Throws ConfigError for bad options. */
export async function replayCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const parsed = parseCommand(REPLAY_COMMAND, argv, env);
  if (parsed.help) {
    stdout(helpText(REPLAY_COMMAND).trimEnd());
    return 0;
  }
  const o = parsed.values;
  const file = parsed.positionals[0]!;
  if (o.topic === undefined) throw new ConfigError('--topic', 'is required (the topic to produce to)');
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new ConfigError('FILE', `must be a file (${file} is not)`);
    size = s.size;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError('FILE', `cannot be read: ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }

  const security = kafkaSecurityOf(o);
  checkSecurityNeedsBrokers(security, o.brokers !== undefined);
  const began = Date.now();
  const connection = await connectKafka(o.brokers, 'replay', stderr, security);
  let produced = 0;
  let badCount = 0;
  const bad: Array<{ line: number; error: string }> = [];
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: 'replay |{bar}| {percentage}% | {records} records | {bad} bad', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastReport = Date.now();
  try {
    await connection.client.ensureTopics([{ topic: o.topic, partitions: o.partitions }]);
    const producer = await connection.client.producer();
    try {
      const input = createReadStream(file);
      const lines = createInterface({ input, crlfDelay: Infinity });
      bar?.start(Math.max(size, 1), 0, { records: 0, bad: 0 });
      const progress = () => {
        if (bar) bar.update(Math.min(input.bytesRead, size), { records: produced, bad: badCount });
        else if (Date.now() - lastReport >= 5_000) {
          lastReport = Date.now();
          const pct = size > 0 ? Math.floor((100 * input.bytesRead) / size) : 100;
          stderr(`saferoads replay: ${produced} records produced, ${badCount} bad lines, ${pct}% of ${file}`);
        }
      };
      let batch: OutgoingRecord[] = [];
      let lineNo = 0;
      for await (const line of lines) {
        lineNo++;
        if (line.trim() === '') continue;
        const k = keyOfLine(line);
        if ('error' in k) {
          badCount++;
          if (bad.length < BAD_LINES_LISTED) bad.push({ line: lineNo, error: k.error });
          continue;
        }
        batch.push({ key: k.key, value: line });
        if (batch.length >= o.batchSize) {
          await producer.send(o.topic, batch);
          produced += batch.length;
          batch = [];
          progress();
        }
      }
      if (batch.length > 0) {
        await producer.send(o.topic, batch);
        produced += batch.length;
      }
      bar?.update(size, { records: produced, bad: badCount });
    } finally {
      bar?.stop();
      await producer.close();
    }
  } finally {
    await connection.close();
  }

  const seconds = (Date.now() - began) / 1000;
  stdout(`saferoads replay: ${produced} records from ${file} to ${o.topic} at ${connection.brokers.join(',')} in ${seconds.toFixed(1)} s${badCount > 0 ? `, ${badCount} bad lines skipped` : ''}`);
  if (badCount === 0) return 0;
  stderr(`saferoads replay: ${badCount} bad line${badCount === 1 ? '' : 's'} in ${file} (not produced)${badCount > bad.length ? `, the first ${bad.length}:` : ':'}`);
  for (const b of bad) stderr(`  ${file}:${b.line}: ${b.error}`);
  return 1;
}
