#!/usr/bin/env node
/**
 * `npm run kafka`: a Kafka broker in the foreground for development. Prints its bootstrap address
 * and runs until Ctrl-C (or SIGTERM), then stops it and removes its data.
 */
import { acquireCluster } from '../kafka/cluster.js';
import { ConfigError } from '../errors.js';
import { failAndExit } from './fail.js';

const HELP = `Usage: saferoads kafka

Starts a local Apache Kafka broker in the foreground (KRaft, one node) on this machine's Java, or
with Docker when an engine answers, prints its bootstrap address, and stops it (removing its data)
on Ctrl-C or SIGTERM. With KAFKA_BROKERS set it only prints that address. Settings: the
SAFEROADS_KAFKA_* environment variables (README, "Kafka").
`;

async function main(): Promise<void> {
  // Run as \`saferoads kafka …\` (argv: node main.js kafka …) or as this script (node kafka.js …).
  const args = process.argv.slice(2);
  if (args[0] === 'kafka') args.shift();
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (args.length > 0) throw new ConfigError(JSON.stringify(args[0]), 'is not an option of saferoads kafka: it takes none (saferoads kafka --help)');
  const began = performance.now();
  const cluster = await acquireCluster();
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  const how =
    cluster.kind === 'external'
      ? 'KAFKA_BROKERS (external cluster, not started by saferoads)'
      : cluster.kind === 'docker'
        ? `Docker, ready in ${seconds} s`
        : `Apache Kafka on Java (pid ${cluster.pid}), ready in ${seconds} s` +
          (cluster.timings.fetchMs > 0 ? `, of which ${(cluster.timings.fetchMs / 1000).toFixed(1)} s fetching jars` : '');
  process.stdout.write(`Kafka bootstrap: ${cluster.brokers.join(',')}\n`);
  process.stdout.write(`(${how}) — export KAFKA_BROKERS=${cluster.brokers.join(',')} to use it; Ctrl-C stops it.\n`);
  if (cluster.kind === 'external') return;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping Kafka…\n');
    await cluster.release();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Keep the event loop alive until a signal arrives.
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => failAndExit(error, 'kafka'));
