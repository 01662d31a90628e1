/**
 * `saferoads generate`: seeded traffic and weather in the seed format, to Kafka or to files.
 *
 * Output: the road points (points.csv), loop events on the car topic (key = point_id) and weather
 * readings on the weather topic (key = station), in event-time order (weather readings go out with
 * the traffic of the same seconds). Records are produced in chunks, one produce request per topic
 * and chunk; a chunk closes once it spans 5 s of event time (0.5 s with --realtime) or is full: JSON
 * at --batch-size loop events, FlatBuffers when one point has --batch-size events in it
 * (generate-pump.ts; --realtime writes each chunk when the wall clock reaches its event time).
 *
 * What the traffic is (src/generate/traffic.ts): per-lane car following within capacity, a daily
 * profile in --time-zone, incidents whose queues spread upstream, rain and snow from the generated
 * weather slowing it. --rate is vehicles/s over all points averaged over a weekday, split over the
 * lanes by capacity (src/generate/lanes.ts); a rate the lanes cannot carry in the rush hour is a
 * configuration error.
 *
 * FlatBuffers (--format flatbuffers): each chunk is split by point, and every message holds the
 * events of ONE point (a LoopEventBatch with a single point_id, at most --batch-size events, in
 * event-time order), keyed by that point_id. A message therefore lands on its point's partition, as
 * a JSON event would: partition ownership and per-partition watermarks mean the same in both
 * formats. Since a chunk spans at most 5 s of event time, holding events back per point never
 * delays them by more than that, well within the kernel's default grace (30 s).
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeLoopEventBatch } from '../codec/loop-event-batch.js';
import { EventColumnsBuilder, type SeedLoopEvent, seedEventJson } from '../codec/seed-json.js';
import { ConfigError } from '../errors.js';
import { type Cluster, acquireCluster } from '../kafka/cluster.js';
import { cliLogger, LOG_OPTIONS } from './logging.js';
import { kafkaLogging, lineLog } from '../observe/log.js';
import { KafkaClient, type KafkaClientOptions, type OutgoingRecord, type Producer } from '../kafka/client.js';
import { generateRoadPoints, roadPointsCsv, stationsOf } from '../generate/points.js';
import { checkTimeZone, DEFAULT_TIME_ZONE } from '../generate/daily-profile.js';
import { DEFAULT_INCIDENTS_PER_POINT_DAY } from '../generate/incidents.js';
import { LANE_CAPACITY_VPH, lanesOf, rateLimits } from '../generate/lanes.js';
import { currentMinuteS } from '../generate/time.js';
import { generateTraffic } from '../generate/traffic.js';
import { generateWeather, weatherJson } from '../generate/weather.js';
import { type Clock, pump, SYSTEM_CLOCK } from './generate-pump.js';
import { progress } from './progress.js';
import { brokerList, choice, decimal, defineCommand, flag, helpText, integer, option, parseCommand, text } from './args.js';
import { checkSecurityNeedsBrokers, kafkaSecurityOf, SECURITY_OPTIONS } from './security.js';
import { describeSecurity, type KafkaSecurity } from '../kafka/security.js';

export const GENERATE_COMMAND = defineCommand({
  name: 'generate',
  summary:
    'Generates seeded, seed-compatible traffic (loop events) and weather for N road points and writes them to\n' +
    'Kafka (--to kafka) or to car.ndjson, weather.ndjson and points.csv (--to files). Same seed, same data.',
  options: {
    // Not --points: that is run's road-points FILE, and SAFEROADS_POINTS must mean one thing.
    pointCount: option({ schema: integer(1), default: 10, valueName: 'N', help: 'road points (P0001…; one weather station per 5 points)' }),
    rate: option({
      schema: decimal({ exclusiveMin: 0 }),
      valueName: 'EVENTS/S',
      help: 'vehicles (loop events) per second over all points, averaged over a weekday (see below); default: typical traffic',
    }),
    duration: option({ schema: decimal({ exclusiveMin: 0 }), default: 600, valueName: 'S', help: 'seconds of event time to generate' }),
    start: option({
      schema: decimal({ min: 0 }),
      valueName: 'EPOCH_S',
      help: 'event time of the start; default: the data ends at the current minute (with --realtime: starts now)',
    }),
    timeZone: option({
      schema: text(),
      default: DEFAULT_TIME_ZONE,
      valueName: 'TZ',
      help: 'IANA time zone of the daily profile (rush hours 07–09 and 15–18 local, night ~6 % of the peak, weekends lower)',
    }),
    incidents: option({
      schema: decimal({ min: 0 }),
      default: DEFAULT_INCIDENTS_PER_POINT_DAY,
      valueName: 'N',
      help: 'queues (incidents) starting per point and day on average; they spread upstream (to P0004 from P0005) within a station',
    }),
    seed: option({ schema: integer(0, 0xffffffff), default: 1, valueName: 'N', help: 'PRNG seed' }),
    jitter: option({ schema: decimal({ min: 0 }), default: 0, valueName: 'S', help: 'shuffle arrival order within this many seconds of event time' }),
    weatherInterval: option({ schema: decimal({ exclusiveMin: 0 }), default: 60, valueName: 'S', help: 'seconds between two readings of a station' }),
    format: option({ schema: choice(['json', 'flatbuffers'] as const), default: 'json' as 'json' | 'flatbuffers', valueName: 'json|flatbuffers', help: 'loop-event encoding (weather is always JSON)' }),
    batchSize: option({ schema: integer(1), default: 500, valueName: 'N', help: 'loop events per produce request (and most per FlatBuffers message)' }),
    to: option({ schema: choice(['kafka', 'files'] as const), default: 'kafka' as 'kafka' | 'files', valueName: 'kafka|files', help: 'where the data goes' }),
    brokers: option({
      schema: brokerList(),
      valueName: 'HOST:PORT,…',
      envAliases: ['KAFKA_BROKERS'],
      help: 'Kafka bootstrap servers; if unset, a local broker is started (and stopped, with its data, at the end)',
    }),
    carTopic: option({ schema: text(), default: 'car', valueName: 'TOPIC', help: 'topic of the loop events' }),
    weatherTopic: option({ schema: text(), default: 'weather', valueName: 'TOPIC', help: 'topic of the weather readings' }),
    partitions: option({ schema: integer(1), default: 3, valueName: 'N', help: 'partitions of the car topic when it is created' }),
    outDir: option({ schema: text(), default: 'saferoads-data', valueName: 'DIR', help: 'directory of car.ndjson, weather.ndjson, points.csv (--to files)' }),
    pointsOut: option({ schema: text(), valueName: 'FILE', help: 'also write the road-points CSV here' }),
    realtime: flag('write each record when the wall clock reaches its event time (event time ≈ wall clock; data before now goes at once)'),
    ...SECURITY_OPTIONS,
    ...LOG_OPTIONS,
  },
  notes:
    'FlatBuffers: each message is a LoopEventBatch of ONE point (at most --batch-size events), keyed by its point_id.\n' +
    'Weather readings lie on the epoch-aligned --weather-interval grid; rain and snow at a point\'s station slow its traffic.\n' +
    '--rate is split over the lanes by capacity (typical traffic: about 0.2 events/s per lane, rush hours 1,360–1,870 veh/h\n' +
    'on inner lanes, 75 % on the right lane) and follows the daily profile; more than the lanes carry at 2,200 veh/h is refused.\n' +
    'Exit status: 0 done, 1 runtime failure (Kafka, files), 2 bad configuration.',
});

export interface KafkaConnection {
  client: KafkaClient;
  brokers: readonly string[];
  /** How the cluster was found: given (--brokers / env) or started here. */
  cluster?: Cluster;
  close(): Promise<void>;
}

/**
 * A client for `brokers`, or for a cluster started with acquireCluster when none are given.
 * `log` tells the user about a broker started here (it goes away, with its data, at close), and
 * about the connection's security (with any warning) when it is not plaintext.
 */
export async function connectKafka(
  brokers: readonly string[] | undefined,
  command: string,
  log: (line: string) => void,
  security?: KafkaSecurity,
  /** `signal`: aborts a local broker still starting; `logging`: where the client's own log records go. */
  more: { signal?: AbortSignal; logging?: Pick<KafkaClientOptions, 'logLevel' | 'logger'> } = {},
): Promise<KafkaConnection> {
  if (security !== undefined) {
    checkSecurityNeedsBrokers(security, brokers !== undefined);
    for (const warning of security.warnings) log(`saferoads ${command}: ${warning}`);
    if (security.protocol !== 'plaintext') log(`saferoads ${command}: Kafka connection: ${describeSecurity(security)}`);
  }
  let cluster: Cluster | undefined;
  if (brokers === undefined) {
    cluster = await acquireCluster(process.env, {}, more.signal);
    brokers = cluster.brokers;
    if (cluster.kind !== 'external') {
      log(`saferoads ${command}: no --brokers or KAFKA_BROKERS: started a local Kafka (${cluster.kind}) at ${brokers.join(',')}; it stops, with its data, when ${command} ends`);
    }
  }
  const client = new KafkaClient({ ...more.logging, brokers, clientId: `saferoads-${command}`, security });
  return {
    client,
    brokers,
    cluster,
    close: async () => {
      await client.close().catch(() => undefined);
      await cluster?.release();
    },
  };
}

interface Sink {
  car(records: OutgoingRecord[]): Promise<void>;
  weather(records: OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
  describe: string;
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function end(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

async function fileSink(dir: string, csv: string): Promise<Sink> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'points.csv'), csv);
  const car = createWriteStream(join(dir, 'car.ndjson'));
  const weather = createWriteStream(join(dir, 'weather.ndjson'));
  const lines = (records: OutgoingRecord[]) => records.map((r) => `${String(r.value)}\n`).join('');
  return {
    describe: `files ${join(dir, 'car.ndjson')}, ${join(dir, 'weather.ndjson')}, ${join(dir, 'points.csv')}`,
    car: (records) => write(car, lines(records)),
    weather: (records) => write(weather, lines(records)),
    close: async () => {
      await end(car);
      await end(weather);
    },
  };
}

async function kafkaSink(connection: KafkaConnection, carTopic: string, weatherTopic: string, partitions: number): Promise<Sink> {
  await connection.client.ensureTopics([
    { topic: carTopic, partitions },
    { topic: weatherTopic, partitions: 1 },
  ]);
  const producer: Producer = await connection.client.producer();
  return {
    describe: `Kafka ${connection.brokers.join(',')} topics ${carTopic}, ${weatherTopic}`,
    car: (records) => producer.send(carTopic, records),
    weather: (records) => producer.send(weatherTopic, records),
    close: () => producer.close(),
  };
}

/**
 * Where the data starts without --start: so that it ends at the current minute, or with --realtime
 * now (the next whole second: no record is due before the run begins).
 */
export function defaultStartS(realtime: boolean, durationS: number, nowMs: number): number {
  return realtime ? Math.ceil(nowMs / 1000) : currentMinuteS(nowMs - durationS * 1000);
}

/** Runs `saferoads generate`; resolves to the exit status. Throws ConfigError for bad options. */
export async function generateCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  /** Where its messages go; default: log records on stderr (--log-level; JSON lines unless a terminal). */
  stderrLog?: (line: string) => void,
  clock: Clock = SYSTEM_CLOCK,
): Promise<number> {
  const parsed = parseCommand(GENERATE_COMMAND, argv, env);
  if (parsed.help) {
    stdout(helpText(GENERATE_COMMAND).trimEnd());
    return 0;
  }
  const o = parsed.values;
  const logger = stderrLog === undefined ? cliLogger(o.logLevel) : undefined;
  const stderr = stderrLog ?? lineLog(logger!);
  if (o.to === 'files' && o.format === 'flatbuffers') {
    throw new ConfigError('--format', 'flatbuffers needs --to kafka (files are NDJSON, one JSON event per line)');
  }
  try {
    checkTimeZone(o.timeZone);
  } catch (e) {
    throw new ConfigError('--time-zone', `is not a time zone (got ${JSON.stringify(o.timeZone)}); fix: use an IANA name such as Europe/Warsaw`, { cause: e });
  }
  // Read and checked now (files, combinations): a mistake stops generate before it writes anything.
  const security = o.to === 'kafka' ? kafkaSecurityOf(o) : undefined;
  if (security !== undefined) checkSecurityNeedsBrokers(security, o.brokers !== undefined);
  const began = clock.nowMs();
  const startS = o.start ?? defaultStartS(o.realtime, o.duration, began);
  const points = generateRoadPoints(o.pointCount, o.seed);
  const limits = rateLimits(points);
  if (o.rate !== undefined && o.rate > limits.maxPerSecond) {
    throw new ConfigError(
      '--rate',
      `${o.rate} exceeds what ${o.pointCount} points (${limits.lanes} lanes) can carry: ~${limits.maxPerSecond.toFixed(1)} events/s averaged over a weekday ` +
        `(every lane at ${LANE_CAPACITY_VPH} veh/h in the rush hour; typical traffic is ~${limits.typicalPerSecond.toFixed(1)}); raise --point-count or lower --rate`,
    );
  }
  const stations = stationsOf(points);
  const csv = roadPointsCsv(points);
  if (o.pointsOut !== undefined) {
    await mkdir(dirname(o.pointsOut), { recursive: true });
    await writeFile(o.pointsOut, csv);
  }

  let connection: KafkaConnection | undefined;
  let sink: Sink | undefined;
  try {
    if (o.to === 'files') sink = await fileSink(o.outDir, csv);
    else {
      connection = await connectKafka(o.brokers, 'generate', stderr, security, { logging: logger && kafkaLogging(logger) });
      sink = await kafkaSink(connection, o.carTopic, o.weatherTopic, o.partitions);
    }
    const out = sink;

    const traffic = generateTraffic({
      points,
      ratePerSecond: o.rate,
      durationS: o.duration,
      startS,
      seed: o.seed,
      jitterS: o.jitter,
      timeZone: o.timeZone,
      incidentsPerPointDay: o.incidents,
    });
    // Readings on the epoch-aligned --weather-interval grid, so a backfill and a later run interleave.
    const weatherStartS = Math.ceil(startS / o.weatherInterval) * o.weatherInterval;
    const weather = generateWeather({ stations, startS: weatherStartS, durationS: startS + o.duration - weatherStartS, intervalS: o.weatherInterval, seed: o.seed });
    const builder = new EventColumnsBuilder(o.batchSize);
    let messages = 0;
    let written = 0;
    // A backfill can take a minute (1 M events): show how far it is. Real time shows nothing (it
    // runs as long as it was asked to, and the demo shares the terminal with the scores).
    const shown = o.realtime
      ? undefined
      : progress({
          label: 'generate',
          total: o.duration,
          unit: 's of event time',
          stream: process.stderr.isTTY === true ? process.stderr : { write: (text: string) => stderr(text.trimEnd()) },
        });

    const encode = (events: SeedLoopEvent[]): OutgoingRecord[] => {
      if (o.format === 'json') return events.map((e) => ({ key: e.point_id, value: seedEventJson(e) }));
      const byPoint = new Map<string, SeedLoopEvent[]>();
      for (const e of events) {
        const list = byPoint.get(e.point_id);
        if (list) list.push(e);
        else byPoint.set(e.point_id, [e]);
      }
      const records: OutgoingRecord[] = [];
      for (const [pointId, list] of byPoint) {
        builder.reset();
        for (const e of list) builder.appendEvent(e, 0, () => 0);
        const bytes = encodeLoopEventBatch([pointId], builder.columns);
        records.push({ key: pointId, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
      }
      return records;
    };

    // JSON: a chunk is one produce request of at most --batch-size events. FlatBuffers: a chunk
    // closes when one point has --batch-size events in it (its message is full).
    const { events, readings } = await pump(
      traffic,
      weather,
      {
        car: async (list) => {
          const records = encode(list);
          await out.car(records);
          messages += records.length;
          written += list.length;
          if (list.length > 0) shown?.update(list[list.length - 1].timestamp_out_2 - startS, written);
        },
        weather: (list) => out.weather(list.map((r) => ({ key: r.station, value: weatherJson(r) }))),
      },
      { realtime: o.realtime, batchSize: o.batchSize, perPoint: o.format === 'flatbuffers', clock },
    );
    shown?.stop();
    await out.close();
    sink = undefined;

    const seconds = (clock.nowMs() - began) / 1000;
    const lanes = points.reduce((n, p) => n + lanesOf(p), 0);
    stdout(
      `saferoads generate: ${events} loop events (${o.pointCount} points, ${lanes} lanes, seed ${o.seed}, ${o.format}` +
        `${o.format === 'flatbuffers' ? ` in ${messages} messages` : ''}) and ${readings} weather readings (${stations.length} stations), ` +
        `event time ${startS}..${startS + o.duration}, to ${out.describe}, in ${seconds.toFixed(1)} s`,
    );
    return 0;
  } finally {
    await sink?.close().catch(() => undefined);
    await connection?.close();
  }
}
