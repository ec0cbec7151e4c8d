// The records -> view-model fold: what every view shows (processes, their fd tables, transfers, maps, alerts),
// built from FdwatchRecords alone (never from the correlator) and bounded by LIMITS however long the trace runs.
// No terminal in here: no glyphs, widths, keys or selection; the dashboard draws it and a text view can read it.
// applyRecord() updates the model in place: copying a process table per record would not keep 50k records/s.
import type { AlertRecord, FdKind, FdwatchRecord, MapRecord, SummaryRecord, TransferRecord, Ts } from '../model/records.js';
import { Ring } from './ring.js';
import { Provenance } from './provenance.js';

export const LIMITS = {
  /** processes kept (exited ones are evicted first, oldest exit first) */
  processes: 4096,
  fdsPerProcess: 4096,
  threadsPerProcess: 256,
  mapsPerProcess: 1024,
  /** recently closed fds kept per process (a view can still name an fd that was just closed) */
  closedPerProcess: 16,
  transfers: 10000,
  alerts: 1000,
  /** fds whose history (provenance) is kept: the least recently active open file descriptions go first */
  provenanceFds: 50000,
};

/** Where an fd came from, as far as the records say. */
export type FdOrigin =
  | { how: 'opened'; syscall: string | null }
  | { how: 'dup'; fromFd: number | null; syscall: string | null }
  | { how: 'inherited'; fromPid: number | null }
  | { how: 'received'; fromPid: number | null; fromComm: string | null; fromFd: number | null }
  | { how: 'taken'; fromPid: number | null; fromComm: string | null; fromFd: number | null }
  | { how: 'before' }     // seen in use: open before the trace started
  | { how: 'snapshot' };  // listed from /proc at attach

export interface FdView {
  fd: number;
  kind: FdKind;
  target: string | null;
  cloexec: boolean | null;
  pos: number | null;
  origin: FdOrigin;
  syscall: string | null;
  ts: Ts;
  /** wall ms (applyRecord's `now`) when it appeared, or 0 for an fd already open (seen in use, listed at attach) */
  addedAt: number;
  tid: number | null;
  flags: string | null;
  ofd: string | null;
  transferred: boolean;
}

export interface ClosedFd {
  fd: number;
  kind: FdKind;
  target: string | null;
  origin: FdOrigin;
  /** wall ms (applyRecord's `now`) */
  closedAt: number;
  ts: Ts;
}

export interface ProcView {
  pid: number;
  ppid: number | null;
  comm: string | null;
  uid: number | null;
  path: string | null;
  tids: number[];
  exited: boolean;
  exitCode: number | null;
  signal: string | null;
  fds: Map<number, FdView>;
  closed: ClosedFd[];
  maps: MapRecord[];
  sent: number;
  received: number;
  alerts: number;
  /** order of first appearance */
  seq: number;
  /** known only from other records (no process record yet) */
  placeholder: boolean;
  shareFdTableWith: number | null;
  note: string | null;
  /** fds beyond LIMITS.fdsPerProcess that were not kept */
  fdsDropped: number;
  /** model seq when it last moved to the end of the table (eviction order) */
  touched: number;
  lastEvent: string;
}

/** seq: the model's seq at arrival (the log's order); at: wall ms (applyRecord's `now`) of the latest record */
export interface TransferView { seq: number; rec: TransferRecord; at: number }
export interface AlertView { seq: number; rec: AlertRecord; at: number }

export interface Model {
  processes: Map<number, ProcView>;
  /** exited pids in exit order: the eviction queue */
  exited: Set<number>;
  transfers: Ring<TransferView>;
  alerts: Ring<AlertView>;
  /** in-flight transfers by identity, so a later delivered/lost record updates the same row */
  inFlight: Map<string, TransferView>;
  counts: {
    records: number;
    delivered: number;
    inFlight: number;
    lost: number;
    alerts: number;
    fdsSent: number;
    fdsReceived: number;
    evicted: number;
  };
  summary: SummaryRecord | null;
  /** latest trace time seen */
  lastTs: Ts;
  /** pid of the newest event */
  lastPid: number | null;
  seq: number;
  /** every fd's history across processes (Enter on an fd); shared by a paused copy, which reads it up to `seq` */
  provenance: Provenance;
}

export function emptyModel(): Model {
  return {
    processes: new Map(), exited: new Set(), transfers: new Ring(LIMITS.transfers), alerts: new Ring(LIMITS.alerts),
    inFlight: new Map(),
    counts: { records: 0, delivered: 0, inFlight: 0, lost: 0, alerts: 0, fdsSent: 0, fdsReceived: 0, evicted: 0 },
    summary: null, lastTs: null, lastPid: null, seq: 0, provenance: new Provenance({ maxNodes: LIMITS.provenanceFds }),
  };
}

// ------------------------------------------------------------------ records -> model

function proc(m: Model, pid: number): ProcView {
  let p = m.processes.get(pid);
  if (p) {
    // keep the table's order roughly least-recently-used, so eviction of running processes takes idle ones;
    // moving only entries that fell far behind keeps this O(1) amortised
    if (m.seq - p.touched > LIMITS.processes) { m.processes.delete(pid); m.processes.set(pid, p); p.touched = m.seq; }
    return p;
  }
  p = {
    pid, ppid: null, comm: null, uid: null, path: null, tids: [], exited: false, exitCode: null, signal: null,
    fds: new Map(), closed: [], maps: [], sent: 0, received: 0, alerts: 0, seq: m.seq, placeholder: true,
    shareFdTableWith: null, note: null, fdsDropped: 0, lastEvent: '', touched: m.seq,
  };
  if (m.processes.size >= LIMITS.processes) evictOne(m);
  m.processes.set(pid, p);
  return p;
}

function evictOne(m: Model): void {
  let victim: number | undefined = m.exited.values().next().value;
  if (victim === undefined) victim = m.processes.keys().next().value; // none exited: the least recently active
  if (victim === undefined) return;
  m.processes.delete(victim);
  m.exited.delete(victim);
  m.counts.evicted++;
}

function addTid(p: ProcView, tid: number | null | undefined): void {
  if (tid === null || tid === undefined || tid === p.pid) return;
  if (p.tids.includes(tid) || p.tids.length >= LIMITS.threadsPerProcess) return;
  p.tids.push(tid);
}

function originOf(m: Model, r: Extract<FdwatchRecord, { type: 'fd' }>, p: ProcView): FdOrigin {
  switch (r.op) {
    case 'open': return { how: 'opened', syscall: r.syscall };
    case 'dup': return { how: 'dup', fromFd: r.fromFd ?? null, syscall: r.syscall };
    case 'inherit': return { how: 'inherited', fromPid: r.fromPid ?? p.ppid };
    case 'receive':
    case 'take': {
      const fromPid = r.fromPid ?? null;
      const fromComm = fromPid !== null ? m.processes.get(fromPid)?.comm ?? null : null;
      return { how: r.op === 'receive' ? 'received' : 'taken', fromPid, fromComm, fromFd: r.fromFd ?? null };
    }
    case 'snapshot': return { how: 'snapshot' };
    default: return { how: 'before' };
  }
}

/** Folds one record into the model. `now` (wall ms) stamps when fds appear or close and transfers/alerts arrive. */
export function applyRecord(m: Model, r: FdwatchRecord, now: number): void {
  m.counts.records++;
  m.seq++;
  m.provenance.push(r);
  if (r.ts !== null && (m.lastTs === null || r.ts > m.lastTs)) m.lastTs = r.ts;
  switch (r.type) {
    case 'process': {
      let p: ProcView | undefined = m.processes.get(r.pid);
      if (p && p.exited && (r.event === 'fork' || r.event === 'attach')) {
        // pid reused
        m.processes.delete(r.pid);
        m.exited.delete(r.pid);
        p = undefined;
      }
      p = proc(m, r.pid);
      p.placeholder = false;
      if (r.ppid !== null) p.ppid = r.ppid;
      if (r.comm !== null) p.comm = r.comm;
      if (r.uid !== null) p.uid = r.uid;
      if (r.path !== undefined) p.path = r.path;
      if (r.shareFdTableWith !== undefined) p.shareFdTableWith = r.shareFdTableWith;
      if (r.note !== undefined) p.note = r.note;
      addTid(p, r.tid);
      p.lastEvent = r.event;
      if (r.event === 'exec') p.maps = []; // a new address space
      if (r.event === 'exit') {
        p.exited = true;
        p.exitCode = r.exitCode ?? null;
        p.signal = r.signal ?? null;
        m.exited.delete(r.pid);
        m.exited.add(r.pid);
      }
      m.lastPid = r.pid;
      return;
    }
    case 'fd': {
      const p = proc(m, r.pid);
      addTid(p, r.tid);
      m.lastPid = r.pid;
      const old = p.fds.get(r.fd);
      if (r.op === 'close') {
        if (old) p.fds.delete(r.fd);
        if (p.closed.length >= LIMITS.closedPerProcess) p.closed.shift();
        p.closed.push({ fd: r.fd, kind: old?.kind ?? r.kind, target: old?.target ?? r.target, origin: old?.origin ?? { how: 'before' }, closedAt: now, ts: r.ts });
        return;
      }
      if (r.op === 'cloexec') {
        if (old) old.cloexec = r.cloexec;
        else addFd(p, r, { how: 'before' }, 0);
        return;
      }
      if (r.op === 'seen' && old) {
        if (old.kind === 'unknown' && r.kind !== 'unknown') { old.kind = r.kind; old.target = r.target; }
        else if (r.kind === old.kind && r.target !== null) old.target = r.target; // it gained detail (an address, a peer)
        return;
      }
      const origin = originOf(m, r, p);
      const fresh = r.op === 'seen' || r.op === 'snapshot' ? 0 : now || 1;
      addFd(p, r, origin, fresh);
      // a new fd at this number replaces any closed entry of the same number
      if (p.closed.length > 0) p.closed = p.closed.filter((c) => c.fd !== r.fd);
      return;
    }
    case 'transfer': {
      const from = r.from;
      const to = r.to;
      const key = transferKey(r);
      const prev = key !== null ? m.inFlight.get(key) : undefined;
      if (prev) {
        // the same fd, resolved later: update the row in place
        countState(m, prev.rec.state, -1);
        m.inFlight.delete(key!);
        prev.rec = r;
        prev.at = now;
      } else {
        const tv: TransferView = { seq: m.seq, rec: r, at: now };
        const out = m.transfers.push(tv);
        if (out && out.rec.state === 'in-flight') { const k = transferKey(out.rec); if (k !== null) m.inFlight.delete(k); }
        if (from.pid !== null) { const p = proc(m, from.pid); p.sent++; addTid(p, from.tid); if (p.uid === null) p.uid = from.uid; if (p.comm === null) p.comm = from.comm; }
        m.counts.fdsSent++;
        if (r.state === 'in-flight' && key !== null) m.inFlight.set(key, tv);
      }
      countState(m, r.state, 1);
      if (r.state === 'delivered' && to && to.pid !== null) {
        const p = proc(m, to.pid);
        p.received++;
        addTid(p, to.tid);
        if (p.uid === null) p.uid = to.uid;
        if (p.comm === null) p.comm = to.comm;
        m.counts.fdsReceived++;
        const en = to.fd !== null ? p.fds.get(to.fd) : undefined;
        if (en) en.transferred = true;
      }
      m.lastPid = to?.pid ?? from.pid ?? m.lastPid;
      return;
    }
    case 'map': {
      const p = proc(m, r.pid);
      const i = p.maps.findIndex((x) => x.start === r.start);
      if (i >= 0) p.maps[i] = r;
      else {
        if (p.maps.length >= LIMITS.mapsPerProcess) p.maps.shift();
        p.maps.push(r);
      }
      m.lastPid = r.pid;
      return;
    }
    case 'alert': {
      m.alerts.push({ seq: m.seq, rec: r, at: now });
      m.counts.alerts++;
      if (r.pid !== null) { const p = m.processes.get(r.pid); if (p) p.alerts++; }
      return;
    }
    case 'summary':
      m.summary = r;
      return;
  }
}

function addFd(p: ProcView, r: Extract<FdwatchRecord, { type: 'fd' }>, origin: FdOrigin, addedAt: number): void {
  if (!p.fds.has(r.fd) && p.fds.size >= LIMITS.fdsPerProcess) { p.fdsDropped++; return; }
  p.fds.set(r.fd, {
    fd: r.fd, kind: r.kind, target: r.target, cloexec: r.cloexec, pos: r.pos ?? null, origin, syscall: r.syscall,
    ts: r.ts, addedAt, tid: r.tid ?? null, flags: r.flags ?? null, ofd: r.ofd ?? null,
    transferred: origin.how === 'received' || origin.how === 'taken',
  });
}

function transferKey(r: TransferRecord): string | null {
  if (r.from.pid === null) return null;
  return `${r.via}|${r.from.pid}|${r.from.fd}|${r.line ?? ''}|${r.sentTs ?? ''}`;
}

function countState(m: Model, st: TransferRecord['state'], d: number): void {
  if (st === 'delivered') m.counts.delivered += d;
  else if (st === 'lost') m.counts.lost += d;
  else m.counts.inFlight += d;
}

/** A copy that later records do not change (a paused view): tables and rings copied, records shared (never mutated). */
export function cloneModel(m: Model): Model {
  const processes = new Map<number, ProcView>();
  for (const [pid, p] of m.processes) {
    const fds = new Map<number, FdView>();
    for (const [fd, en] of p.fds) fds.set(fd, { ...en });
    processes.set(pid, { ...p, tids: p.tids.slice(), fds, closed: p.closed.slice(), maps: p.maps.slice() });
  }
  const transfers = new Ring<TransferView>(m.transfers.cap);
  for (const t of m.transfers.toArray()) transfers.push({ ...t });
  return {
    processes, exited: new Set(m.exited), transfers, alerts: m.alerts.clone(), inFlight: new Map(),
    counts: { ...m.counts }, summary: m.summary, lastTs: m.lastTs, lastPid: m.lastPid, seq: m.seq,
    provenance: m.provenance,
  };
}

/** The transfer with this seq, if it is still kept. */
/**
 * The other end of a connected inet socket among the processes shown (a loopback connection), as `ss -tp` pairs
 * them: the fds whose target is this one's addresses swapped. On demand (a scan of every fd), not per record.
 */
export function inetPeers(m: Model, target: string | null): Array<{ pid: number; comm: string | null; fd: number }> {
  const t = target === null ? null : /^(TCP|TCPv6|UDP|UDPv6):\[([^\]]+)->([^\]]+)\]$/.exec(target);
  if (!t) return [];
  const other = `${t[1]}:[${t[3]}->${t[2]}]`;
  const out: Array<{ pid: number; comm: string | null; fd: number }> = [];
  for (const p of m.processes.values()) {
    for (const f of p.fds.values()) if (f.target === other) out.push({ pid: p.pid, comm: p.comm, fd: f.fd });
  }
  return out;
}

export function findTransfer(m: Model, seq: number): TransferView | undefined {
  // the log is in seq order: binary search the ring
  let lo = 0;
  let hi = m.transfers.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = m.transfers.at(mid)!;
    if (t.seq === seq) return t;
    if (t.seq < seq) lo = mid + 1; else hi = mid - 1;
  }
  return undefined;
}
