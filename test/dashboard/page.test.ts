/**
 * The dashboard page in a real browser (Chromium through playwright-core) against a running
 * service on the real broker: every point's tile, the incident point coloured HIGH once its window
 * closed, its series chart on a click, and records produced after the page loaded shown without a
 * reload. Saves a screenshot to test-artifacts/dashboard.png (and to docs/dashboard.png, the README's, with
 * SAFEROADS_UPDATE_SCREENSHOT=1).
 *
 * Needs Chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it): without
 * it this test fails, it does not skip.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { SeedLoopEvent } from '../../src/codec/seed-json.js';
import { riskLevel } from '../../src/cli/describe.js';
import type { RiskRecord } from '../../src/join/types.js';
import { Observability } from '../../src/observe/observability.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { SaferoadsService } from '../../src/service/service.js';
import { createTopics, dataset, expectedLastEnd, jsonRecords, produce, startService, uniqueTopics, waitFor, weatherRecords } from '../service/scenario.js';

const CHROMIUM = process.env.SAFEROADS_CHROMIUM ?? '/usr/bin/chromium';
const MINUTES = 14;
/** The incident: minutes [INCIDENT_FROM, INCIDENT_TO) of the run at the first point. */
const INCIDENT_FROM = 4;
const INCIDENT_TO = 10;
/** Events up to this minute go in before the page opens; the rest after (the live part). */
const SPLIT = 10;

const data = dataset(4, MINUTES, 31);
const incidentPoint = data.points[0].pointId;

/** A queue at the incident point: speeds collapse (uneven, 5–25 km/h) and vehicles follow under a second apart. */
function withIncident(events: readonly SeedLoopEvent[]): SeedLoopEvent[] {
  const from = data.startS + INCIDENT_FROM * 60;
  const to = data.startS + INCIDENT_TO * 60;
  let k = 0;
  return events.map((e) => {
    if (e.point_id !== incidentPoint || e.timestamp_in_1 < from || e.timestamp_in_1 >= to) return e;
    k++;
    const speed = 5 + ((k * 7919) % 21);
    return { ...e, speed, gap_seconds: 0.3 + ((k * 31) % 6) / 10, gap_meters: 1 + ((k * 13) % 4) };
  });
}

describe('dashboard page in a real browser', () => {
  it('shows every point, the incident HIGH, its series on a click, and live updates without reload', async () => {
    const started = performance.now();
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it (as root: apt-get install -y --no-install-recommends chromium; .ci/run does) or set SAFEROADS_CHROMIUM`);
    }
    const events = withIncident(data.events);
    const splitS = data.startS + SPLIT * 60;
    const before = events.filter((e) => e.timestamp_out_2 < splitS);
    const after = events.filter((e) => e.timestamp_out_2 >= splitS);
    const ids = data.points.map((p) => p.pointId);

    const t = uniqueTopics();
    await createTopics(t);
    const obs = await Observability.start({ host: '127.0.0.1', port: 0 }, { defaultMetrics: false });
    const base = `http://127.0.0.1:${obs.address.port}`;
    let service: SaferoadsService | undefined;
    let browser: Browser | undefined;
    const published: RiskRecord[] = [];
    try {
      await produce(t.weather, weatherRecords(data.weather));
      await produce(t.car, jsonRecords(data, before));
      const firstEnd = expectedLastEnd(data, before);
      // The data starts "now": in a zone where that is midday, no holidays, so that the calendar
      // features (night, holiday) do not lift calm points out of LOW at some hours of the day.
      const calendar = { timeZone: middayZone(data.startS), holidays: [] };
      // The hand-set model and its default levels (0.3, 0.6): this test is about the page, and that
      // model scores a queue HIGH on any road, where a trained one reads a queue by its own road.
      const modelPath = join(PACKAGE_ROOT, 'src', 'model', 'heuristic-baseline-v1.json');
      service = await startService(t, data, 1, { observer: obs, onRecord: (r) => published.push(r), modelPath, ...calendar });
      const running = service;
      await waitFor(() => running.stats.lastEnd === firstEnd, 20_000, `window end ${firstEnd} (at ${running.stats.lastEnd})`);

      // What the model made of the incident: its riskiest window (the level the page must show for it).
      const incident = published.filter((r) => r.point_id === incidentPoint);
      const peak = incident.reduce((a, b) => (b.risk.score > a.risk.score ? b : a));
      const others = Math.max(...published.filter((r) => r.point_id !== incidentPoint).map((r) => r.risk.score));
      console.log(`incident ${incidentPoint}: peak score ${peak.risk.score.toFixed(3)} at ${peak.window_end}; latest ${incident.at(-1)!.risk.score.toFixed(3)}; other points max ${others.toFixed(3)}`);
      expect(riskLevel(peak.risk.score)).toBe('HIGH');

      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${base}/`);

      // Every point's tile, riskiest first.
      await page.waitForFunction(`document.querySelectorAll('#tiles .tile').length === ${ids.length}`, undefined, { timeout: 10_000 });
      for (const id of ids) expect(await page.locator(`[data-point="${id}"]`).count()).toBe(1);
      const order = (await page.evaluate(`[...document.querySelectorAll('#tiles .tile')].map((el) => Number(el.dataset.score))`)) as number[];
      for (let k = 1; k < order.length; k++) expect(order[k - 1]).toBeGreaterThanOrEqual(order[k]);

      // The incident point's tile: its latest window closed inside the queue, so HIGH (and first).
      const tile = page.locator(`[data-point="${incidentPoint}"]`);
      expect(riskLevel(incident.at(-1)!.risk.score)).toBe('HIGH');
      expect(await tile.getAttribute('data-level')).toBe('HIGH');
      expect(await page.locator('#tiles .tile').first().getAttribute('data-point')).toBe(incidentPoint);
      for (const id of ids.filter((i) => i !== incidentPoint)) expect(await page.locator(`[data-point="${id}"]`).getAttribute('data-level')).toBe('LOW');
      expect(Number(await tile.getAttribute('data-window-end'))).toBe(firstEnd);

      // Its series: a uPlot chart over every window end so far, the incident's HIGH scores in it.
      await tile.click();
      await page.waitForFunction(`Number(document.querySelector('#series')?.dataset.points) >= ${incident.length}`, undefined, { timeout: 10_000 });
      expect(await page.locator('#series canvas').count()).toBeGreaterThan(0);
      const chart = (await page.evaluate(
        '({ points: window.saferoadsChart.data[0].length, maxScore: Math.max(...window.saferoadsChart.data[1].map((v) => v ?? 0)) })',
      )) as { points: number; maxScore: number };
      expect(chart.points).toBeGreaterThan(5);
      expect(riskLevel(chart.maxScore)).toBe('HIGH');
      expect(await page.locator('#contributions tr').count()).toBeGreaterThan(0);
      // What raised it, over time: the positive contributions stacked, one band per feature; the top
      // of the stack at the incident's peak is the sum of its positive contributions there.
      expect(await page.locator('#contrib-series canvas').count()).toBeGreaterThan(0);
      const stack = (await page.evaluate(
        '({ features: window.saferoadsContribChart.data.length - 1, points: window.saferoadsContribChart.data[0].length, top: window.saferoadsContribChart.data.at(-1) })',
      )) as { features: number; points: number; top: number[] };
      expect(stack.features).toBeGreaterThanOrEqual(3);
      expect(stack.points).toBe(chart.points);
      const peakAt = (await page.evaluate('window.saferoadsContribChart.data[0]') as number[]).indexOf(peak.window_end);
      const positive = Object.values(peak.risk.contributions).reduce((sum, v) => sum + Math.max(0, v), 0);
      expect(stack.top[peakAt]).toBeCloseTo(positive, 6);

      // Health is shown.
      await page.waitForFunction(`Number(document.querySelector('#health')?.dataset.updated) > 0`, undefined, { timeout: 10_000 });
      expect(await page.locator('#health [data-field="consumer_lag_total"]').textContent()).toBe('0');

      expect(await page.locator('#health [data-field="dead_letters_total"]').textContent()).toBe('0');

      // The screenshot (README): the incident HIGH and its series open.
      // docs/ (the README's picture) only when asked: SAFEROADS_UPDATE_SCREENSHOT=1 npx vitest run test/dashboard/page.test.ts
      for (const dir of process.env.SAFEROADS_UPDATE_SCREENSHOT === '1' ? ['test-artifacts', 'docs'] : ['test-artifacts']) {
        mkdirSync(join(PACKAGE_ROOT, dir), { recursive: true });
        await page.screenshot({ path: join(PACKAGE_ROOT, dir, 'dashboard.png'), fullPage: true });
      }

      // Live: records produced now reach the open page over /events (no reload).
      await page.evaluate('window.loadedMarker = 1');
      await produce(t.car, jsonRecords(data, after));
      const lastEnd = expectedLastEnd(data, events);
      await page.waitForFunction(`Number(document.querySelector('[data-point="${ids[1]}"]')?.dataset.windowEnd) === ${lastEnd}`, undefined, { timeout: 20_000 });
      expect(await page.evaluate('window.loadedMarker')).toBe(1);
      // The open series grew too.
      await page.waitForFunction(`Number(document.querySelector('#series')?.dataset.points) > ${chart.points}`, undefined, { timeout: 10_000 });
      // The heat strip covers every point.
      expect(await page.locator('#heat').getAttribute('data-points')).toBe(String(ids.length));
      expect(errors).toEqual([]);

      console.log(`page test took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await browser?.close();
      await service?.stop();
      await obs.close();
    }
  });
});

/** A fixed-offset IANA zone (Etc/GMT±N, sign inverted by convention) whose local hour at `s` is about noon. */
function middayZone(s: number): string {
  let offset = 12 - new Date(s * 1000).getUTCHours();
  if (offset < -12) offset += 24;
  if (offset > 14) offset -= 24;
  return offset === 0 ? 'Etc/GMT' : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}
