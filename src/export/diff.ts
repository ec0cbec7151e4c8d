// `snapshot --diff`: two snapshots' records -> what changed per process (fds opened, closed, changed; the growth),
// as records of the JSON contract or as text. Pure: records in, records or lines out.
import { SCHEMA_VERSION, type FdRecord, type FdwatchRecord, type ProcessRecord } from '../model/records.js';
import { commPid } from '../model/names.js';
import { escapeControl } from '../model/escape.js';
import { clock } from './text.js';

/** One snapshot as its records give it: per pid its process record and its fds by number. */
export interface SnapshotState {
  ts: number | null;
  processes: Map<number, { proc: ProcessRecord; fds: Map<number, FdRecord> }>;
}

/** Folds `snapshot --json` records (process event and fd op `snapshot`); other records are ignored. */
export function snapshotState(records: Iterable<FdwatchRecord>, pids: ReadonlySet<number> | null = null): SnapshotState {
  const st: SnapshotState = { ts: null, processes: new Map() };
  for (const r of records) {
    if (pids && 'pid' in r && typeof r.pid === 'number' && !pids.has(r.pid)) continue;
    if (r.type === 'process' && r.event === 'snapshot') {
      st.ts ??= r.ts;
      if (!st.processes.has(r.pid)) st.processes.set(r.pid, { proc: r, fds: new Map() });
    } else if (r.type === 'fd' && r.op === 'snapshot') {
      st.processes.get(r.pid)?.fds.set(r.fd, r);
    }
  }
  return st;
}

export interface ProcessDiff {
  pid: number;
  /** the newest snapshot's process record (the old one's when it is gone) */
  proc: ProcessRecord;
  comm: string | null;
  /** the comm in the old snapshot, when it differs (an exec, or a reused pid) */
  wasComm: string | null;
  /** fds in each snapshot; null: the process was not in it (new, or gone) */
  before: number | null;
  after: number | null;
  opened: FdRecord[];
  closed: FdRecord[];
  /** same fd number, another target: [old, new] */
  changed: Array<[FdRecord, FdRecord]>;
}

export interface SnapshotDiff {
  fromTs: number | null;
  toTs: number | null;
  /** processes in both snapshots */
  compared: number;
  /** processes with a change, new or gone, by pid */
  processes: ProcessDiff[];
}

export function diffSnapshots(old: SnapshotState, now: SnapshotState): SnapshotDiff {
  const out: ProcessDiff[] = [];
  let compared = 0;
  const pids = [...new Set([...old.processes.keys(), ...now.processes.keys()])].sort((a, b) => a - b);
  for (const pid of pids) {
    const a = old.processes.get(pid);
    const b = now.processes.get(pid);
    const d: ProcessDiff = {
      pid, proc: (b ?? a)!.proc, comm: (b ?? a)!.proc.comm, wasComm: a && b && a.proc.comm !== b.proc.comm ? a.proc.comm : null,
      before: a ? a.fds.size : null, after: b ? b.fds.size : null, opened: [], closed: [], changed: [],
    };
    if (a && b) {
      compared++;
      for (const [fd, was] of a.fds) {
        const is = b.fds.get(fd);
        if (!is) d.closed.push(was);
        else if (is.target !== was.target || is.kind !== was.kind) d.changed.push([was, is]);
      }
      for (const [fd, is] of b.fds) if (!a.fds.has(fd)) d.opened.push(is);
      const byFd = (x: FdRecord, y: FdRecord): number => x.fd - y.fd;
      d.opened.sort(byFd);
      d.closed.sort(byFd);
      d.changed.sort((x, y) => x[0].fd - y[0].fd);
      if (d.opened.length === 0 && d.closed.length === 0 && d.changed.length === 0) continue;
    }
    out.push(d);
  }
  return { fromTs: old.ts, toTs: now.ts, compared, processes: out };
}

/** The diff as records: per process a `process` record (event `diff`), then its `fd` records (`opened`, `closed`, `changed`). */
export function diffRecords(diff: SnapshotDiff): FdwatchRecord[] {
  const ts = diff.toTs;
  const out: FdwatchRecord[] = [];
  for (const d of diff.processes) {
    const p: ProcessRecord = {
      v: SCHEMA_VERSION, type: 'process', ts, pid: d.pid, ppid: d.proc.ppid, comm: d.comm, uid: d.proc.uid, event: 'diff',
      fdsBefore: d.before, fdsAfter: d.after,
    };
    out.push(p);
    for (const r of d.opened) out.push(fdAs(r, 'opened', ts));
    for (const r of d.closed) out.push(fdAs(r, 'closed', ts));
    for (const [was, is] of d.changed) { const r = fdAs(is, 'changed', ts); r.was = was.target; out.push(r); }
  }
  return out;
}

/** A snapshot fd record as a diff's, keeping what the scan read (pos, flags, ofd, socket...). */
function fdAs(r: FdRecord, op: 'opened' | 'closed' | 'changed', ts: number | null): FdRecord {
  return { ...r, ts, op };
}

const who = (pid: number, comm: string | null): string => escapeControl(commPid(comm, pid));
const target = (r: FdRecord): string => escapeControl(r.target ?? '?');

/** The diff as text: a head line, one block per changed process, one line per new or gone process, a total. */
export function renderDiffText(diff: SnapshotDiff, oldName: string): string {
  const secs = diff.fromTs !== null && diff.toTs !== null ? ` (${(diff.toTs - diff.fromTs).toFixed(1)} s later)` : '';
  const lines = [`fds since ${escapeControl(oldName)}: ${clock(diff.fromTs)} -> ${clock(diff.toTs)}${secs}`];
  let opened = 0, closed = 0, changed = 0, fresh = 0, gone = 0, growth = 0;
  for (const d of diff.processes) {
    if (d.before === null) { fresh++; lines.push(`new   ${who(d.pid, d.comm)}: ${d.after} fds`); continue; }
    if (d.after === null) { gone++; lines.push(`gone  ${who(d.pid, d.comm)}: had ${d.before} fds`); continue; }
    const g = d.after - d.before;
    growth += g;
    const was = d.wasComm !== null ? ` (was ${escapeControl(d.wasComm)})` : '';
    lines.push(`${who(d.pid, d.comm)}${was}: ${d.before} -> ${d.after} fds (${g >= 0 ? '+' : ''}${g})`);
    for (const r of d.opened) lines.push(`  + fd ${r.fd}  ${r.kind}  ${target(r)}`);
    for (const r of d.closed) lines.push(`  - fd ${r.fd}  ${r.kind}  ${target(r)}`);
    for (const [a, b] of d.changed) lines.push(`  ~ fd ${b.fd}  ${target(a)} -> ${b.kind}  ${target(b)}`);
    opened += d.opened.length;
    closed += d.closed.length;
    changed += d.changed.length;
  }
  const changedProcs = diff.processes.length - fresh - gone;
  if (diff.processes.length === 0) lines.push(`no fd changed in ${diff.compared} processes`);
  lines.push(`${diff.compared} processes in both, ${changedProcs} changed (${opened} fds opened, ${closed} closed, ${changed} changed, ` +
    `${growth >= 0 ? '+' : ''}${growth} in all), ${fresh} new, ${gone} gone`);
  return lines.join('\n') + '\n';
}
