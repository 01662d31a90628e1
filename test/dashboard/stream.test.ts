import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { compactRecord, EventStream } from '../../src/dashboard/stream.js';
import { record } from './records.js';
import { openEvents, until } from './sse.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function serve(stream: EventStream): Promise<string> {
  const server: Server = createServer((req, res) => stream.connect(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
}

function newStream(options: ConstructorParameters<typeof EventStream>[0] = {}): EventStream {
  const stream = new EventStream(options);
  cleanup.push(() => stream.close());
  return stream;
}

describe('EventStream', () => {
  it('streams every record as a compact JSON event `record` to every client, in order', async () => {
    const stream = newStream();
    const url = await serve(stream);
    const a = await openEvents(url);
    const b = await openEvents(url);
    cleanup.push(() => a.abort(), () => b.abort());
    expect(a.status).toBe(200);
    expect(a.contentType).toMatch(/^text\/event-stream/);
    await until(() => stream.clientCount === 2, 2_000, 'two clients');
    const records = [record('P1', 60, 0.1), record('P2', 60, 0.2, { weather: false }), record('P1', 120, 0.3)];
    for (const r of records) stream.publish(r);
    await until(() => a.events.length === 3 && b.events.length === 3, 2_000, 'three events each');
    for (const reader of [a, b]) {
      expect(reader.events.map((e) => e.event)).toEqual(['record', 'record', 'record']);
      expect(reader.events.map((e) => JSON.parse(e.data))).toEqual(records.map(compactRecord));
    }
    const first = JSON.parse(a.events[1].data);
    expect(first).toMatchObject({ point_id: 'P2', window_end: 60, score: 0.2, reliable: true, temp: null, count: 10, flow_vph: 120 });
    // Compact: not the whole record.
    expect(a.events[0].data.length).toBeLessThan(JSON.stringify(records[0]).length / 2);
  });

  it('does nothing for a record while nobody listens', () => {
    const stream = newStream();
    stream.publish(record('P1', 60, 0.1));
    expect(stream.sent).toBe(0);
  });

  it('sends a heartbeat comment every heartbeatMs', async () => {
    const stream = newStream({ heartbeatMs: 50 });
    const c = await openEvents(await serve(stream));
    cleanup.push(() => c.abort());
    await until(() => c.comments.filter((x) => x === 'heartbeat').length >= 2, 2_000, 'two heartbeats');
    expect(c.comments[0]).toBe('connected');
    expect(c.events).toEqual([]);
  });

  it('forgets a client that disconnects', async () => {
    const stream = newStream();
    const c = await openEvents(await serve(stream));
    await until(() => stream.clientCount === 1, 2_000, 'the client');
    c.abort();
    await c.ended;
    await until(() => stream.clientCount === 0, 2_000, 'the client gone');
    // Publishing after it left costs nothing.
    stream.publish(record('P1', 60, 0.1));
    expect(stream.sent).toBe(0);
  });

  it('drops a client whose unsent buffer exceeds the bound, never waiting for it; the others go on', async () => {
    const stream = newStream({ maxBufferBytes: 4096 });
    const url = await serve(stream);
    const fast = await openEvents(url);
    cleanup.push(() => fast.abort());
    // A client that reads nothing: its response's unsent bytes only grow.
    const req = new EventEmitter();
    const slow = Object.assign(new EventEmitter(), {
      destroyed: false,
      writableEnded: false,
      writableLength: 0,
      writeHead() {
        return slow;
      },
      write(chunk: string) {
        slow.writableLength += chunk.length;
        return false;
      },
      destroy() {
        slow.destroyed = true;
      },
      end() {},
    });
    stream.connect(req as never, slow as unknown as ServerResponse);
    await until(() => stream.clientCount === 2, 2_000, 'both clients');
    const n = 40;
    const started = performance.now();
    for (let k = 1; k <= n; k++) {
      stream.publish(record('P1', k * 60, k / 100));
      // One chunk per turn of the loop, as the service publishes batch by batch.
      await new Promise((r) => setImmediate(r));
    }
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(slow.destroyed).toBe(true);
    expect(stream.dropped).toBe(1);
    expect(slow.writableLength).toBeLessThanOrEqual(4096);
    await until(() => fast.events.length === n, 2_000, 'every event at the reading client');
    expect(stream.clientCount).toBe(1);
  });

  it('close() ends every stream', async () => {
    const stream = new EventStream();
    const c = await openEvents(await serve(stream));
    await until(() => stream.clientCount === 1, 2_000, 'the client');
    stream.close();
    await c.ended;
    expect(stream.clientCount).toBe(0);
  });
});
