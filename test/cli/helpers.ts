import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type IncomingRecord, KafkaClient } from '../../src/kafka/client.js';
import { built } from '../kafka/local/processes.js';
import { brokers } from '../kafka/helpers.js';

/** Reads `topic` from the beginning until `expected` records arrived (a guard, not a timing assertion). */
export async function consumeAll(topic: string, expected: number, guardMs = 45_000): Promise<IncomingRecord[]> {
  const client = new KafkaClient({ brokers: brokers(), clientId: 'saferoads-test-consume' });
  const received: IncomingRecord[] = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  if (expected === 0) done();
  const consumer = await client.consume({
    groupId: `test-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch: async (records) => {
      received.push(...records);
      if (received.length >= expected) done();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      all,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${topic}: ${received.length} of ${expected} records arrived`)), guardMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.close();
    await client.close();
  }
  return received;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `saferoads` CLI (dist/src/cli/main.js) with `args`. */
export function saferoads(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const main = built('src/cli/main.js');
  // Only PATH and the given variables: no KAFKA_BROKERS or SAFEROADS_* leak in from the shell.
  const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: childEnv, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
