// fd leaks: a process holding many fds that arrived by transfer and were never named by a call again, and (live) a
// process whose fd count grows at every sample. The counting is in fdtables.ts (a flag and a counter per entry
// change); this file only builds the alerts, which are rare. Pure.
import { SCHEMA_VERSION, type AlertRecord, type Ts } from '../model/records.js';
import { procName, type RecordBuilder } from './records.js';
import type { Process } from './state.js';

/** fds received and never used or closed that one process may hold before fd-leak is raised (`--leak-threshold`). */
export const DEFAULT_LEAK_THRESHOLD = 64;
/** samples (a second apart, live) that must each show more fds than the one before */
export const GROWTH_SAMPLES = 5;
/** sample fds an alert names */
const SAMPLES = 4;

/** The threshold sessions use when their options give none: the CLI sets it once from `--leak-threshold`. */
let defaultThreshold = DEFAULT_LEAK_THRESHOLD;

export function setLeakThreshold(n: number): void {
  defaultThreshold = n;
}

export function leakThreshold(given: number | undefined): number {
  return given ?? defaultThreshold;
}

/**
 * The process's table passed its level of `received` fds (arrived by transfer, never named by a call since) or of
 * `sent` fds (sent with SCM_RIGHTS, still held): one alert for all of them; the next when there are twice as many.
 */
export function leakAlert(out: RecordBuilder, p: Process, ts: Ts, leak: 'received' | 'sent'): void {
  const t = p.table;
  const received = leak === 'received';
  const count = received ? t.fresh : t.sent;
  const samples: Array<{ fd: number; target: string }> = [];
  const from = new Set<string>();
  for (const en of t.fds.values()) {
    if (!(received ? en.fresh : en.sent)) continue;
    if (samples.length < SAMPLES) samples.push({ fd: en.fd, target: en.ofd.target });
    if (received && from.size < 3 && en.origin.fromPid !== null) from.add(procName(en.origin.fromComm, en.origin.fromPid));
    if (samples.length === SAMPLES && (!received || from.size === 3)) break;
  }
  if (received) { while (t.leakAt <= t.fresh) t.leakAt *= 2; } else { while (t.sentAt <= t.sent) t.sentAt *= 2; }
  const shown = samples.map((s) => `fd ${s.fd} ${s.target}`).join(', ');
  const more = count > samples.length ? `, and ${count - samples.length} others` : '';
  const what = received
    ? `${count} fds received${from.size > 0 ? ` from ${[...from].join(', ')}` : ''} and never used or closed`
    : `${count} fds it sent and never closed`;
  out.alertRecord({
    v: SCHEMA_VERSION, type: 'alert', ts, kind: 'fd-leak', pid: p.pid, fd: null,
    message: `${procName(p.comm, p.pid)} holds ${what}: ${shown}${more}`,
    count, leak, samples, sentNotClosed: t.sent,
  });
}

interface Growth {
  counts: number[];
  times: Ts[];
  /** the fd count of the last alert: the next one needs twice as many */
  alerted: number;
}

/** Live mode: fd counts sampled a second apart; growth at every one of GROWTH_SAMPLES samples and +threshold overall. */
export class GrowthWatch {
  private readonly by = new Map<number, Growth>();

  constructor(private readonly threshold: number) {}

  /** One sample; the alert to raise, if any. */
  sample(p: Process, count: number, ts: Ts): AlertRecord | null {
    let g = this.by.get(p.pid);
    if (!g) { g = { counts: [], times: [], alerted: 0 }; this.by.set(p.pid, g); }
    const last = g.counts[g.counts.length - 1];
    if (last !== undefined && count <= last) { g.counts.length = 0; g.times.length = 0; }
    g.counts.push(count);
    g.times.push(ts);
    if (g.counts.length > GROWTH_SAMPLES) { g.counts.shift(); g.times.shift(); }
    if (g.counts.length < GROWTH_SAMPLES) return null;
    const first = g.counts[0]!;
    const growth = count - first;
    if (growth < this.threshold || (g.alerted > 0 && count < 2 * g.alerted)) return null;
    g.alerted = count;
    const t0 = g.times[0];
    const secs = t0 != null && ts !== null ? ` over ${Math.round(ts - t0)} s` : '';
    return {
      v: SCHEMA_VERSION, type: 'alert', ts, kind: 'fd-leak', pid: p.pid, fd: null,
      message: `${procName(p.comm, p.pid)} fd count keeps growing: ${first} -> ${count} (+${growth})${secs}, more at each of ${GROWTH_SAMPLES} samples`,
      count, leak: 'growth', growth, sentNotClosed: p.table.sent,
    };
  }

  /** A process that exited is forgotten. */
  forget(pid: number): void {
    this.by.delete(pid);
  }
}
