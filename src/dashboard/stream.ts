/**
 * Server-Sent Events: `GET /events` streams every published record to every connected client as
 * an event `record` whose data is one compact JSON object (compactRecord), plus a comment line
 * every heartbeat (15 s) so that proxies and browsers keep the connection open.
 *
 * Never blocks the service: records are serialised once (only while a client is connected),
 * queued, and written to every client at the next turn of the event loop as one chunk. A client
 * that does not read (its unsent buffer above maxBufferBytes) is dropped; EventSource reconnects
 * by itself (the `retry` field) and can catch up from /api/now.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RiskRecord } from '../join/types.js';

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Unsent bytes a client may have before it is dropped. */
export const DEFAULT_MAX_BUFFER_BYTES = 1 << 20;
/** Queued bytes that are written at once instead of at the next turn of the loop. */
const FLUSH_BYTES = 64 * 1024;
/** EventSource's reconnection delay, ms. */
export const RETRY_MS = 2_000;

/** What an event `record` carries: the score and what it depends on (the short window's statistics). */
export interface CompactRecord {
  point_id: string;
  window_end: number;
  score: number;
  reliable: boolean;
  mean_speed_kmh: number | null;
  v85_kmh: number | null;
  flow_vph: number;
  occupancy: number | null;
  count: number;
  temp: number | null;
  snow: number | null;
  rain: number | null;
  contributions: Record<string, number>;
}

export function compactRecord(r: RiskRecord): CompactRecord {
  const s = r.short;
  const w = r.weather;
  return {
    point_id: r.point_id,
    window_end: r.window_end,
    score: r.risk.score,
    reliable: r.risk.reliable,
    mean_speed_kmh: s.mean_speed_kmh,
    v85_kmh: s.v85_kmh,
    flow_vph: s.flow_vph,
    occupancy: s.occupancy,
    count: s.count,
    temp: w?.temp ?? null,
    snow: w?.snow ?? null,
    rain: w?.rain ?? null,
    contributions: r.risk.contributions,
  };
}

export interface EventStreamOptions {
  heartbeatMs: number;
  maxBufferBytes: number;
}

interface Client {
  res: ServerResponse;
}

export class EventStream {
  private readonly clients = new Set<Client>();
  private readonly options: EventStreamOptions;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private readonly heartbeat: NodeJS.Timeout;
  /** Clients dropped for not reading. */
  dropped = 0;
  /** Events queued for the clients. */
  sent = 0;

  constructor(options: Partial<EventStreamOptions> = {}) {
    this.options = { heartbeatMs: DEFAULT_HEARTBEAT_MS, maxBufferBytes: DEFAULT_MAX_BUFFER_BYTES, ...options };
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes `GET /events`: the response stays open until the client goes or close(). */
  connect(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Reverse proxies (nginx) would buffer the stream otherwise.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const client: Client = { res };
    this.clients.add(client);
    const gone = (): void => {
      this.clients.delete(client);
    };
    req.once('close', gone);
    res.once('close', gone);
    res.once('error', gone);
    // First bytes at once: the client knows it is connected.
    res.write(`retry: ${RETRY_MS}\n: connected\n\n`);
  }

  /** One published record: nothing to do while nobody listens. */
  publish(r: RiskRecord): void {
    if (this.clients.size === 0) return;
    const chunk = `event: record\ndata: ${JSON.stringify(compactRecord(r))}\n\n`;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.sent++;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is queued to every client (one chunk each). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.write(chunk);
  }

  private write(chunk: string): void {
    for (const client of this.clients) {
      const res = client.res;
      if (res.destroyed || res.writableEnded) {
        this.clients.delete(client);
        continue;
      }
      // A client that does not keep up: its buffer would grow without bound. Drop it; it reconnects.
      if (res.writableLength + chunk.length > this.options.maxBufferBytes) {
        this.clients.delete(client);
        this.dropped++;
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  /** Ends every stream and the heartbeat. */
  close(): void {
    clearInterval(this.heartbeat);
    this.pending = [];
    this.pendingBytes = 0;
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }
}
