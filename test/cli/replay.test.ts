import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyOfLine, replayCommand } from '../../src/cli/replay.js';
import { seedEventJson } from '../../src/codec/seed-json.js';
import { ConfigError } from '../../src/errors.js';
import { generateRoadPoints, stationsOf } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather, weatherJson } from '../../src/generate/weather.js';
import { KafkaClient } from '../../src/kafka/client.js';
import { brokers, uniqueTopic } from '../kafka/helpers.js';
import { consumeAll, saferoads } from './helpers.js';

const START = 1_700_000_040;
const points = generateRoadPoints(5, 11);
const carLines = [...generateTraffic({ points, durationS: 60, startS: START, seed: 11, dailyProfile: false })].map(seedEventJson);
const weatherLines = [...generateWeather({ stations: stationsOf(points), startS: START, durationS: 300, seed: 11 })].map(weatherJson);

let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
async function file(name: string, lines: string[]): Promise<string> {
  dir ||= await mkdtemp(join(tmpdir(), 'saferoads-replay-'));
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

async function topicExists(topic: string): Promise<boolean> {
  const client = new KafkaClient({ brokers: brokers() });
  try {
    return (await client.listTopics()).includes(topic);
  } finally {
    await client.close();
  }
}

describe('keyOfLine', () => {
  it('keys loop events by point_id and weather by station, and explains the rest', () => {
    expect(keyOfLine(carLines[0]!)).toEqual({ key: JSON.parse(carLines[0]!).point_id });
    expect(keyOfLine(weatherLines[0]!)).toEqual({ key: JSON.parse(weatherLines[0]!).station });
    expect(keyOfLine('{"point_id":"A","station":"S"}')).toEqual({ key: 'A' });
    expect(keyOfLine('{oops')).toHaveProperty('error', expect.stringMatching(/^not JSON/));
    expect(keyOfLine('[1]')).toEqual({ error: 'not a JSON object' });
    expect(keyOfLine('{"speed":3}')).toHaveProperty('error', expect.stringContaining('neither'));
    // The seed's generator writes integer ids: keyed by the decimal form, as its producer does.
    expect(keyOfLine('{"point_id":7}')).toEqual({ key: '7' });
    expect(keyOfLine('{"point_id":7.5}')).toHaveProperty('error', expect.stringContaining('neither'));
    expect(keyOfLine('{"point_id":-1}')).toHaveProperty('error', expect.stringContaining('neither'));
  });
});

describe('saferoads replay (real broker)', () => {
  it('produces every line of a clean file keyed by point_id / station, values unchanged; exit 0', async () => {
    const topic = uniqueTopic('replay-ok');
    const lines = [...carLines, ...weatherLines];
    const path = await file('clean.ndjson', lines);
    const out: string[] = [];
    const err: string[] = [];
    const code = await replayCommand([path, '--topic', topic, '--brokers', brokers().join(','), '--batch-size', '7'], {}, (l) => out.push(l), (l) => err.push(l));
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain(`${lines.length} records`);
    const records = await consumeAll(topic, lines.length);
    expect(records).toHaveLength(lines.length);
    const got = records.map((r) => `${r.key?.toString()} ${r.value?.toString()}`).sort();
    const want = lines.map((l) => {
      const o = JSON.parse(l) as { point_id?: string; station?: string };
      return `${o.point_id ?? o.station} ${l}`;
    });
    expect(got).toEqual(want.sort());
    // One point's records keep their file order (same key → same partition).
    const first = JSON.parse(carLines[0]!).point_id as string;
    const ofFirst = records
      .filter((r) => r.key?.toString() === first)
      .sort((a, b) => Number(a.offset - b.offset))
      .map((r) => r.value!.toString());
    expect(ofFirst).toEqual(carLines.filter((l) => JSON.parse(l).point_id === first));
  });

  it('skips bad lines, produces the good ones, reports bad line numbers on stderr and exits 1 (built CLI)', async () => {
    const topic = uniqueTopic('replay-bad');
    const lines = [
      carLines[0]!, // 1
      'this is not json', // 2
      carLines[1]!, // 3
      '', // 4: blank, skipped silently
      '[1,2,3]', // 5
      weatherLines[0]!, // 6
      '{"speed": 50}', // 7
      carLines[2]!, // 8
    ];
    const path = await file('bad.ndjson', lines);
    const r = await saferoads(['replay', path, '--topic', topic, '--brokers', brokers().join(',')]);
    expect(r.code).toBe(1);
    const err = r.stderr.trimEnd().split('\n');
    expect(err[0]).toContain('3 bad lines');
    expect(err.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^  ${path}:2: not JSON`)),
      `  ${path}:5: not a JSON object`,
      expect.stringMatching(new RegExp(`^  ${path}:7: has neither`)),
    ]);
    expect(r.stdout).toMatch(/4 records .*3 bad lines skipped/);
    const records = await consumeAll(topic, 4);
    expect(records.map((m) => m.value!.toString()).sort()).toEqual([carLines[0]!, carLines[1]!, weatherLines[0]!, carLines[2]!].sort());
  });

  it('lists only the first 10 bad lines but counts them all', async () => {
    const topic = uniqueTopic('replay-many-bad');
    const lines = [carLines[0]!, ...Array.from({ length: 25 }, (_, i) => `bad ${i}`)];
    const path = await file('many-bad.ndjson', lines);
    const err: string[] = [];
    const code = await replayCommand([path, '--topic', topic, '--brokers', brokers().join(',')], {}, () => undefined, (l) => err.push(l));
    expect(code).toBe(1);
    expect(err[0]).toMatch(/25 bad lines .*the first 10/);
    expect(err.slice(1)).toHaveLength(10);
    expect(err[1]).toContain(`${path}:2:`);
    expect(err[10]).toContain(`${path}:11:`);
  });
});

describe('saferoads replay configuration errors: exit 2 before producing anything', () => {
  it('a missing --topic exits 2 with one line', async () => {
    const path = await file('x.ndjson', carLines.slice(0, 3));
    const r = await saferoads(['replay', path, '--brokers', brokers().join(',')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual(['saferoads replay: --topic is required (the topic to produce to)']);
  });

  it('a missing file exits 2 with one line and creates no topic', async () => {
    const topic = uniqueTopic('replay-nofile');
    const r = await saferoads(['replay', join(tmpdir(), 'does-not-exist.ndjson'), '--topic', topic, '--brokers', brokers().join(',')]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^saferoads replay: FILE cannot be read: .*ENOENT/);
    expect(await topicExists(topic)).toBe(false);
  });

  it('a bad --batch-size or --brokers is a ConfigError naming the flag', async () => {
    const path = await file('y.ndjson', carLines.slice(0, 1));
    await expect(replayCommand([path, '--topic', 't', '--batch-size', '0'], {})).rejects.toThrow(
      new ConfigError('--batch-size', 'must be a positive integer (got "0")'),
    );
    await expect(replayCommand([path, '--topic', 't', '--brokers', 'nope'], {})).rejects.toThrow(/^--brokers must be host:port/);
    const r = await saferoads(['replay', path, '--topic', 't', '--batch-size', 'lots']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toBe('saferoads replay: --batch-size must be a positive integer (got "lots")');
  });
});
