/**
 * The server side of the live dashboard, served by the observability HTTP server next to
 * /metrics, /livez and /readyz:
 *
 *   GET /events                  Server-Sent Events: event `record` per published record (stream.ts)
 *   GET /api/now                 the latest record of every point, riskiest first
 *   GET /api/history?point=ID    that point's series in time order (404 for a point with no record)
 *   GET /api/heat?ends=60        scores of points × the last `ends` window ends
 *   GET /api/health              events/s, dead letters by reason, watermark lag, consumer lag
 *   GET /api/words               score levels and each model feature in words (src/cli/describe.ts)
 *   GET /                        the page (src/dashboard/page/: plain JS modules, no build step)
 *   GET /assets/FILE, /vendor/F  the page's files, and uPlot's from node_modules (no CDN: works offline)
 *
 * Fed by the service through ServiceObserver.record: one history row written per record, and the
 * record queued for the event stream only while a client is connected.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { DEFAULT_RISK_LEVELS, FEATURE_WORDS } from '../cli/describe.js';
import type { RiskRecord } from '../join/types.js';
import { METRIC_PREFIX, type PromMetrics } from '../observe/metrics.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { ServiceProbe } from '../observe/probe.js';
import { type HistoryOptions, RecordHistory } from './history.js';
import { EventStream, type EventStreamOptions } from './stream.js';

export interface DashboardOptions {
  history: Partial<HistoryOptions>;
  stream: Partial<EventStreamOptions>;
  /** How often the records-in counter is sampled for events/s, ms. */
  rateSampleMs: number;
}

export const DEFAULT_HEAT_ENDS = 60;
/** events/s is the rate over about this long. */
const RATE_WINDOW_MS = 60_000;

interface Sample {
  atMs: number;
  total: number;
}

export interface DashboardHealth {
  /** Car records read per second over about the last minute (null until two samples exist). */
  events_per_s: number | null;
  records_in: number;
  rows_out: number;
  /** Per topic and reason, as saferoads_dead_letters_total. */
  dead_letters: Record<string, Record<string, number>>;
  watermark_s: number | null;
  watermark_lag_s: number | null;
  /** Per assigned partition of the car topic: end offset − position. */
  consumer_lag: Record<string, number>;
  consumer_lag_total: number;
  stream_clients: number;
  /** Clients dropped for not reading, and records the dashboard failed to take. */
  stream_dropped: number;
  dashboard_errors: number;
  history: { points: number; ends_per_point: number; bytes: number };
}

export class Dashboard {
  readonly history: RecordHistory;
  readonly stream: EventStream;
  private probe?: ServiceProbe;
  private readonly samples: Sample[] = [];
  private readonly sampler: NodeJS.Timeout;
  /** Records the dashboard failed to take (never expected; shown by /api/health). */
  errors = 0;

  constructor(
    private readonly metrics: PromMetrics,
    options: Partial<DashboardOptions> = {},
  ) {
    this.history = new RecordHistory(options.history);
    this.stream = new EventStream(options.stream);
    this.sampler = setInterval(() => void this.sample().catch(() => undefined), options.rateSampleMs ?? 5_000);
    this.sampler.unref();
  }

  bind(probe: ServiceProbe): void {
    this.probe = probe;
    if (probe.advanceS !== undefined) this.history.setAdvance(probe.advanceS);
  }

  /** One published record (the service's hot path: one row write, no work without clients). */
  record(r: RiskRecord): void {
    // The dashboard must never stop the service: a fault here is counted, not thrown into the publisher.
    try {
      this.history.add(r);
      this.stream.publish(r);
    } catch {
      this.errors++;
    }
  }

  /** Serves `path` if it is one of the dashboard's; false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<boolean> {
    switch (path) {
      case '/events':
        this.stream.connect(req, res);
        return true;
      case '/api/now':
        json(req, res, 200, this.history.now());
        return true;
      case '/api/history': {
        const point = query.get('point');
        if (point === null || point === '') {
          json(req, res, 400, { error: 'bad_request', message: 'give the point: /api/history?point=ID' });
          return true;
        }
        const series = this.history.history(point);
        if (series === undefined) json(req, res, 404, { error: 'unknown_point', message: `no record of point ${JSON.stringify(point)} (yet)` });
        else json(req, res, 200, series);
        return true;
      }
      case '/api/heat': {
        const text = query.get('ends');
        const ends = text === null ? DEFAULT_HEAT_ENDS : Number(text);
        if (!Number.isInteger(ends) || ends < 1) {
          json(req, res, 400, { error: 'bad_request', message: `ends must be a positive integer (got ${JSON.stringify(text)})` });
          return true;
        }
        json(req, res, 200, this.history.heat(ends));
        return true;
      }
      case '/api/health':
        json(req, res, 200, await this.health());
        return true;
      case '/api/words':
        json(req, res, 200, { levels: this.probe?.riskLevels ?? DEFAULT_RISK_LEVELS, features: FEATURE_WORDS });
        return true;
      default: {
        const file = STATIC_FILES[path];
        if (file === undefined) return false;
        const body = await readFile(file.path);
        res
          .writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache', 'content-length': body.length })
          .end(req.method === 'HEAD' ? undefined : body);
        return true;
      }
    }
  }

  /** From the same sources as /metrics: its counters, and the probe its gauges read. */
  async health(): Promise<DashboardHealth> {
    const now = await this.sample();
    const since = this.samples.find((s) => now.atMs - s.atMs <= RATE_WINDOW_MS && s !== now);
    const rate = since === undefined || now.atMs === since.atMs ? null : ((now.total - since.total) * 1000) / (now.atMs - since.atMs);
    const deadLetters: Record<string, Record<string, number>> = {};
    for (const v of await this.values('dead_letters_total')) {
      const topic = String(v.labels.topic);
      (deadLetters[topic] ??= {})[String(v.labels.reason)] = v.value;
    }
    const rowsOut = (await this.values('rows_out_total')).reduce((sum, v) => sum + v.value, 0);
    const p = this.probe;
    const watermark = p?.watermarkS() ?? -Infinity;
    const lag: Record<string, number> = {};
    let lagTotal = 0;
    p?.consumerLag((partition, n) => {
      lag[String(partition)] = n;
      lagTotal += n;
    });
    return {
      events_per_s: rate,
      records_in: now.total,
      rows_out: rowsOut,
      dead_letters: deadLetters,
      watermark_s: Number.isFinite(watermark) ? watermark : null,
      watermark_lag_s: Number.isFinite(watermark) ? Date.now() / 1000 - watermark : null,
      consumer_lag: lag,
      consumer_lag_total: lagTotal,
      stream_clients: this.stream.clientCount,
      stream_dropped: this.stream.dropped,
      dashboard_errors: this.errors,
      history: { points: this.history.pointCount, ends_per_point: this.history.capacity, bytes: this.history.ringBytes },
    };
  }

  close(): void {
    clearInterval(this.sampler);
    this.stream.close();
  }

  /** Car records read so far (saferoads_records_in_total of the car topic), kept for the rate. */
  private async sample(): Promise<Sample> {
    const car = this.probe?.carTopic;
    let total = 0;
    for (const v of await this.values('records_in_total')) if (car !== undefined && v.labels.topic === car) total += v.value;
    const s = { atMs: performance.now(), total };
    this.samples.push(s);
    // Bounded: samples older than the rate window go (one older one stays as the base).
    while (this.samples.length > 2 && s.atMs - this.samples[1].atMs > RATE_WINDOW_MS) this.samples.shift();
    if (this.samples.length > 1024) this.samples.splice(0, this.samples.length - 1024);
    return s;
  }

  private async values(name: string): Promise<{ value: number; labels: Record<string, string | number | undefined> }[]> {
    const metric = this.metrics.registry.getSingleMetric(`${METRIC_PREFIX}${name}`);
    if (metric === undefined) return [];
    return (await metric.get()).values;
  }
}

const PAGE_DIR = join(PACKAGE_ROOT, 'src', 'dashboard', 'page');
const UPLOT_DIR = join(PACKAGE_ROOT, 'node_modules', 'uplot', 'dist');
const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The page's files by URL path: a fixed list, so no request names a file outside it. */
const STATIC_FILES: Readonly<Record<string, { path: string; type: string }>> = Object.freeze({
  '/': { path: join(PAGE_DIR, 'index.html'), type: HTML },
  '/index.html': { path: join(PAGE_DIR, 'index.html'), type: HTML },
  '/assets/app.js': { path: join(PAGE_DIR, 'app.js'), type: JS },
  '/assets/style.css': { path: join(PAGE_DIR, 'style.css'), type: CSS },
  '/vendor/uplot.iife.min.js': { path: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: JS },
  '/vendor/uPlot.min.css': { path: join(UPLOT_DIR, 'uPlot.min.css'), type: CSS },
});

function json(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text);
}
