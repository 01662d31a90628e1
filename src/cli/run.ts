/**
 * `saferoads run`: the streaming service. Flags, or SAFEROADS_* variables, or defaults; every
 * configuration mistake stops it before it connects, with one line and exit status 2.
 */
import { DEFAULT_WINDOW_SPEC_OPTIONS } from '../kernel/window-spec.js';
import { DEFAULT_MODEL_PATH } from '../model/risk-model.js';
import { type PreparedService, prepareService, SaferoadsService } from '../service/service.js';
import { DEFAULT_SERVICE_OPTIONS, defaultShards } from '../service/options.js';
import { ConfigError } from '../errors.js';
import { connectKafka } from './generate.js';
import { legend, parseRiskLevels, RecordDescriber } from './describe.js';
import { PARTITIONERS } from '../kafka/client.js';
import { DEFAULT_HTTP_ADDRESS, formatAddress, parseListenAddress } from '../observe/http.js';
import { Observability } from '../observe/observability.js';
import { brokerList, choice, defineCommand, flag, helpText, holidaysOption, integer, option, parseCommand, text } from './args.js';
import { checkSecurityNeedsBrokers, kafkaSecurityOf, SECURITY_OPTIONS } from './security.js';
import { cliLogger, LOG_OPTIONS } from './logging.js';
import { Shutdown } from './shutdown.js';
import { kafkaLogging, lineLog } from '../observe/log.js';

const d = DEFAULT_SERVICE_OPTIONS;
const w = DEFAULT_WINDOW_SPEC_OPTIONS;

export const RUN_COMMAND = defineCommand({
  name: 'run',
  summary:
    'Runs the streaming service: loop events (car) and weather in, one risk record per road point and\n' +
    'window end out (road-risk), bad records to the dead-letter topics. Ctrl-C stops it gracefully.',
  options: {
    brokers: option({
      schema: brokerList(),
      valueName: 'HOST:PORT,…',
      envAliases: ['KAFKA_BROKERS'],
      help: 'Kafka bootstrap servers; if unset, a local broker is started (for trying it out)',
    }),
    points: option({ schema: text(), valueName: 'FILE', help: 'road-points CSV: point_id,nearest_weather_station,road_shape,allowed_speed (required)' }),
    model: option({ schema: text(), default: DEFAULT_MODEL_PATH, valueName: 'FILE', help: 'risk model JSON; a change of the file while running takes over at the next window end' }),
    shadowModel: option({
      schema: text(),
      valueName: 'FILE',
      help: 'a second risk model JSON scored beside the active one (risk.shadow in every row; level disagreements counted in /metrics), watched like --model',
    }),
    modelsTopic: option({
      schema: text(),
      default: d.modelsTopic,
      valueName: 'TOPIC',
      help: 'compacted control topic of models (key active or shadow, value a model JSON), read whole by every instance; refused records go to TOPIC.dlq',
    }),
    shards: option({ schema: integer(1, 256), default: defaultShards(), valueName: 'N', help: 'worker threads, each reading whole partitions of the car topic with its own WASM kernel (use at least as many partitions)' }),
    groupId: option({ schema: text(), default: d.groupId, valueName: 'ID', help: 'consumer group of the car topic' }),
    carTopic: option({ schema: text(), default: d.carTopic, valueName: 'TOPIC', help: 'loop events (seed JSON or FlatBuffers LoopEventBatch)' }),
    weatherTopic: option({ schema: text(), default: d.weatherTopic, valueName: 'TOPIC', help: 'weather readings (read whole by every instance)' }),
    outputTopic: option({ schema: text(), default: d.outputTopic, valueName: 'TOPIC', help: 'risk records' }),
    carDlqTopic: option({ schema: text(), default: d.carDlqTopic, valueName: 'TOPIC', help: 'dead letters of the car topic' }),
    weatherDlqTopic: option({ schema: text(), default: d.weatherDlqTopic, valueName: 'TOPIC', help: 'dead letters of the weather topic' }),
    commitInterval: option({ schema: integer(0), default: d.commitIntervalMs, valueName: 'MS', help: 'commit offsets at most this often (after their outputs are acknowledged)' }),
    partitioner: option({
      schema: choice(PARTITIONERS),
      default: d.partitioner,
      valueName: 'murmur2|crc32',
      help: "your producers' partitioner (Java/kafkajs: murmur2; librdkafka clients such as Python confluent-kafka or kcat: crc32)",
    }),
    sessionTimeout: option({ schema: integer(1000), default: d.sessionTimeoutMs, valueName: 'MS', help: 'an instance killed outright loses its partitions to the group after' }),
    maxBrokerOutage: option({
      schema: integer(1),
      default: d.maxOutageMs / 1000,
      valueName: 'S',
      help: 'Kafka unreachable this long (seconds): exit 1 (retried meanwhile; the first connection gives up after 30 s or this)',
    }),
    partitions: option({ schema: integer(1), default: d.inputPartitions, valueName: 'N', help: 'partitions of car and road-risk when saferoads creates them' }),
    advance: option({ schema: integer(1), default: w.advanceS, valueName: 'S', help: 'hop between window ends, seconds' }),
    shortWindow: option({ schema: integer(1), default: w.shortS, valueName: 'S', help: 'short window, seconds (multiple of --advance)' }),
    longWindow: option({ schema: integer(1), default: w.longS, valueName: 'S', help: 'long window, seconds (multiple of --advance)' }),
    grace: option({ schema: integer(0), default: w.graceS, valueName: 'S', help: 'lateness allowed behind the largest event time, seconds' }),
    maxSkew: option({ schema: integer(0), default: w.maxSkewS, valueName: 'S', help: 'events further ahead of the wall clock are refused, seconds' }),
    idleTimeout: option({ schema: integer(1), default: w.idleTimeoutS, valueName: 'S', help: 'a silent partition stops holding the watermark after, seconds' }),
    timeZone: option({ schema: text(), default: d.timeZone, valueName: 'TZ', help: 'time zone of the calendar (weekday, hour, holiday)' }),
    holidays: option({ schema: text(), default: d.holidays, valueName: 'CC|DATES', help: 'public holidays: country code, or YYYY-MM-DD,… dates' }),
    print: flag('print every risk record on stdout (one line each: local time, level, score, reasons)'),
    riskLevels: option({
      schema: text(),
      default: 'model',
      valueName: 'ELEVATED,HIGH',
      help: 'scores from which --print and the dashboard call a record ELEVATED and HIGH (below: LOW); the shadow comparison counts rows whose two scores differ in these levels; model: the levels in the --model file (a trained model has them), else 0.3,0.6',
    }),
    http: option({
      schema: text(),
      default: DEFAULT_HTTP_ADDRESS,
      valueName: 'HOST:PORT|off',
      help: 'serve /metrics (Prometheus), /livez, /readyz and the dashboard API (/events, /api/*) here; 0.0.0.0:9464 exposes it beyond this host',
    }),
    untilEnd: flag('a finite replay: read every partition to its end offset as of start, close every window up to the last event, commit, exit 0'),
    ...SECURITY_OPTIONS,
    ...LOG_OPTIONS,
  },
});

/** Option names the library layers report (windowSpec, CalendarResolver with prefix --) → this command's flags. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = Object.freeze({
  '--advanceS': '--advance',
  '--shortS': '--short-window',
  '--longS': '--long-window',
  '--graceS': '--grace',
  '--maxSkewS': '--max-skew',
  '--idleTimeoutS': '--idle-timeout',
  '--timeZone': '--time-zone',
});

/** Re-labels a ConfigError of a library layer with the flags the user typed (in its text too). */
function withFlagNames(error: unknown): unknown {
  if (!(error instanceof ConfigError)) return error;
  const flagName = FLAG_OF_FIELD[error.field];
  if (flagName === undefined) return error;
  let text = error.message.slice(error.field.length + 1);
  for (const [field, flag] of Object.entries(FLAG_OF_FIELD)) text = text.split(field).join(flag);
  return new ConfigError(flagName, text, { cause: error });
}

/** Runs the service until SIGINT/SIGTERM; resolves to the exit status. */
export async function runCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommand(RUN_COMMAND, argv, env);
  if (parsed.help) {
    process.stdout.write(helpText(RUN_COMMAND));
    return 0;
  }
  const o = parsed.values;
  if (o.points === undefined) {
    throw new ConfigError('--points', 'is required: the road-points CSV (point_id,nearest_weather_station,road_shape,allowed_speed)');
  }
  const logger = cliLogger(o.logLevel);
  const log = lineLog(logger);
  // TLS and SASL files are read now: a missing one stops the service before anything starts (exit 2).
  const security = kafkaSecurityOf(o);
  checkSecurityNeedsBrokers(security, o.brokers !== undefined);
  const httpFlag = parsed.sources.http === 'env' ? 'SAFEROADS_HTTP' : '--http';
  const http = parseListenAddress(o.http, httpFlag);
  // `model`: the bands the active model's file gives (a trained model's), else the default.
  const givenLevels = o.riskLevels === 'model' ? undefined : parseRiskLevels(o.riskLevels);
  // Made once prepareService has checked --time-zone (an unknown zone is a ConfigError there).
  let describer: RecordDescriber | undefined;
  let prepared: PreparedService;
  try {
    prepared = prepareService({
      pointsPath: o.points,
      modelPath: o.model,
      shadowModelPath: o.shadowModel,
      modelsTopic: o.modelsTopic,
      riskLevels: givenLevels,
      shards: o.shards,
      groupId: o.groupId,
      carTopic: o.carTopic,
      weatherTopic: o.weatherTopic,
      outputTopic: o.outputTopic,
      carDlqTopic: o.carDlqTopic,
      weatherDlqTopic: o.weatherDlqTopic,
      inputPartitions: o.partitions,
      commitIntervalMs: o.commitInterval,
      sessionTimeoutMs: o.sessionTimeout,
      maxOutageMs: o.maxBrokerOutage * 1000,
      untilEnd: o.untilEnd,
      partitioner: o.partitioner,
      windows: { advanceS: o.advance, shortS: o.shortWindow, longS: o.longWindow, graceS: o.grace, maxSkewS: o.maxSkew, idleTimeoutS: o.idleTimeout },
      timeZone: o.timeZone,
      holidays: holidaysOption(o.holidays),
      onRecord: o.print
        ? (r) => {
            // The first record comes with the legend: what the levels and reasons mean.
            const levels = prepared.options.riskLevels;
            if (describer === undefined) process.stdout.write(`${legend(levels)}\n`);
            process.stdout.write(`${(describer ??= new RecordDescriber(o.timeZone, levels)).describe(r)}\n`);
          }
        : undefined,
      log: logger,
      onError: (e) => logger.error({}, e instanceof Error ? e.message : String(e)),
    });
  } catch (error) {
    throw withFlagNames(error);
  }
  // Listen before anything starts: a SIGTERM during start-up (a supervisor, a rolling restart)
  // stops the service gracefully once it is up, instead of killing the process mid-way.
  // The first signal also cancels a local broker that is still starting (nothing of it is left).
  const shutdown = new Shutdown(log);
  const signalled = shutdown.requested;
  const ownKafkaLog = kafkaLogging(logger);
  void signalled.then(() => ownKafkaLog.quiet());
  // Before connecting: a port in use stops the program at once (exit 2), and /readyz says "starting"
  // while the broker, the weather catch-up and the first assignment take their time.
  const observability = http === null ? undefined : await Observability.start(http, { flag: httpFlag });
  if (observability) log(`saferoads run: dashboard on http://${formatAddress(observability.address)}/ (and /metrics, /livez, /readyz, /events, /api/now)`);
  const kafka = await shutdown.startStep(connectKafka(o.brokers, 'run', log, security, { signal: shutdown.signal, logging: ownKafkaLog }), async () => observability?.close());
  if (kafka === undefined) {
    log('saferoads run: stopped during start-up');
    return 0;
  }
  let service: SaferoadsService | undefined;
  try {
    service = await SaferoadsService.start({ ...prepared, options: { ...prepared.options, brokers: [...kafka.brokers], security, observer: observability } });
    log(`saferoads run: consuming ${o.carTopic} + ${o.weatherTopic} → ${o.outputTopic} with ${o.shards} shard(s); Ctrl-C stops`);
    const running = service;
    const failure = await Promise.race([signalled.then(() => undefined), running.finished, running.failed.catch((error: unknown) => error)]);
    log(failure === undefined ? 'saferoads run: stopping (finishing the batch in hand, committing)…' : 'saferoads run: stopping after a failure');
    await running.stop();
    const s = running.stats;
    const mismatches = s.partitionerMismatches > 0 ? `, ${s.partitionerMismatches} points on another partition than --partitioner puts them` : '';
    const summary = { carRecords: s.carRecords, riskRecords: s.rowsOut, implausible: s.implausibleRows, deadLetters: s.deadLetters, partitionerMismatches: s.partitionerMismatches };
    logger.info(summary, `stopped; ${s.carRecords} car records, ${s.rowsOut} risk records (${s.implausibleRows} implausible: risk.reliable false), ${s.deadLetters} dead letters${mismatches}`);
    if (failure !== undefined) throw failure;
    return 0;
  } finally {
    await service?.stop().catch(() => undefined);
    await kafka.close();
    await observability?.close();
    shutdown.dispose();
  }
}
