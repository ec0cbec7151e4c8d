// Record building: kernel state -> FdwatchRecords (the JSON contract), and the counts the summary reports.
import { commPid } from '../model/names.js';
import {
  SCHEMA_VERSION, type AlertKind, type AlertRecord, type FdOp as FdRecordOp, type FdRecord, type FdwatchRecord, type TransferEnd, type TransferRecord, type Ts,
} from '../model/records.js';
import type { FdEntry, Process } from './state.js';
import { mirrored } from './pairing.js';
import { crossingsOf, type FileFactsLookup } from './crossing.js';

/** An alert's optional fields beyond its kind, pid, fd and message (privilege-crossing, uid-crossing). */
export type AlertExtra = Pick<AlertRecord, 'severity' | 'file' | 'fromUid' | 'toUid' | 'access'>;

export interface CorrelatorCounts {
  delivered: number;
  inFlight: number;
  lost: number;
  fdsSent: number;
  fdsReceived: number;
  alerts: number;
  opaqueMessages: number;
}

/** `comm[pid]`, as every message names a process */
export const procName = (comm: string | null, pid: number | null): string => commPid(comm, pid);

export function unknownEnd(): TransferEnd {
  return { pid: null, tid: null, comm: null, uid: null, fd: null, socket: null };
}

/**
 * A sender outside the trace, named by what the trace shows of it: the other end of the receiving socket, and the
 * path the receiver connected to (`UNIX-STREAM:[259408->259403,"/var/run/nscd/socket"]`, as strace prints the
 * server's accepted socket).
 */
export function untracedSender(receivingSocket: string | null, peerPath: string | null): TransferEnd {
  const other = receivingSocket !== null && receivingSocket.startsWith('UNIX-') ? mirrored(receivingSocket) : null;
  const socket = other !== null && peerPath !== null ? `${other.slice(0, -1)},${JSON.stringify(peerPath)}]` : other;
  return { pid: null, tid: null, comm: null, uid: null, fd: null, socket };
}

export function endOf(p: Process, tid: number, fd: number | null, socket: string | null): TransferEnd {
  return { pid: p.pid, tid, comm: p.comm, uid: p.uid, fd, socket };
}

export class RecordBuilder {
  readonly counts: CorrelatorCounts = {
    delivered: 0, inFlight: 0, lost: 0, fdsSent: 0, fdsReceived: 0, alerts: 0, opaqueMessages: 0,
  };
  /** the newest time seen: what records of the trace's end are stamped with */
  lastTs: Ts = null;

  constructor(private readonly emit: (r: FdwatchRecord) => void, private readonly facts: FileFactsLookup | null = null) {}

  record(r: FdwatchRecord): void {
    this.emit(r);
  }

  process(p: Process, event: 'attach' | 'fork' | 'exec', ts: Ts, tid?: number, shareWith?: number, path?: string): void {
    const r: FdwatchRecord = {
      v: SCHEMA_VERSION, type: 'process', ts, pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, event,
    };
    if (tid !== undefined) r.tid = tid;
    if (shareWith !== undefined) r.shareFdTableWith = shareWith;
    if (path !== undefined) r.path = path;
    this.emit(r);
  }

  /** The process's effective uid changed (a set*uid call, or a later event carrying another euid). */
  setuid(p: Process, fromUid: number | null, tid: number, ts: Ts): void {
    const r: FdwatchRecord = {
      v: SCHEMA_VERSION, type: 'process', ts, pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, event: 'setuid', fromUid,
    };
    if (tid !== p.pid) r.tid = tid;
    this.emit(r);
  }

  exit(p: Process, ts: Ts): void {
    this.emit({
      v: SCHEMA_VERSION, type: 'process', ts, pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, event: 'exit',
      exitCode: p.exitCode, signal: p.exitSignal,
    });
  }

  fd(p: Process, tid: number, en: FdEntry, op: FdRecordOp, syscall: string | null, ts: Ts, fromFd?: number | null, fromPid?: number | null): void {
    // each shape written whole, its keys in the record's order (properties added to a literal afterwards live in a
    // second allocation)
    const pid = p.pid;
    const { fd, ofd } = en;
    const cloexec = en.cloexec;
    const v = SCHEMA_VERSION;
    let r: FdRecord;
    if (tid === pid) {
      if (fromFd === undefined && fromPid === undefined) r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, origin: ofd.origin };
      else if (fromPid === undefined) r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, fromFd, origin: ofd.origin };
      else if (fromFd !== undefined) r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, fromFd, fromPid, origin: ofd.origin };
      else r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, fromPid, origin: ofd.origin };
    } else if (fromFd === undefined && fromPid === undefined) r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, tid, origin: ofd.origin };
    else if (fromPid === undefined) r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, tid, fromFd, origin: ofd.origin };
    else if (fromFd !== undefined) r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, tid, fromFd, fromPid, origin: ofd.origin };
    else r = { v, type: 'fd', ts, pid, fd, op, target: ofd.target, kind: ofd.kind, cloexec, syscall, tid, fromPid, origin: ofd.origin };
    this.emit(r);
  }

  /** Emits a transfer record and returns it, as the emit callback left it (live mode names untraced ends in it). */
  transfer(t: Omit<TransferRecord, 'v' | 'type' | 'ts'>): TransferRecord {
    if (t.state === 'delivered') this.counts.delivered++;
    else if (t.state === 'lost') this.counts.lost++;
    else this.counts.inFlight++;
    const r: TransferRecord = { v: SCHEMA_VERSION, type: 'transfer', ts: t.receivedTs ?? t.sentTs ?? this.lastTs, ...t };
    this.emit(r);
    return r;
  }

  /** A delivered transfer's record, built whole in the key order transfer() gives it (no spread of a partial one):
   * `confirmed` absent when the kernel did not read both ends' files. */
  delivered(from: TransferEnd, to: TransferEnd, target: string, kind: TransferRecord['kind'], sentTs: Ts, receivedTs: Ts, line: number | null,
    confirmed: boolean | undefined, origin: string): TransferRecord {
    this.counts.delivered++;
    const v = SCHEMA_VERSION;
    const ts = receivedTs ?? sentTs ?? this.lastTs;
    const r: TransferRecord = confirmed === undefined
      ? { v, type: 'transfer', ts, via: 'SCM_RIGHTS', state: 'delivered', from, to, target, kind, sentTs, receivedTs, line, origin }
      : { v, type: 'transfer', ts, via: 'SCM_RIGHTS', state: 'delivered', from, to, target, kind, sentTs, receivedTs, line, confirmed, origin };
    this.emit(r);
    return r;
  }

  /** The fds one receive (or take) delivered: one alert per cause for those that crossed a uid or a privilege. */
  crossings(delivered: readonly TransferRecord[], ts: Ts): void {
    if (delivered.length === 0) return;
    // a replay (no lookup) where no uid changed has nothing to say: the common case stays allocation-free
    if (this.facts === null && delivered.every((t) => t.from.uid === null || t.to?.uid == null || t.from.uid === t.to.uid)) return;
    // nor does a receiver the trace knows is root, from root or an unknown uid (root opens any file: crossingsOf
    // would make no alert of it whatever the file's facts), live mode's commonest case: no lookup (a stat, /proc)
    if (delivered.every((t) => t.to !== null && t.to.uid === 0 && (t.from.uid === null || t.from.uid === 0))) return;
    for (const c of crossingsOf(delivered, this.facts)) this.alertFds(c.kind, c.pid, c.fds, ts, c.one, c.many, c.extra);
  }

  /** `count`: how many fds the alert stands for, when more than one */
  alert(kind: AlertKind, pid: number | null, fd: number | null, ts: Ts, message: string, count = 1, extra?: AlertExtra): void {
    this.counts.alerts++;
    const r: AlertRecord = { v: SCHEMA_VERSION, type: 'alert', ts, kind, pid, fd, message };
    if (count > 1) r.count = count;
    if (extra) {
      if (extra.severity !== undefined) r.severity = extra.severity;
      if (extra.file !== undefined) r.file = extra.file;
      if (extra.fromUid !== undefined) r.fromUid = extra.fromUid;
      if (extra.toUid !== undefined) r.toUid = extra.toUid;
      if (extra.access !== undefined) r.access = extra.access;
    }
    this.emit(r);
  }

  /** An alert built whole (with fields of its kind); counted as every alert. */
  alertRecord(r: AlertRecord): void {
    this.counts.alerts++;
    this.emit(r);
  }

  /** One alert for fds of one sender that share a fate (`one`/`many`: what happened, singular and plural). */
  alertFds(kind: AlertKind, pid: number | null, fds: ReadonlyArray<{ from: TransferEnd; target: string | null }>, ts: Ts, one: string, many: string, extra?: AlertExtra): void {
    const s = fds[0]!;
    const by = procName(s.from.comm, s.from.pid);
    if (fds.length === 1) { this.alert(kind, pid, s.from.fd, ts, `fd ${s.from.fd} (${s.target}) sent by ${by} ${one}`, 1, extra); return; }
    const fd = fds.every((f) => f.from.fd === s.from.fd) ? s.from.fd : null;
    const times = new Map<string, number>();
    for (const f of fds) { const d = `fd ${f.from.fd} (${f.target})`; times.set(d, (times.get(d) ?? 0) + 1); }
    const shown = [...times].slice(0, 3).map(([d, n]) => (n > 1 ? `${d} ${n} times` : d)).join(', ');
    const more = times.size > 3 ? `, and ${times.size - 3} others` : '';
    this.alert(kind, pid, fd, ts, `${fds.length} fds sent by ${by}${s.from.socket ? ` on ${s.from.socket}` : ''} ${many}: ${shown}${more}`, fds.length, extra);
  }
}
