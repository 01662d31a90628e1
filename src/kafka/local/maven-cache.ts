import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerStartError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../paths.js';
import type { LocalBrokerOptions } from './options.js';
import { lastLine, runCommand } from './run-command.js';

export const BROKER_POM = join(PACKAGE_ROOT, 'src', 'kafka', 'local', 'pom.xml');

/** The folder holding the broker's jars for this version, when the cache is complete. */
export function cachedLibsDir(options: Pick<LocalBrokerOptions, 'cacheDir' | 'kafkaVersion'>): string {
  return join(options.cacheDir, options.kafkaVersion, 'libs');
}

function isComplete(libs: string, version: string): boolean {
  return existsSync(libs) && readdirSync(libs).includes(`kafka_2.13-${version}.jar`);
}

/**
 * Makes sure the Kafka broker jars are in the cache, fetching them with Maven on a cold cache.
 * Maven writes into a fresh folder that is renamed into place only when complete, so an interrupted
 * fetch never leaves a half cache and two concurrent fetches do not corrupt each other.
 */
export async function ensureBrokerJars(options: LocalBrokerOptions): Promise<{ libs: string; fetched: boolean }> {
  const libs = cachedLibsDir(options);
  if (isComplete(libs, options.kafkaVersion)) return { libs, fetched: false };

  const versionDir = join(options.cacheDir, options.kafkaVersion);
  mkdirSync(versionDir, { recursive: true });
  const staging = join(versionDir, `libs.partial-${process.pid}-${Date.now()}`);
  const args = [
    '-B',
    '-q',
    '-f',
    BROKER_POM,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${staging}`,
    `-Dkafka.version=${options.kafkaVersion}`,
    ...options.mavenArgs,
  ];
  let result;
  try {
    result = await runCommand(options.mavenPath, args, { timeoutMs: options.fetchTimeoutMs });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `Maven (${options.mavenPath}) not found on PATH` : `cannot run Maven: ${String(error)}`;
    throw new BrokerStartError(
      `${why}: install Maven and Java 17 (apt-get install maven openjdk-17-jre-headless), or set KAFKA_BROKERS=host:port to use an existing cluster`,
      { cause: error },
    );
  }
  if (result.timedOut || result.code !== 0 || !isComplete(staging, options.kafkaVersion)) {
    rmSync(staging, { recursive: true, force: true });
    const what = result.timedOut
      ? `did not finish within ${options.fetchTimeoutMs} ms`
      : `failed (exit ${result.code ?? result.signal}): ${lastLine(result.output)}`;
    throw new BrokerStartError(
      `Maven could not fetch org.apache.kafka:kafka_2.13:${options.kafkaVersion} from Maven Central — ${what}; check that Maven Central is reachable (or ~/.m2/settings.xml mirrors), or set KAFKA_BROKERS=host:port`,
    );
  }
  try {
    renameSync(staging, libs);
  } catch (error) {
    // Another process completed the cache first; its copy is as good as ours.
    rmSync(staging, { recursive: true, force: true });
    if (!isComplete(libs, options.kafkaVersion)) throw error;
  }
  return { libs, fetched: true };
}
