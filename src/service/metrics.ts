import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StoreScan } from './store-scan.js';
import { JOB_STATES } from './job.js';
import type { JobStore } from './job-store.js';
import type { JobService } from './jobs.js';

// /metrics in the Prometheus text format, through prom-client: jobs by state, the queue,
// builds and cache hits, build durations, the store's size, and HTTP requests by route.
// Gauges are computed at scrape time from the job store and the queue, so they cannot
// drift from what the API answers.

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly builds: Counter<'result'>;
  private readonly buildSeconds: Histogram;
  private readonly http: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'route'>;

  constructor(o: { jobs: JobService; jobStore: JobStore; storeScan: StoreScan }) {
    const registry = this.registry;
    new Gauge({
      name: 'weld_jobs',
      help: 'Jobs by state',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0]));
        for (const j of o.jobStore.all()) counts[j.state]! += 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({ name: 'weld_queue_depth', help: 'Jobs waiting for a slot', registers: [registry], collect() { this.set(o.jobs.queueDepth); } });
    new Gauge({ name: 'weld_queue_oldest_wait_seconds', help: 'How long the oldest waiting job has waited', registers: [registry], collect() { this.set(o.jobs.oldestWaitSeconds()); } });
    new Gauge({ name: 'weld_jobs_running', help: 'Jobs building now', registers: [registry], collect() { this.set(o.jobs.runningCount); } });
    this.builds = new Counter({ name: 'weld_builds_total', help: 'Package builds by result: built, cached (a cache hit), failed, skipped, canceled', labelNames: ['result'], registers: [registry] });
    this.buildSeconds = new Histogram({ name: 'weld_build_duration_seconds', help: 'Duration of package builds that ran', buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600], registers: [registry] });
    const scan = () => o.storeScan.size();
    new Gauge({
      name: 'weld_store_blobs',
      help: 'Blobs in the content store (scanned at most once a minute)',
      registers: [registry],
      async collect() {
        this.set((await scan()).blobs);
      },
    });
    new Gauge({
      name: 'weld_store_bytes',
      help: 'Bytes of blobs in the content store (scanned at most once a minute)',
      registers: [registry],
      async collect() {
        this.set((await scan()).bytes);
      },
    });
    this.http = new Counter({ name: 'weld_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
    this.httpSeconds = new Histogram({ name: 'weld_http_request_duration_seconds', help: 'HTTP request durations by route', labelNames: ['route'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5], registers: [registry] });
    o.jobs.metrics = {
      onBuildEnded: (b) => {
        this.builds.inc({ result: b.state });
        if (b.seconds !== undefined) this.buildSeconds.observe(b.seconds);
      },
    };
  }

  onRequest(o: { method: string; route: string; status: number; seconds: number }): void {
    this.http.inc({ method: o.method, route: o.route, status: String(o.status) });
    this.httpSeconds.observe({ route: o.route }, o.seconds);
  }
}
