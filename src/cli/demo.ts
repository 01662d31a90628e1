/**
 * `saferoads demo` (what `npm start` runs): the whole product on one machine. Starts the project's
 * own Kafka broker (unless KAFKA_BROKERS names one), generates road points, backfills twelve minutes
 * of traffic and weather, keeps generating in real time, and runs the service printing every risk
 * score as it is published. Ctrl-C stops it all and removes the local broker's data.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { acquireCluster } from '../kafka/cluster.js';
import { PACKAGE_ROOT } from '../paths.js';
import { DEFAULT_SERVICE_OPTIONS, defaultShards } from '../service/options.js';
import { SaferoadsService } from '../service/service.js';
import { DEFAULT_HTTP_ADDRESS, formatAddress, parseListenAddress } from '../observe/http.js';
import { Observability } from '../observe/observability.js';
import { generateCommand } from './generate.js';
import { DEFAULT_RISK_LEVELS, legend, RecordDescriber } from './describe.js';
import { loadRiskModel } from '../model/risk-model.js';
import { decimal, defineCommand, helpText, integer, option, parseCommand, text } from './args.js';
import { checkSecurityNeedsBrokers, kafkaSecurityOf, SECURITY_OPTIONS, securityArgs } from './security.js';
import { cliLogger, LOG_OPTIONS } from './logging.js';
import { Shutdown } from './shutdown.js';
import { lineLog } from '../observe/log.js';

/** Incidents per point and day in the demo (real roads: ~1.5, the generator's default). */
const DEMO_INCIDENTS_PER_POINT_DAY = 12;

export const DEMO_COMMAND = defineCommand({
  name: 'demo',
  summary: 'Runs broker, generator and service together and prints live risk scores (Ctrl-C stops).',
  options: {
    pointCount: option({ schema: integer(1, 10_000), default: 8, valueName: 'N', help: 'road points to simulate' }),
    rate: option({
      schema: decimal({ exclusiveMin: 0 }),
      valueName: 'EVENTS/S',
      help: 'vehicles per second over all points, averaged over a weekday (as generate --rate); default: typical traffic',
    }),
    incidents: option({
      schema: decimal({ min: 0 }),
      default: DEMO_INCIDENTS_PER_POINT_DAY,
      valueName: 'N',
      help: 'incidents (queues) per point and day: far more than real roads have, so a short demo shows some',
    }),
    http: option({ schema: text(), default: DEFAULT_HTTP_ADDRESS, valueName: 'HOST:PORT|off', help: 'serve /metrics, /livez, /readyz and the dashboard API here (as run --http)' }),
    maxBrokerOutage: option({ schema: integer(1), default: DEFAULT_SERVICE_OPTIONS.maxOutageMs / 1000, valueName: 'S', help: 'Kafka unreachable this long (seconds): exit 1 (as run --max-broker-outage)' }),
    // For a secured cluster named by KAFKA_BROKERS (the local broker speaks plaintext only).
    ...SECURITY_OPTIONS,
    ...LOG_OPTIONS,
  },
});

const TOPICS = { car: 'saferoads-demo-car', weather: 'saferoads-demo-weather', output: 'saferoads-demo-road-risk', models: 'saferoads-demo-models' };

export async function demoCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(DEMO_COMMAND, argv);
  if (parsed.help) {
    process.stdout.write(helpText(DEMO_COMMAND));
    return 0;
  }
  const { pointCount, rate, incidents } = parsed.values;
  const logger = cliLogger(parsed.values.logLevel);
  const log = lineLog(logger);
  const security = kafkaSecurityOf(parsed.values);
  checkSecurityNeedsBrokers(security, (process.env.KAFKA_BROKERS ?? '').trim() !== '');
  const httpFlag = parsed.sources.http === 'env' ? 'SAFEROADS_HTTP' : '--http';
  const http = parseListenAddress(parsed.values.http, httpFlag);
  // Before the broker: a port in use stops the demo at once (exit 2).
  const observability = http === null ? undefined : await Observability.start(http, { flag: httpFlag });
  if (observability) log(`saferoads demo: dashboard on http://${formatAddress(observability.address)}/ (and /metrics, /livez, /readyz, /events, /api/now)`);
  // From here Ctrl-C stops whatever stage the demo is in, and leaves nothing behind: a broker still
  // starting gives up and removes its data; later stages stop in reverse order (the broker last).
  const shutdown = new Shutdown(log);
  log('saferoads demo: starting Kafka…');
  const cluster = await shutdown.startStep(acquireCluster(process.env, {}, shutdown.signal), async () => observability?.close());
  if (cluster === undefined) {
    log('saferoads demo: stopped during start-up');
    return 0;
  }
  const brokers = cluster.brokers.join(',');
  log(`saferoads demo: Kafka at ${brokers} (${cluster.kind})`);
  const dir = shutdown.tempDir('saferoads-demo-');
  const pointsPath = join(dir, 'points.csv');
  const minuteS = Math.floor(Date.now() / 60_000) * 60;
  const common = [
    ...['--brokers', brokers, '--point-count', String(pointCount), '--incidents', String(incidents)],
    ...(rate === undefined ? [] : ['--rate', String(rate)]),
    ...['--car-topic', TOPICS.car, '--weather-topic', TOPICS.weather, '--seed', '7', '--log-level', parsed.values.logLevel],
    // The password is not among them: both generators get it from the environment or the file.
    ...securityArgs(parsed.values),
  ];
  // The bands the shipped model was trained to be read with (its file's levels).
  const levels = loadRiskModel(DEFAULT_SERVICE_OPTIONS.modelPath, '--model').levels ?? DEFAULT_RISK_LEVELS;
  const describer = new RecordDescriber(DEFAULT_SERVICE_OPTIONS.timeZone, levels);
  let legendShown = false;
  let generator: ReturnType<typeof spawn> | undefined;
  let service: SaferoadsService | undefined;
  try {
    // Twelve minutes of history first, so the ten-minute windows are full from the first row on. The
    // real-time generator then starts at this minute: what the backfill took is written at once,
    // then each record when the wall clock reaches its event time.
    await generateCommand([...common, '--start', String(minuteS - 720), '--duration', '720', '--points-out', pointsPath], process.env, log, log);
    if (shutdown.stopping) {
      log('saferoads demo: stopped during start-up');
      return 0;
    }
    generator = spawn(
      process.execPath,
      [join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js'), 'generate', ...common, '--start', String(minuteS), '--duration', '86400', '--realtime'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    service = await SaferoadsService.start({
      brokers: cluster.brokers as string[],
      security,
      pointsPath,
      shards: defaultShards(),
      groupId: 'saferoads-demo',
      carTopic: TOPICS.car,
      weatherTopic: TOPICS.weather,
      outputTopic: TOPICS.output,
      carDlqTopic: `${TOPICS.car}.dlq`,
      weatherDlqTopic: `${TOPICS.weather}.dlq`,
      modelsTopic: TOPICS.models,
      onRecord: (r) => {
        if (!legendShown) process.stdout.write(`${legend(levels)}\n`);
        legendShown = true;
        process.stdout.write(`${describer.describe(r)}\n`);
      },
      log: logger,
      onError: (e) => logger.error({}, e instanceof Error ? e.message : String(e)),
      observer: observability,
      maxOutageMs: parsed.values.maxBrokerOutage * 1000,
    });
    log(`saferoads demo: live — one line per road point and minute from ${TOPICS.output}; Ctrl-C stops`);
    await Promise.race([shutdown.requested, service.failed]);
    log('saferoads demo: stopping…');
    // The generator first (it writes to the broker), then the service, the broker last.
    await stopChild(generator);
    generator = undefined;
    await service.stop();
    const s = service.stats;
    logger.info(
      { carRecords: s.carRecords, riskRecords: s.rowsOut, deadLetters: s.deadLetters },
      `stopped; ${s.carRecords} car records, ${s.rowsOut} risk records, ${s.deadLetters} dead letters`,
    );
    return 0;
  } finally {
    await stopChild(generator);
    await service?.stop().catch(() => undefined);
    await cluster.release();
    await observability?.close();
    shutdown.dispose();
  }
}

/** SIGTERM to a child process, resolved once it exited (SIGKILL after 5 s). */
async function stopChild(child: ReturnType<typeof spawn> | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
