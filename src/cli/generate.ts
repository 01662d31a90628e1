/**
 * `saferoads generate`: seeded traffic and weather in the seed format, to Kafka or to files.
 *
 * Output: the road points (points.csv), loop events on the car topic (key = point_id) and weather
 * readings on the weather topic (key = station), in event-time order (weather readings go out with
 * the traffic of the same seconds). Records are produced in chunks, one produce request per topic
 * and chunk; a chunk closes once it spans 5 s of event time (1 s with --realtime) or is full: JSON
 * at --batch-size loop events, FlatBuffers when one point has --batch-size events in it.
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
import { KafkaClient, type OutgoingRecord, type Producer } from '../kafka/client.js';
import { generateRoadPoints, roadPointsCsv, stationsOf } from '../generate/points.js';
import { currentMinuteS, generateTraffic, lanesOf } from '../generate/traffic.js';
import { generateWeather, weatherJson } from '../generate/weather.js';
import { brokerList, choice, decimal, defineCommand, flag, helpText, integer, option, parseCommand, text } from './args.js';

export const GENERATE_COMMAND = defineCommand({
  name: 'generate',
  summary:
    'Generates seeded, seed-compatible traffic (loop events) and weather for N road points and writes them to\n' +
    'Kafka (--to kafka) or to car.ndjson, weather.ndjson and points.csv (--to files). Same seed, same data.',
  options: {
    points: option({ schema: integer(1), default: 10, valueName: 'N', help: 'road points (P0001…; one weather station per 5 points)' }),
    rate: option({ schema: decimal({ exclusiveMin: 0 }), default: 100, valueName: 'EVENTS/S', help: 'loop events per second over all points' }),
    duration: option({ schema: decimal({ exclusiveMin: 0 }), default: 600, valueName: 'S', help: 'seconds of event time to generate' }),
    start: option({
      schema: decimal({ min: 0 }),
      valueName: 'EPOCH_S',
      help: 'event time of the start; default: the data ends at the current minute (with --realtime: starts at it)',
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
    realtime: flag('pace the output by the wall clock (one second of event time per second)'),
  },
  notes:
    'FlatBuffers: each message is a LoopEventBatch of ONE point (at most --batch-size events), keyed by its point_id.\n' +
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
 * `log` tells the user about a broker started here (it goes away, with its data, at close).
 */
export async function connectKafka(brokers: readonly string[] | undefined, command: string, log: (line: string) => void): Promise<KafkaConnection> {
  let cluster: Cluster | undefined;
  if (brokers === undefined) {
    cluster = await acquireCluster();
    brokers = cluster.brokers;
    if (cluster.kind !== 'external') {
      log(`saferoads ${command}: no --brokers or KAFKA_BROKERS: started a local Kafka (${cluster.kind}) at ${brokers.join(',')}; it stops, with its data, when ${command} ends`);
    }
  }
  const client = new KafkaClient({ brokers, clientId: `saferoads-${command}` });
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `saferoads generate`; resolves to the exit status. Throws ConfigError for bad options. */
export async function generateCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const parsed = parseCommand(GENERATE_COMMAND, argv, env);
  if (parsed.help) {
    stdout(helpText(GENERATE_COMMAND).trimEnd());
    return 0;
  }
  const o = parsed.values;
  if (o.to === 'files' && o.format === 'flatbuffers') {
    throw new ConfigError('--format', 'flatbuffers needs --to kafka (files are NDJSON, one JSON event per line)');
  }
  const began = Date.now();
  const startS = o.start ?? (o.realtime ? currentMinuteS(began) : currentMinuteS(began - o.duration * 1000));
  const points = generateRoadPoints(o.points, o.seed);
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
      connection = await connectKafka(o.brokers, 'generate', stderr);
      sink = await kafkaSink(connection, o.carTopic, o.weatherTopic, o.partitions);
    }
    const out = sink;

    const traffic = generateTraffic({ points, ratePerSecond: o.rate, durationS: o.duration, startS, seed: o.seed, jitterS: o.jitter });
    const weather = generateWeather({ stations, startS, durationS: o.duration, intervalS: o.weatherInterval, seed: o.seed });
    const builder = new EventColumnsBuilder(o.batchSize);
    const spanS = o.realtime ? 1 : 5;
    let chunk: SeedLoopEvent[] = [];
    let weatherChunk: OutgoingRecord[] = [];
    let nextWeather = weather.next();
    let events = 0;
    let readings = 0;
    let messages = 0;

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

    const flush = async (upToS: number) => {
      if (o.realtime) {
        const due = began + (upToS - startS) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      if (weatherChunk.length > 0) {
        await out.weather(weatherChunk);
        readings += weatherChunk.length;
        weatherChunk = [];
      }
      if (chunk.length > 0) {
        const records = encode(chunk);
        await out.car(records);
        events += chunk.length;
        messages += records.length;
        chunk = [];
      }
    };

    const takeWeatherUpTo = (t: number) => {
      while (!nextWeather.done && nextWeather.value.timestamp <= t) {
        weatherChunk.push({ key: nextWeather.value.station, value: weatherJson(nextWeather.value) });
        nextWeather = weather.next();
      }
    };

    // JSON: a chunk is one produce request of at most --batch-size events. FlatBuffers: a chunk
    // closes when one point has --batch-size events in it (its message is full).
    const perPoint = new Map<string, number>();
    let fullest = 0;
    let chunkStart = Number.NaN;
    let last = startS;
    for (const e of traffic) {
      const t = e.timestamp_out_2;
      const full = o.format === 'json' ? chunk.length >= o.batchSize : fullest >= o.batchSize;
      if (chunk.length > 0 && (full || t - chunkStart >= spanS)) {
        await flush(last);
        perPoint.clear();
        fullest = 0;
      }
      if (chunk.length === 0) chunkStart = t;
      takeWeatherUpTo(t);
      chunk.push(e);
      if (o.format === 'flatbuffers') {
        const n = (perPoint.get(e.point_id) ?? 0) + 1;
        perPoint.set(e.point_id, n);
        if (n > fullest) fullest = n;
      }
      last = Math.max(last, t);
    }
    takeWeatherUpTo(Infinity);
    await flush(last);
    await out.close();
    sink = undefined;

    const seconds = (Date.now() - began) / 1000;
    const lanes = points.reduce((n, p) => n + lanesOf(p), 0);
    stdout(
      `saferoads generate: ${events} loop events (${o.points} points, ${lanes} lanes, seed ${o.seed}, ${o.format}` +
        `${o.format === 'flatbuffers' ? ` in ${messages} messages` : ''}) and ${readings} weather readings (${stations.length} stations), ` +
        `event time ${startS}..${startS + o.duration}, to ${out.describe}, in ${seconds.toFixed(1)} s`,
    );
    return 0;
  } finally {
    await sink?.close().catch(() => undefined);
    await connection?.close();
  }
}
