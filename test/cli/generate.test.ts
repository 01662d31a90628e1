import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCommand } from '../../src/cli/generate.js';
import { decodeLoopEventBatch } from '../../src/codec/loop-event-batch.js';
import { DECODE_OK, EventColumnsBuilder, seedEventJson } from '../../src/codec/seed-json.js';
import { ConfigError } from '../../src/errors.js';
import { generateRoadPoints, stationsOf } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather, weatherJson } from '../../src/generate/weather.js';
import { KafkaClient } from '../../src/kafka/client.js';
import { brokers, uniqueTopic } from '../kafka/helpers.js';
import { consumeAll, saferoads } from './helpers.js';

/** Wednesday 2023-11-15 10:00 in Warsaw (the daily profile's default zone): daytime traffic. */
const START = 1_700_038_800;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'saferoads-generate-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs generateCommand in-process, collecting its output lines. */
async function generate(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await generateCommand(argv, {}, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

const SMALL = ['--point-count', '7', '--rate', '3', '--duration', '120', '--start', String(START), '--seed', '3'];

describe('saferoads generate --to files', () => {
  it('writes car.ndjson, weather.ndjson and points.csv (and --points-out), all consistent with each other', async () => {
    const dir = await tempDir();
    const pointsOut = join(dir, 'elsewhere', 'roads.csv');
    const r = await generate([...SMALL, '--to', 'files', '--out-dir', join(dir, 'out'), '--points-out', pointsOut]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);

    const csv = await readFile(join(dir, 'out', 'points.csv'), 'utf8');
    expect(await readFile(pointsOut, 'utf8')).toBe(csv);
    const rows = csv.trimEnd().split('\n');
    expect(rows[0]).toBe('point_id,nearest_weather_station,road_shape,allowed_speed');
    expect(rows).toHaveLength(8);
    const ids = new Map(rows.slice(1).map((row, i) => [row.split(',')[0]!, i]));
    const stations = new Set(rows.slice(1).map((row) => row.split(',')[1]!));

    const car = (await readFile(join(dir, 'out', 'car.ndjson'), 'utf8')).trimEnd().split('\n');
    // 3 vehicles/s on average over a weekday; 10:00 is busier than the average hour.
    expect(car.length).toBeGreaterThan(3 * 120 * 0.8);
    expect(r.out[0]).toContain(`${car.length} loop events`);
    const b = new EventColumnsBuilder(car.length);
    for (const line of car) expect(b.appendJson(Buffer.from(line), 0, (id) => ids.get(id))).toBe(DECODE_OK);

    const weather = (await readFile(join(dir, 'out', 'weather.ndjson'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(weather).toHaveLength(stations.size * 2);
    for (const w of weather) expect(stations.has(w.station)).toBe(true);
  });

  it('writes byte-identical files for the same seed, different ones for another seed', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    await generate([...SMALL, '--to', 'files', '--out-dir', a]);
    await generate([...SMALL, '--to', 'files', '--out-dir', b]);
    await generate([...SMALL, '--seed', '4', '--to', 'files', '--out-dir', c]);
    for (const f of ['car.ndjson', 'weather.ndjson', 'points.csv']) {
      expect(await readFile(join(b, f), 'utf8')).toBe(await readFile(join(a, f), 'utf8'));
    }
    expect(await readFile(join(c, 'car.ndjson'), 'utf8')).not.toBe(await readFile(join(a, 'car.ndjson'), 'utf8'));
  });

  it('--realtime without --start: event time is the wall clock (the data starts now and is written as it happens)', async () => {
    const dir = await tempDir();
    const began = Date.now();
    const r = await generate(['--point-count', '100', '--duration', '3', '--seed', '5', '--to', 'files', '--realtime', '--out-dir', dir]);
    const ended = Date.now();
    expect(r.code).toBe(0);
    // Paced: three seconds of event time take about three seconds.
    expect(ended - began).toBeGreaterThan(2000);
    const times = (await readFile(join(dir, 'car.ndjson'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l).timestamp_out_2 as number);
    expect(times.length).toBeGreaterThan(0);
    for (const t of times) {
      expect(t * 1000).toBeGreaterThanOrEqual(began);
      expect(t * 1000).toBeLessThanOrEqual(ended);
    }
  });

  it('--realtime with a future --start writes the same data as without, paced', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const start = Math.ceil(Date.now() / 1000) + 1;
    const args = ['--point-count', '100', '--duration', '2', '--start', String(start), '--seed', '5', '--to', 'files'];
    expect((await generate([...args, '--out-dir', a])).code).toBe(0);
    expect((await generate([...args, '--realtime', '--out-dir', b])).code).toBe(0);
    expect(Date.now()).toBeGreaterThanOrEqual((start + 1) * 1000);
    const car = await readFile(join(b, 'car.ndjson'), 'utf8');
    expect(car.length).toBeGreaterThan(0);
    expect(car).toBe(await readFile(join(a, 'car.ndjson'), 'utf8'));
  });

  it('refuses --format flatbuffers with --to files before writing anything', async () => {
    const dir = await tempDir();
    await expect(generate(['--to', 'files', '--format', 'flatbuffers', '--out-dir', join(dir, 'x')])).rejects.toThrow(ConfigError);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('saferoads generate --to kafka (real broker)', () => {
  const points = generateRoadPoints(7, 3);
  const expectedCar = [...generateTraffic({ points, ratePerSecond: 3, durationS: 120, startS: START, seed: 3 })];
  const expectedWeather = [...generateWeather({ stations: stationsOf(points), startS: START, durationS: 120, intervalS: 60, seed: 3 })];

  it('JSON: produces one record per event keyed by point_id, and weather keyed by station, to created topics', async () => {
    const car = uniqueTopic('gen-car');
    const weather = uniqueTopic('gen-weather');
    const r = await generate([...SMALL, '--brokers', brokers().join(','), '--car-topic', car, '--weather-topic', weather, '--batch-size', '100']);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);

    const cars = await consumeAll(car, expectedCar.length);
    expect(cars).toHaveLength(expectedCar.length);
    const got = cars.map((m) => `${m.key?.toString()} ${m.value?.toString()}`).sort();
    expect(got).toEqual(expectedCar.map((e) => `${e.point_id} ${seedEventJson(e)}`).sort());
    expect(new Set(cars.map((m) => m.partition)).size).toBeGreaterThan(1);

    const readings = await consumeAll(weather, expectedWeather.length);
    expect(readings.map((m) => `${m.key?.toString()} ${m.value?.toString()}`).sort()).toEqual(
      expectedWeather.map((w) => `${w.station} ${weatherJson(w)}`).sort(),
    );

    const admin = new KafkaClient({ brokers: brokers() });
    try {
      expect(await admin.listTopics()).toEqual(expect.arrayContaining([car, weather]));
    } finally {
      await admin.close();
    }
  });

  it('FlatBuffers: each message holds the events of one point (at most --batch-size), keyed by it, in event-time order', async () => {
    const car = uniqueTopic('gen-fb-car');
    const weather = uniqueTopic('gen-fb-weather');
    const r = await generate([
      ...SMALL,
      '--format',
      'flatbuffers',
      '--batch-size',
      '2',
      '--brokers',
      brokers().join(','),
      '--car-topic',
      car,
      '--weather-topic',
      weather,
    ]);
    expect(r.code).toBe(0);
    const messages = r.out[0]!.match(/in (\d+) messages/);
    expect(messages).not.toBeNull();
    const records = await consumeAll(car, Number(messages![1]));
    expect(records).toHaveLength(Number(messages![1]));
    records.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset));
    const perPoint = new Map<string, string[]>();
    let fullMessages = 0;
    for (const m of records) {
      const { pointIds, columns } = decodeLoopEventBatch(m.value!);
      expect(pointIds).toEqual([m.key!.toString()]);
      expect(columns.count).toBeGreaterThan(0);
      expect(columns.count).toBeLessThanOrEqual(2);
      if (columns.count === 2) fullMessages++;
      const list = perPoint.get(pointIds[0]!) ?? [];
      for (let i = 0; i < columns.count; i++) {
        expect(columns.point[i]).toBe(0);
        list.push(
          seedEventJson({
            lane: columns.lane[i]!,
            timestamp_in_1: columns.tIn1[i]!,
            timestamp_out_1: columns.tOut1[i]!,
            timestamp_in_2: columns.tIn2[i]!,
            timestamp_out_2: columns.tOut2[i]!,
            speed: columns.speed[i]!,
            gap_meters: columns.gapM[i]!,
            gap_seconds: columns.gapS[i]!,
            length: columns.length[i]!,
            point_id: pointIds[0]!,
          }),
        );
      }
      perPoint.set(pointIds[0]!, list);
    }
    for (const p of points) {
      expect(perPoint.get(p.pointId)).toEqual(expectedCar.filter((e) => e.point_id === p.pointId).map(seedEventJson));
    }
    // A point whose message fills up closes the chunk: full messages exist.
    expect(fullMessages).toBeGreaterThan(0);
  });
});

describe('saferoads generate exit status (built CLI)', () => {
  it.each([
    [['generate', '--point-count', 'x'], /^saferoads generate: --point-count must be a positive integer \(got "x"\)$/],
    [['generate', '--format', 'xml'], /^saferoads generate: --format must be json or flatbuffers \(got "xml"\)$/],
    [['generate', '--nope'], /^saferoads generate: --nope is not an option/],
    [['generate', '--to', 'files', '--format', 'flatbuffers'], /^saferoads generate: --format flatbuffers needs --to kafka/],
    [
      ['generate', '--to', 'files', '--rate', '5000'],
      /^saferoads generate: --rate 5000 exceeds what 10 points \(\d+ lanes\) can carry: ~\d+\.\d events\/s averaged over a weekday .*; raise --point-count or lower --rate$/,
    ],
    [['generate', '--to', 'files', '--time-zone', 'Mars/Olympus'], /^saferoads generate: --time-zone is not a time zone \(got "Mars\/Olympus"\); fix: /],
  ])('%j exits 2 with one line on stderr naming the flag', async (args, line) => {
    const r = await saferoads(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(r.stdout).toBe('');
  });

  it('names the environment variable when the bad value came from it', async () => {
    const r = await saferoads(['generate'], { SAFEROADS_RATE: 'lots' });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toBe('saferoads generate: SAFEROADS_RATE must be a positive number (got "lots")');
  });

  it('--to files exits 0 and prints one summary line', async () => {
    const dir = await tempDir();
    const r = await saferoads(['generate', ...SMALL, '--to', 'files', '--out-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^saferoads generate: \d+ loop events \(7 points/);
    expect(existsSync(join(dir, 'car.ndjson'))).toBe(true);
  });

  it('--help prints the options and exits 0', async () => {
    const r = await saferoads(['generate', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--point-count', '--rate', '--duration', '--start', '--time-zone', '--incidents', '--seed', '--format', '--batch-size', '--to', '--brokers', '--car-topic', '--weather-topic', '--out-dir', '--points-out', '--realtime']) {
      expect(r.stdout).toContain(f);
    }
  });
});

describe('saferoads (built CLI) dispatch', () => {
  it('--version prints the package version; --help lists the commands', async () => {
    const v = await saferoads(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(`saferoads ${JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')).version}`);
    const h = await saferoads(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['run', 'demo', 'generate', 'replay', 'kafka']) expect(h.stdout).toContain(`  ${c} `);
  });

  it('an unknown command exits 2 with one line naming every command; no command exits 2 naming them too', async () => {
    const r = await saferoads(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('"frobnicate" is not a command: use one of run, demo, generate, replay, train, backtest, kafka');
    const none = await saferoads([]);
    expect(none.code).toBe(2);
    expect(none.stderr.trimEnd().split('\n').at(-1)).toBe('saferoads: a command is missing: give one of run, demo, generate, replay, train, backtest, kafka');
  });

  it('kafka --help prints help and starts no broker; an unknown kafka option exits 2', async () => {
    const h = await saferoads(['kafka', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: saferoads kafka\n/);
    expect(h.stdout).not.toContain('Kafka bootstrap');
    const bad = await saferoads(['kafka', '--port', '1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd()).toBe('saferoads kafka: "--port" is not an option of saferoads kafka: it takes none (saferoads kafka --help)');
  });

  it("SAFEROADS_POINTS (run's road-points file) does not upset generate, whose count is --point-count", async () => {
    const dir = await tempDir();
    const r = await saferoads(['generate', ...SMALL, '--to', 'files', '--out-dir', dir], { SAFEROADS_POINTS: 'road-points.csv' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(7 points/);
  });
});
