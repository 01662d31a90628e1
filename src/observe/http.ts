/**
 * The observability HTTP server: `/metrics` (Prometheus text), `/livez` and `/readyz` (JSON
 * `{ok, checks: {name: {ok, detail}}}`, 200 when ok, 503 when not), and further routes given
 * (the dashboard's, src/dashboard/dashboard.ts). Plain node:http: a few GET routes need no framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import type { HealthReport } from './health.js';

export interface ListenAddress {
  host: string;
  /** 0: any free port (tests). */
  port: number;
}

/** Loopback by default: metrics and health say a lot about the deployment; exposing them is a choice. */
export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:9464';

/**
 * `HOST:PORT` (IPv6 in brackets: `[::1]:9464`) or `off` → the address, or null for off. Throws
 * ConfigError naming `flag`.
 */
export function parseListenAddress(text: string, flag = '--http'): ListenAddress | null {
  const raw = text.trim();
  if (raw.toLowerCase() === 'off') return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(flag, `must be HOST:PORT (e.g. ${DEFAULT_HTTP_ADDRESS}, or 0.0.0.0:9464 to expose it) or off (got ${JSON.stringify(text)})`);
  }
  return { host: m[1].startsWith('[') ? m[1].slice(1, -1) : m[1], port };
}

export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** What the server serves. */
export interface HttpHandlers {
  metrics(): Promise<string>;
  metricsContentType: string;
  liveness(): HealthReport;
  readiness(): HealthReport;
  /** Further routes (the dashboard's): true when it served the request. */
  routes?(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<boolean>;
}

export interface ObservabilityServer {
  /** The bound address (the real port when 0 was asked). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/**
 * Listens on `address`. A port in use, an address not of this machine or a port that needs
 * privileges is a ConfigError naming `flag` (exit 2: the operator picks another --http).
 */
export async function startHttpServer(address: ListenAddress, handlers: HttpHandlers, flag = '--http'): Promise<ObservabilityServer> {
  const server = createServer((req, res) => void handle(req, res, handlers));
  // A scraper's idle keep-alive connection must not hold the process at exit.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(listenError(error, address, flag));
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: address.host, port: bound.port },
    close: () => closeServer(server),
  };
}

function listenError(error: NodeJS.ErrnoException, address: ListenAddress, flag: string): Error {
  const where = formatAddress(address);
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(flag, `${where}: the port is in use (another saferoads?); choose another port or --http off`, { cause: error });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(flag, `${where}: not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its interface addresses`, { cause: error });
    case 'EACCES':
      return new ConfigError(flag, `${where}: the port needs privileges; use a port above 1023`, { cause: error });
    default:
      return error;
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, h: HttpHandlers): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  try {
    switch (path) {
      case '/metrics': {
        const body = await h.metrics();
        res.writeHead(200, { 'content-type': h.metricsContentType }).end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/livez':
        return json(req, res, h.liveness());
      case '/readyz':
        return json(req, res, h.readiness());
      default:
        if (h.routes && (await h.routes(req, res, path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1))))) return;
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try /metrics, /livez, /readyz${h.routes ? ', /events, /api/now, /api/history?point=ID, /api/heat, /api/health, / (the dashboard page)' : ''}\n`);
    }
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function json(req: IncomingMessage, res: ServerResponse, report: HealthReport): void {
  const body = `${JSON.stringify(report)}\n`;
  res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections of a scraper would hold close() until they time out.
    server.closeAllConnections();
  });
}
