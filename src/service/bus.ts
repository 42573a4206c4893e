import type { JobState, PackageState } from './job.js';

// weld's message bus: every job and package state change, and every log line, as it
// happens. `GET /events` and the live logs (SSE) listen here; the job store keeps the
// same facts durably, so a listener that joins late reads the past there first.

export type ServiceEvent =
  | { type: 'job'; job: string; state: JobState; reason: string; at: number }
  | {
      type: 'package';
      job: string;
      package: string;
      state: PackageState;
      at: number;
      key?: string;
      outputs?: Array<{ name: string; digest: string; size: number }>;
      durationMs?: number;
      error?: { code: string; message: string };
    }
  | { type: 'log'; job: string; seq: number; package?: string; text: string; at: number };

export type BusListener = (e: ServiceEvent) => void;

export class Bus {
  private readonly listeners = new Set<BusListener>();
  /** sequence number of the next event, for `/events`' SSE ids (per server process) */
  private seq = 0;

  publish(e: ServiceEvent): number {
    const id = this.seq++;
    for (const l of this.listeners) l(e);
    return id;
  }

  subscribe(l: BusListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
