import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerStartError } from '../../errors.js';
import { probeCluster } from '../client.js';
import { ensureBrokerJars } from './maven-cache.js';
import { type LocalBrokerOptions, resolveLocalBrokerOptions, type SaslSslListenerOptions } from './options.js';
import { freePort, isPortFree } from './ports.js';
import { lastLine, runCommand } from './run-command.js';

/** A broker process this program started; `stop()` ends it and removes its data. */
export interface RunningBroker {
  readonly bootstrap: string;
  /** The SASL_SSL listener's address (`127.0.0.1:PORT`) when options.saslSsl asked for one. */
  readonly secureBootstrap?: string;
  readonly pid: number;
  /** The broker's temporary folder (config, data, logs); gone after stop(). */
  readonly workDir: string;
  /** Milliseconds spent fetching jars (0 on a warm cache) and starting the broker. */
  readonly timings: { fetchMs: number; startMs: number };
  stop(): Promise<void>;
}

/**
 * The broker on this machine's Java, which can also be taken down and brought back (fault tests:
 * a broker outage). `pid` is the last JVM's started (it changes on resume(); not alive while halted).
 */
export interface JvmBroker extends RunningBroker {
  /**
   * Ends the broker JVM (SIGKILL by default: a crash; SIGTERM: a clean shutdown) but keeps its
   * work dir, data and ports, so resume() brings the same broker back. Resolves once the JVM is gone.
   * Meanwhile a watchdog still removes the work dir if this process dies.
   */
  halt(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /**
   * Starts a halted broker again on the same port and data dir; resolves once it answers metadata
   * requests. A broker that cannot come back is stopped (data removed) and BrokerStartError thrown.
   */
  resume(): Promise<void>;
  /** True between halt() and resume(). */
  readonly halted: boolean;
}

const KAFKA_MIN_JAVA = 17;
/** Formatting a fresh log dir takes about a second; this only guards against a hung JVM. */
const STORAGE_FORMAT_TIMEOUT_MS = 120_000;

async function checkJava(javaPath: string): Promise<void> {
  let result;
  try {
    result = await runCommand(javaPath, ['-version'], { timeoutMs: 30_000 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `Java (${javaPath}) not found` : `cannot run Java (${javaPath}): ${String(error)}`;
    throw new BrokerStartError(
      `${why}: install Java ${KAFKA_MIN_JAVA}+ (apt-get install openjdk-17-jre-headless) or set JAVA_HOME, or set KAFKA_BROKERS=host:port to use an existing cluster`,
      { cause: error },
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.output);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (result.code !== 0 || !(major >= KAFKA_MIN_JAVA)) {
    throw new BrokerStartError(
      `Kafka 4 needs Java ${KAFKA_MIN_JAVA}+, but ${javaPath} -version says: ${lastLine(result.output)}; install Java 17 or point JAVA_HOME at one`,
    );
  }
}

/**
 * Kafka's cluster id: 16 random bytes, URL-safe base64 without padding — never starting with "-",
 * which the storage tool's argument parser would take for an option (1 start in 64 did; Kafka's own
 * Uuid.randomUuid() draws again for the same reason).
 */
export function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * server.properties lines of the SASL_SSL listener: SCRAM (credentials from the storage format) and
 * PLAIN (users in the JAAS line) on a PEM keystore. Client certificates are not required.
 */
function saslSslProperties(saslSsl: SaslSslListenerOptions): string {
  const plainUsers = saslSsl.users.map((u) => `user_${u.name}="${u.password}"`).join(' ');
  return `listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=${saslSsl.keystorePem}
`;
}

/** The storage tool's arguments that create every user's SCRAM credentials (KRaft keeps them in the metadata log). */
function scramFormatArgs(saslSsl: SaslSslListenerOptions | undefined): string[] {
  if (saslSsl === undefined) return [];
  return saslSsl.users.flatMap((u) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name=${u.name},password=${u.password}]`]),
  );
}

function serverProperties(workDir: string, port: number, controllerPort: number, secure?: { port: number; options: SaslSslListenerOptions }): string {
  const extraListener = secure ? `,SASL_SSL://127.0.0.1:${secure.port}` : '';
  return `# written by saferoads for a single-node development broker; deleted when it stops
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${extraListener}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${extraListener}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${secure ? ',SASL_SSL:SASL_SSL' : ''}
${secure ? saslSslProperties(secure.options) : ''}log.dirs=${join(workDir, 'data')}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
`;
}

function log4jProperties(workDir: string): string {
  return `status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${join(workDir, 'broker.log')}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
`;
}

function readTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-64 * 1024);
  } catch {
    return '';
  }
}

/** Picks the line of a broker log that best explains why it stopped. */
function explainExit(log: string): string {
  const lines = log.split('\n');
  const fatal = lines.filter((l) => /\b(ERROR|FATAL)\b|Exception/.test(l)).at(-1);
  return lastLine(fatal ?? log);
}

/**
 * A watchdog process, detached from ours, that stops the broker if this process dies without
 * stopping it (kill -9, a crashed test runner): no broker is ever left behind. Without a broker
 * (halted), it only removes the work dir when this process dies.
 */
function startWatchdog(brokerPid: number | undefined, workDir: string): number | undefined {
  const script =
    brokerPid === undefined
      ? `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
rm -rf '${workDir}'`
      : `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${brokerPid} 2>/dev/null; do sleep 1; done
if kill -0 ${brokerPid} 2>/dev/null; then kill -TERM ${brokerPid}; for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 ${brokerPid} 2>/dev/null || break; sleep 1; done; kill -KILL ${brokerPid} 2>/dev/null; rm -rf '${workDir}'; fi`;
  const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  return watchdog.pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a single-node Apache Kafka (KRaft, broker+controller) from the official jars on this
 * machine's Java: loopback listeners, free ports, a temporary log dir, a small heap.
 */
export async function startJvmBroker(options: Partial<LocalBrokerOptions> = {}, signal?: AbortSignal): Promise<JvmBroker> {
  const o = resolveLocalBrokerOptions(options);
  /** `signal` aborted (Ctrl-C while starting): give up, nothing left behind. */
  const checkCancelled = () => {
    if (signal?.aborted) throw new BrokerStartError('Kafka broker start was cancelled');
  };
  await checkJava(o.javaPath);
  checkCancelled();
  const fetchStart = performance.now();
  const { libs, fetched } = await ensureBrokerJars(o);
  checkCancelled();
  const fetchMs = fetched ? performance.now() - fetchStart : 0;
  const startedAt = performance.now();

  if (o.port !== 0 && !(await isPortFree(o.port))) {
    throw new BrokerStartError(
      `port ${o.port} on 127.0.0.1 is taken: stop what listens there or choose another port with SAFEROADS_KAFKA_PORT (0 picks a free one)`,
    );
  }
  const port = o.port !== 0 ? o.port : await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  let securePort: number | undefined;
  if (o.saslSsl !== undefined) {
    securePort = await freePort();
    while (securePort === port || securePort === controllerPort) securePort = await freePort();
  }

  const workDir = mkdtempSync(join(tmpdir(), 'saferoads-kafka-'));
  const config = join(workDir, 'server.properties');
  writeFileSync(
    config,
    serverProperties(workDir, port, controllerPort, securePort === undefined ? undefined : { port: securePort, options: o.saslSsl! }),
  );
  writeFileSync(join(workDir, 'log4j2.properties'), log4jProperties(workDir));
  const classpath = join(libs, '*');
  const jvmFlags = [
    `-Xmx${o.heap}`,
    '-Xms128m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(workDir, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${workDir}`,
  ];
  const cleanup = () => rmSync(workDir, { recursive: true, force: true });
  // Until the broker's own exit handler takes over (killOnExit): an exit while formatting removes the dir.
  process.once('exit', cleanup);

  const format = await runCommand(
    o.javaPath,
    [...jvmFlags, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', config, ...scramFormatArgs(o.saslSsl)],
    { timeoutMs: STORAGE_FORMAT_TIMEOUT_MS },
  );
  if (format.code !== 0 || signal?.aborted) {
    process.removeListener('exit', cleanup);
    cleanup();
    checkCancelled();
    const what = format.timedOut
      ? `did not finish within ${STORAGE_FORMAT_TIMEOUT_MS} ms (is the machine overloaded?)`
      : `failed (exit ${format.code ?? format.signal}): ${lastLine(format.output)}`;
    throw new BrokerStartError(`Kafka storage format ${what}; if the jars are damaged, delete ${o.cacheDir} to refetch them`);
  }

  const outPath = join(workDir, 'broker.out');
  const bootstrap = `127.0.0.1:${port}`;

  /** The JVM of the moment: replaced by resume(), undefined while halted or after stop(). */
  interface Jvm {
    child: ChildProcess;
    pid: number;
    exited: boolean;
    gone: Promise<void>;
    watchdogPid: number | undefined;
  }
  let jvm: Jvm | undefined;
  /** The pid of the last JVM started (kept after halt() and stop(): callers check it is gone). */
  let lastPid = -1;
  /** The watchdog of a halted broker (removes the work dir if we die). */
  let dirWatchdogPid: number | undefined;

  const killWatchdog = (pid: number | undefined) => {
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
  };

  /** Spawns the broker JVM on the config in workDir, with its watchdog. */
  const launch = async (): Promise<Jvm> => {
    const out = openSync(outPath, 'a');
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and a broker
    // that died with it would leave the service (demo, run without --brokers) talking to nobody while
    // it stops. We stop it ourselves, after the service; the watchdog covers our own death.
    const child = spawn(o.javaPath, [...jvmFlags, '-cp', classpath, 'kafka.Kafka', config], {
      stdio: ['ignore', out, out],
      detached: true,
    });
    closeSync(out);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    if (child.pid === undefined) throw new BrokerStartError(`could not start Java (${o.javaPath}): ${String(await spawnError)}`);
    const started: Jvm = { child, pid: child.pid, exited: false, gone: Promise.resolve(), watchdogPid: undefined };
    started.gone = new Promise<void>((resolve) =>
      child.once('exit', () => {
        started.exited = true;
        resolve();
      }),
    );
    started.watchdogPid = startWatchdog(started.pid, workDir);
    lastPid = started.pid;
    return started;
  };

  const killOnExit = () => {
    if (jvm && !jvm.exited) jvm.child.kill('SIGKILL');
    cleanup();
  };
  process.once('exit', killOnExit);
  process.removeListener('exit', cleanup);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      const current = jvm;
      if (current && !current.exited) {
        current.child.kill('SIGTERM');
        const graceful = await Promise.race([current.gone.then(() => true), sleep(15_000, undefined, { ref: false }).then(() => false)]);
        if (!graceful) {
          current.child.kill('SIGKILL');
          await current.gone;
        }
      }
      killWatchdog(current?.watchdogPid);
      killWatchdog(dirWatchdogPid);
      jvm = undefined;
      cleanup();
    })());

  /** Waits until the broker answers, or explains why it does not (the broker is stopped then). */
  const waitReady = async (current: Jvm, what: string): Promise<void> => {
    const deadline = Date.now() + o.startTimeoutMs;
    for (;;) {
      if (current.exited) {
        const log = readTail(join(workDir, 'broker.log')) + readTail(outPath);
        await stop();
        if (/Address already in use/i.test(log)) {
          throw new BrokerStartError(
            `Kafka could not bind 127.0.0.1:${port} or :${controllerPort} (address already in use): free the port or choose another with SAFEROADS_KAFKA_PORT`,
          );
        }
        throw new BrokerStartError(`Kafka broker exited during ${what}: ${explainExit(log)}`);
      }
      if (stopped !== undefined) throw new BrokerStartError(`Kafka broker was stopped during ${what}`);
      if (signal?.aborted && what === 'start-up') {
        await stop();
        checkCancelled();
      }
      if (Date.now() > deadline) {
        await stop();
        throw new BrokerStartError(
          `Kafka broker did not become ready within ${o.startTimeoutMs} ms: raise SAFEROADS_KAFKA_START_TIMEOUT_MS on a slow machine, or check the Java heap (SAFEROADS_KAFKA_HEAP)`,
        );
      }
      if (await probeCluster([bootstrap], Math.min(2_000, Math.max(1, deadline - Date.now())))) return;
      await sleep(200);
    }
  };

  try {
    jvm = await launch();
  } catch (error) {
    process.removeListener('exit', killOnExit);
    cleanup();
    throw error;
  }
  await waitReady(jvm, 'start-up');

  let halting: Promise<void> | undefined;
  const halt = (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') =>
    (halting ??= (async () => {
      if (stopped !== undefined) throw new Error('halt(): the broker was stopped');
      const current = jvm;
      if (current === undefined) return;
      // The broker watchdog would see the JVM gone and quit; this one keeps guarding the data.
      dirWatchdogPid = startWatchdog(undefined, workDir);
      killWatchdog(current.watchdogPid);
      jvm = undefined;
      if (!current.exited) current.child.kill(signal);
      if (signal === 'SIGTERM') {
        const graceful = await Promise.race([current.gone.then(() => true), sleep(15_000, undefined, { ref: false }).then(() => false)]);
        if (!graceful) current.child.kill('SIGKILL');
      }
      await current.gone;
    })());

  const resume = async () => {
    if (stopped !== undefined) throw new Error('resume(): the broker was stopped');
    if (halting === undefined) return;
    await halting;
    if (!(await isPortFree(port)) || !(await isPortFree(controllerPort))) {
      await stop();
      throw new BrokerStartError(`cannot resume the Kafka broker: port ${port} or ${controllerPort} on 127.0.0.1 was taken while it was halted`);
    }
    let current: Jvm;
    try {
      current = await launch();
    } catch (error) {
      await stop();
      throw error;
    }
    jvm = current;
    killWatchdog(dirWatchdogPid);
    dirWatchdogPid = undefined;
    halting = undefined;
    await waitReady(current, 'resume');
  };

  const startMs = performance.now() - startedAt;
  return {
    bootstrap,
    ...(securePort === undefined ? {} : { secureBootstrap: `127.0.0.1:${securePort}` }),
    get pid() {
      return lastPid;
    },
    get halted() {
      return halting !== undefined && stopped === undefined;
    },
    workDir,
    timings: { fetchMs, startMs },
    stop,
    halt,
    resume,
  };
}
