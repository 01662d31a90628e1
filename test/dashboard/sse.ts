/** Reading a Server-Sent Events stream with fetch in tests. */

export interface SseEvent {
  event: string;
  data: string;
}

export interface SseReader {
  /** Events so far (comments are in `comments`). */
  readonly events: SseEvent[];
  readonly comments: string[];
  readonly status: number;
  readonly contentType: string | null;
  /** Resolves when the stream ended (by the server or abort()). */
  readonly ended: Promise<void>;
  abort(): void;
}

export async function openEvents(url: string): Promise<SseReader> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: data.join('\n') });
        }
      }
    } catch {
      // aborted, or the server dropped the connection
    }
  })();
  return { events, comments, status: res.status, contentType: res.headers.get('content-type'), ended, abort: () => controller.abort() };
}

export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
