/** Command line of `npm run bench -- [options]`. */

export const SUITES = ['kernel', 'decode', 'shards', 'e2e', 'ceiling', 'batch', 'fetch', 'pandas', 'live'] as const;
export type SuiteName = (typeof SUITES)[number];

export interface BenchArgs {
  quick: boolean;
  suites: SuiteName[];
  /** Loop events for the e2e / ceiling suites (undefined: the default of the mode). */
  events?: number;
  /** Runs per figure (undefined: the default of the mode). */
  runs?: number;
  /** Directory for V8 CPU profiles of the e2e runs. */
  profileDir?: string;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--suites ${SUITES.join(',')}] [--events K] [--runs N] [--profile DIR]

  --quick          small inputs, fewer runs (under 3 minutes, broker start included)
  --suites LIST    comma-separated subset of: ${SUITES.join(', ')} (default: all);
                   batch: FlatBuffers 1–1000 events per message, fetch: kafkajs consumer settings,
                   pandas: a pandas client on the same data, live: emission latency at a real-time rate
  --events K       loop events produced to the broker for the e2e, ceiling, fetch and pandas suites
  --runs N         runs per figure (default 5; --quick runs e2e 2 times, decode, shards and ceiling 3)
  --profile DIR    write a V8 CPU profile (--cpu-prof) of every e2e run into DIR and print the top functions
`;

export class ArgsError extends Error {}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) throw new ArgsError(`${flag} needs a positive integer (got ${v ?? 'nothing'})`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { quick: false, suites: [...SUITES], help: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const value = () => (raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--quick':
        out.quick = true;
        break;
      case '--suites': {
        const v = value();
        const list = (v ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
        const bad = list.filter((s) => !(SUITES as readonly string[]).includes(s));
        if (list.length === 0 || bad.length > 0) throw new ArgsError(`--suites takes a list of ${SUITES.join(', ')} (got ${v ?? 'nothing'})`);
        out.suites = SUITES.filter((s) => list.includes(s));
        break;
      }
      case '--events':
        out.events = positiveInt('--events', value());
        break;
      case '--runs':
        out.runs = positiveInt('--runs', value());
        break;
      case '--profile': {
        const v = value();
        if (!v) throw new ArgsError('--profile needs a directory');
        out.profileDir = v;
        break;
      }
      case '--help':
      case '-h':
        out.help = true;
        break;
      default:
        throw new ArgsError(`unknown option ${raw}`);
    }
  }
  return out;
}
