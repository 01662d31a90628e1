/**
 * Metrics, health, the live dashboard's routes and their HTTP server as one unit the CLI starts before anything connects (a
 * port in use stops the program at once, exit 2) and hands to the service, which binds its probe.
 */
import { Dashboard, type DashboardOptions } from '../dashboard/dashboard.js';
import type { RiskRecord } from '../join/types.js';
import { Health, type HealthOptions } from './health.js';
import { type ListenAddress, type ObservabilityServer, startHttpServer } from './http.js';
import { NO_METRICS, PromMetrics, type ServiceMetrics } from './metrics.js';
import type { ServiceProbe } from './probe.js';

/** What the service is given: where to count, and where to show its probe. */
export interface ServiceObserver {
  readonly metrics: ServiceMetrics;
  bind(probe: ServiceProbe): void;
  /** Each published record (the dashboard's history and event stream); called on the service's hot path. */
  record?(r: RiskRecord): void;
}

/** Nothing observed (`--http off`). */
export const NO_OBSERVER: ServiceObserver = Object.freeze({ metrics: NO_METRICS, bind: () => undefined });

export interface ObservabilityOptions {
  health?: Partial<HealthOptions>;
  /** prom-client's process metrics (default true). */
  defaultMetrics?: boolean;
  /** The flag named in a listen error. */
  flag?: string;
  /** The live dashboard's routes (/events, /api/*) on the same server; false: none. Default: on. */
  dashboard?: Partial<DashboardOptions> | false;
}

export class Observability implements ServiceObserver {
  private constructor(
    readonly metrics: PromMetrics,
    readonly health: Health,
    private readonly server: ObservabilityServer,
    /** The live dashboard's history and event stream (undefined with `dashboard: false`). */
    readonly dashboard: Dashboard | undefined,
  ) {}

  /** Starts metrics, health and the HTTP server on `address`; ConfigError if it cannot listen. */
  static async start(address: ListenAddress, options: ObservabilityOptions = {}): Promise<Observability> {
    const metrics = new PromMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    const health = new Health(options.health);
    const dashboard = options.dashboard === false ? undefined : new Dashboard(metrics, options.dashboard);
    try {
      const server = await startHttpServer(
        address,
        {
          metrics: () => metrics.text(),
          metricsContentType: metrics.registry.contentType,
          liveness: () => health.liveness(),
          readiness: () => health.readiness(),
          routes: dashboard ? (req, res, path, query) => dashboard.handle(req, res, path, query) : undefined,
        },
        options.flag,
      );
      return new Observability(metrics, health, server, dashboard);
    } catch (error) {
      health.close();
      dashboard?.close();
      throw error;
    }
  }

  /** The bound address (the real port when 0 was asked). */
  get address(): ListenAddress {
    return this.server.address;
  }

  bind(probe: ServiceProbe): void {
    this.metrics.bind(probe);
    this.health.bind(probe);
    this.dashboard?.bind(probe);
  }

  record(r: RiskRecord): void {
    this.dashboard?.record(r);
  }

  async close(): Promise<void> {
    this.health.close();
    // Ends the event streams first: the server's close waits for open responses otherwise.
    this.dashboard?.close();
    await this.server.close();
  }
}
