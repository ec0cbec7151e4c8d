// `e`: the dashboard's current state as NDJSON records (pure part): what is open now and the transfers and alerts
// shown, in the contract's record types.
import { SCHEMA_VERSION, type FdRecord, type FdwatchRecord, type ProcessRecord, type SummaryRecord } from '../model/records.js';
import type { FdView, Model } from '../view/model.js';

function fdRecord(pid: number, en: FdView, ts: number | null): FdRecord {
  const r: FdRecord = {
    v: SCHEMA_VERSION, type: 'fd', ts, pid, fd: en.fd, op: 'snapshot', target: en.target, kind: en.kind, cloexec: en.cloexec,
    syscall: en.syscall,
  };
  const o = en.origin;
  if (o.how === 'dup') r.fromFd = o.fromFd;
  if (o.how === 'inherited') r.fromPid = o.fromPid;
  if (o.how === 'received' || o.how === 'taken') { r.fromPid = o.fromPid; r.fromFd = o.fromFd; }
  if (en.pos !== null) r.pos = en.pos;
  if (en.flags !== null) r.flags = en.flags;
  if (en.ofd !== null) r.ofd = en.ofd;
  return r;
}

/**
 * Every known process (event "snapshot" while running, "exit" once exited), its open fds (at exit, for an exited one)
 * and file mappings, the transfers and alerts the view holds, and a closing summary. ts is the latest trace time the
 * dashboard saw.
 */
export function stateRecords(m: Model, source: string): FdwatchRecord[] {
  const ts = m.lastTs;
  const out: FdwatchRecord[] = [];
  let fds = 0;
  for (const p of m.processes.values()) {
    const pr: ProcessRecord = {
      v: SCHEMA_VERSION, type: 'process', ts, pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, event: p.exited ? 'exit' : 'snapshot',
    };
    if (p.path !== null) pr.path = p.path;
    if (p.exited) { pr.exitCode = p.exitCode; pr.signal = p.signal; }
    if (p.shareFdTableWith !== null) pr.shareFdTableWith = p.shareFdTableWith;
    out.push(pr);
    // an exited process keeps the fds it held at exit, as the view shows them
    for (const en of [...p.fds.values()].sort((a, b) => a.fd - b.fd)) { out.push(fdRecord(p.pid, en, ts)); fds++; }
    for (const mp of p.maps) out.push(mp);
  }
  // the transfer and alert logs as the view holds them, after the fds: fed back into a view they make the same one
  for (const t of m.transfers.toArray()) out.push(t.rec);
  for (const a of m.alerts.toArray()) out.push(a.rec);
  const c = m.counts;
  const sum = m.summary;
  const summary: SummaryRecord = {
    v: SCHEMA_VERSION, type: 'summary', ts,
    lines: sum?.lines ?? 0, events: c.records, syscalls: sum?.syscalls ?? 0, processes: m.processes.size,
    transfers: { delivered: c.delivered, inFlight: c.inFlight, lost: c.lost },
    fdsSent: c.fdsSent, fdsReceived: c.fdsReceived,
    parseErrors: sum?.parseErrors ?? 0, parseErrorSamples: [], alerts: c.alerts,
    cleanEnd: sum?.cleanEnd ?? false, opaqueMessages: sum?.opaqueMessages ?? 0,
    source: `fdwatch dashboard state (${fds} open fds): ${source}`,
  };
  out.push(summary);
  return out;
}

/** fdwatch-state-YYYYMMDD-HHMMSS.ndjson, local time. */
export function exportName(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `fdwatch-state-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.ndjson`;
}
