import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { HealthReport } from '../../src/observe/health.js';
import { formatAddress, type ObservabilityServer, parseListenAddress, startHttpServer } from '../../src/observe/http.js';
import { get } from './scrape.js';

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['0.0.0.0:9464', { host: '0.0.0.0', port: 9464 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    [' off ', null],
    ['OFF', null],
  ])('%j', (text, want) => {
    expect(parseListenAddress(text)).toEqual(want);
  });

  it.each(['9464', 'host', 'host:', ':9464', 'host:70000', '::1:9464', 'a b:1'])('%j → ConfigError naming the flag', (text) => {
    expect(() => parseListenAddress(text)).toThrow(ConfigError);
    expect(() => parseListenAddress(text, 'SAFEROADS_HTTP')).toThrow(/^SAFEROADS_HTTP must be HOST:PORT .* or off \(got/);
  });

  it('formats IPv6 in brackets', () => {
    expect(formatAddress({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(formatAddress({ host: '127.0.0.1', port: 1 })).toBe('127.0.0.1:1');
  });
});

describe('the HTTP server', () => {
  const servers: ObservabilityServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  let live: HealthReport = { ok: true, checks: { a: { ok: true, detail: 'fine' } } };
  let ready: HealthReport = { ok: false, checks: { b: { ok: false, detail: 'not yet' } } };
  const handlers = {
    metrics: async () => 'saferoads_x 1\n',
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    liveness: () => live,
    readiness: () => ready,
  };

  async function start(): Promise<string> {
    const s = await startHttpServer({ host: '127.0.0.1', port: 0 }, handlers);
    servers.push(s);
    expect(s.address.port).toBeGreaterThan(0);
    return `http://127.0.0.1:${s.address.port}`;
  }

  it('serves /metrics, and /livez and /readyz as JSON with 200 or 503', async () => {
    const base = await start();
    const metrics = await get(base, '/metrics');
    expect(metrics).toEqual({ status: 200, type: handlers.metricsContentType, body: 'saferoads_x 1\n' });
    const l = await get(base, '/livez');
    expect(l.status).toBe(200);
    expect(l.type).toBe('application/json');
    expect(JSON.parse(l.body)).toEqual(live);
    const r = await get(base, '/readyz?verbose=1');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ ok: false, checks: { b: { ok: false, detail: 'not yet' } } });
    ready = { ok: true, checks: {} };
    live = { ok: false, checks: { a: { ok: false, detail: 'blocked' } } };
    expect((await get(base, '/readyz')).status).toBe(200);
    expect((await get(base, '/livez')).status).toBe(503);
    expect((await get(base, '/nope')).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('answers 500 when collecting the metrics fails', async () => {
    const s = await startHttpServer({ host: '127.0.0.1', port: 0 }, { ...handlers, metrics: () => Promise.reject(new Error('boom')) });
    servers.push(s);
    const res = await get(`http://127.0.0.1:${s.address.port}`, '/metrics');
    expect(res.status).toBe(500);
    expect(res.body).toBe('boom\n');
  });

  it('an address in use is a ConfigError naming the flag (exit 2)', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const attempt = startHttpServer({ host: '127.0.0.1', port }, handlers);
      await expect(attempt).rejects.toBeInstanceOf(ConfigError);
      await expect(startHttpServer({ host: '127.0.0.1', port }, handlers)).rejects.toThrow(
        new RegExp(`^--http 127\\.0\\.0\\.1:${port}: the port is in use`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('an address not of this machine is a ConfigError', async () => {
    await expect(startHttpServer({ host: '192.0.2.1', port: 0 }, handlers)).rejects.toThrow(/--http 192\.0\.2\.1:0: not an address of this machine/);
  });

  it('closes with a keep-alive connection open', async () => {
    const s = await startHttpServer({ host: '127.0.0.1', port: 0 }, handlers);
    const res = await fetch(`http://127.0.0.1:${s.address.port}/metrics`, { headers: { connection: 'keep-alive' } });
    await res.text();
    const began = performance.now();
    await s.close();
    expect(performance.now() - began).toBeLessThan(1000);
  });
});
