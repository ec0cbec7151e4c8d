// The dashboard's view store: (state, event) -> state, no terminal and no I/O.
// It builds its own model from FdwatchRecords (never from the correlator), keeps every buffer bounded,
// and turns keys into view changes plus effects (quit, export, replay control) that the app carries out.
// reduce() updates the state in place and returns it: copying a process table per event would not keep 50k events/s.
import type { AlertRecord, FdKind, FdwatchRecord, MapRecord, SummaryRecord, TransferRecord, Ts } from '../model/records.js';
// panels.ts imports this module's types; its functions are only called after both modules are loaded
import { panelRows, detailLines, helpLines, layout, type RowKey } from './panels.js';

export interface DashboardStatus {
  source: string;
  strace: 'starting' | 'tracing' | 'detaching' | 'ended' | 'replay';
  traced: number;
  commandExit: { code: number | null; signal: string | null } | null;
  json: string | null;
  message?: string;
}

export interface ReplayState {
  position: number;
  total: number;
  playing: boolean;
  speed: number;
  done: boolean;
}

export type PanelId = 'processes' | 'fds' | 'transfers' | 'maps' | 'alerts';
export const PANELS: readonly PanelId[] = ['processes', 'fds', 'transfers', 'maps', 'alerts'];

export type DashboardEvent =
  | { type: 'record'; record: FdwatchRecord }
  | { type: 'status'; status: Partial<DashboardStatus> }
  | { type: 'key'; key: string }
  | { type: 'mouse'; action: 'click' | 'wheelup' | 'wheeldown'; x: number; y: number }
  | { type: 'tick'; now: number }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'replay'; replay: ReplayState };

/** What the app must do after an event: the store itself never touches files, timers or the tracer. */
export type Effect =
  | { kind: 'quit' }
  | { kind: 'export' }
  | { kind: 'replay'; op: 'toggle' | 'step' | 'faster' | 'slower' };

export const LIMITS = {
  /** processes kept (exited ones are evicted first, oldest exit first) */
  processes: 4096,
  fdsPerProcess: 4096,
  threadsPerProcess: 256,
  mapsPerProcess: 1024,
  /** recently closed fds kept per process (highlighted, and shown for a selected transfer) */
  closedPerProcess: 16,
  transfers: 10000,
  alerts: 1000,
};

/** New and closed fds stay highlighted this long (ms of wall time). */
export const HIGHLIGHT_MS = 3000;

export type Origin =
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
  origin: Origin;
  syscall: string | null;
  ts: Ts;
  /** wall ms when it appeared, or 0 when it should not be highlighted as new */
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
  origin: Origin;
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

export interface TransferView { seq: number; rec: TransferRecord; at: number }
export interface AlertView { seq: number; rec: AlertRecord; at: number }

/** A bounded FIFO: pushing past `cap` drops the oldest. */
export class Ring<T> {
  private items: T[] = [];
  private head = 0;
  constructor(readonly cap: number) {}
  get length(): number { return this.items.length; }
  /** Returns the item that fell out, if any. */
  push(x: T): T | undefined {
    if (this.items.length < this.cap) { this.items.push(x); return undefined; }
    const old = this.items[this.head];
    this.items[this.head] = x;
    this.head = (this.head + 1) % this.cap;
    return old;
  }
  /** i = 0 is the oldest kept. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.items.length) return undefined;
    return this.items[(this.head + i) % this.items.length];
  }
  last(): T | undefined { return this.at(this.items.length - 1); }
  toArray(): T[] { return this.items.length < this.cap ? this.items.slice() : [...this.items.slice(this.head), ...this.items.slice(0, this.head)]; }
  clone(): Ring<T> { const r = new Ring<T>(this.cap); r.items = this.items.slice(); r.head = this.head; return r; }
}

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
  /** pid of the newest event: what "follow" selects */
  lastPid: number | null;
  seq: number;
}

export interface Overlay { kind: 'help' | 'details'; title: string; lines: string[]; offset: number }

export interface Selection {
  pid: number | null;
  fd: number | null;
  transfer: number | null;
  map: string | null;
  alert: number | null;
}

export interface State {
  model: Model;
  /** the frozen copy the view shows while paused; the model keeps taking records */
  frozen: Model | null;
  paused: boolean;
  /** records taken while paused */
  pendingWhilePaused: number;
  following: boolean;
  focus: PanelId;
  sel: Selection;
  /** the FD table shows the selected process, or both ends of the selected transfer */
  fdView: 'process' | 'transfer';
  /** first row shown per panel: a memo the renderer keeps so the selection stays in view */
  scroll: Record<PanelId, number>;
  /** keys of the rows the last frame drew, per panel, so a click selects what the user saw */
  shown: Record<PanelId, Array<string | number | null>>;
  filter: string;
  /** the filter being typed after `/`; `prev` is restored by Escape */
  editing: { text: string; prev: string } | null;
  overlay: Overlay | null;
  unfolded: Set<number>;
  cols: number;
  rows: number;
  now: number;
  rate: { value: number; at: number; count: number };
  status: DashboardStatus;
  replay: ReplayState | null;
  unicode: boolean;
  color: boolean;
  effects: Effect[];
  /** set on quit: the status bar says "detaching..." until the app is done */
  quitting: boolean;
  /** bumped on every change the screen can show */
  version: number;
}

export function emptyModel(): Model {
  return {
    processes: new Map(), exited: new Set(), transfers: new Ring(LIMITS.transfers), alerts: new Ring(LIMITS.alerts),
    inFlight: new Map(),
    counts: { records: 0, delivered: 0, inFlight: 0, lost: 0, alerts: 0, fdsSent: 0, fdsReceived: 0, evicted: 0 },
    summary: null, lastTs: null, lastPid: null, seq: 0,
  };
}

export function initialState(opts: { title?: string; cols?: number; rows?: number; now?: number; unicode?: boolean; color?: boolean; replay?: boolean; json?: string | null } = {}): State {
  return {
    model: emptyModel(), frozen: null, paused: false, pendingWhilePaused: 0, following: true,
    focus: 'processes', fdView: 'process',
    sel: { pid: null, fd: null, transfer: null, map: null, alert: null },
    scroll: { processes: 0, fds: 0, transfers: 0, maps: 0, alerts: 0 },
    shown: { processes: [], fds: [], transfers: [], maps: [], alerts: [] },
    filter: '', editing: null, overlay: null, unfolded: new Set(),
    cols: opts.cols ?? 80, rows: opts.rows ?? 24, now: opts.now ?? 0,
    rate: { value: 0, at: opts.now ?? 0, count: 0 },
    status: {
      source: opts.title ?? '', strace: opts.replay ? 'replay' : 'starting', traced: 0, commandExit: null, json: opts.json ?? null,
    },
    replay: null,
    unicode: opts.unicode ?? true, color: opts.color ?? true,
    effects: [], quitting: false, version: 0,
  };
}

/** The model the panels draw: the frozen copy while paused. */
export function viewModel(s: State): Model {
  return s.frozen ?? s.model;
}

export function reduce(s: State, e: DashboardEvent): State {
  switch (e.type) {
    case 'record':
      applyRecord(s.model, e.record, s.now);
      if (s.paused) { s.pendingWhilePaused++; return s; }
      if (s.following) follow(s);
      s.version++;
      return s;
    case 'status':
      s.status = { ...s.status, ...e.status };
      s.version++;
      return s;
    case 'tick': {
      s.now = e.now;
      const dt = e.now - s.rate.at;
      if (dt >= 1000 || s.rate.at === 0) {
        const n = s.model.counts.records;
        if (s.rate.at !== 0) s.rate.value = ((n - s.rate.count) * 1000) / dt;
        s.rate.at = e.now;
        s.rate.count = n;
      }
      s.version++;
      return s;
    }
    case 'resize':
      s.cols = Math.max(1, e.cols);
      s.rows = Math.max(1, e.rows);
      s.version++;
      return s;
    case 'replay':
      s.replay = e.replay;
      s.version++;
      return s;
    case 'key':
      onKey(s, e.key);
      s.version++;
      return s;
    case 'mouse':
      onMouse(s, e);
      s.version++;
      return s;
  }
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

function originOf(m: Model, r: Extract<FdwatchRecord, { type: 'fd' }>, p: ProcView): Origin {
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

/** Folds one record into the model. `now` (wall ms) stamps what is highlighted as new or closed. */
export function applyRecord(m: Model, r: FdwatchRecord, now: number): void {
  m.counts.records++;
  m.seq++;
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

function addFd(p: ProcView, r: Extract<FdwatchRecord, { type: 'fd' }>, origin: Origin, addedAt: number): void {
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

/** A deep enough copy for a frozen view: tables and rings copied, records shared (they are never mutated). */
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
  };
}

// ------------------------------------------------------------------ selection helpers (shared with panels)

function follow(s: State): void {
  const m = s.model;
  const t = m.transfers.last();
  if (t) s.sel.transfer = t.seq;
  const a = m.alerts.last();
  if (a) s.sel.alert = a.seq;
  if (m.lastPid !== null) s.sel.pid = m.lastPid;
}

export function pause(s: State, on: boolean): void {
  if (on === s.paused) return;
  s.paused = on;
  if (on) {
    s.frozen = cloneModel(s.model);
    s.pendingWhilePaused = 0;
  } else {
    s.frozen = null;
    s.pendingWhilePaused = 0;
    if (s.following) follow(s);
  }
}


export function selectedKey(s: State, panel: PanelId): RowKey {
  switch (panel) {
    case 'processes': return s.sel.pid;
    case 'fds': return s.fdView === 'transfer' && s.sel.transfer !== null ? `${s.sel.pid}:${s.sel.fd}` : s.sel.fd;
    case 'transfers': return s.sel.transfer;
    case 'maps': return s.sel.map;
    case 'alerts': return s.sel.alert;
  }
}

function setSelected(s: State, panel: PanelId, key: RowKey): void {
  switch (panel) {
    case 'processes':
      if (typeof key === 'number') {
        if (key !== s.sel.pid) { s.sel.pid = key; s.sel.fd = null; s.sel.map = null; }
        s.fdView = 'process';
      }
      return;
    case 'fds':
      if (typeof key === 'number' || key === null) s.sel.fd = key;
      else if (typeof key === 'string') {
        // transfer mode rows are "pid:fd": the fd belongs to one of the two processes
        const [pid, fd] = key.split(':').map(Number);
        if (pid !== undefined && fd !== undefined && Number.isFinite(fd)) { s.sel.fd = fd; s.sel.pid = pid; }
      }
      return;
    case 'transfers':
      if (typeof key === 'number') {
        s.sel.transfer = key;
        s.fdView = 'transfer';
        const t = findTransfer(viewModel(s), key);
        if (t) { s.sel.pid = t.rec.to?.pid ?? t.rec.from.pid ?? s.sel.pid; s.sel.fd = t.rec.to?.fd ?? null; }
      }
      return;
    case 'maps':
      if (typeof key === 'string') s.sel.map = key;
      return;
    case 'alerts':
      if (typeof key === 'number') {
        s.sel.alert = key;
        const a = viewModel(s).alerts.toArray().find((x) => x.seq === key);
        if (a && a.rec.pid !== null) { s.sel.pid = a.rec.pid; s.sel.fd = a.rec.fd; }
      }
      return;
  }
}

export function findTransfer(m: Model, seq: number): TransferView | undefined {
  // rows are in seq order: binary search the ring
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

function move(s: State, delta: number | 'home' | 'end'): void {
  const rows = panelRows(s, s.focus).filter((r) => r.key !== null);
  if (rows.length === 0) return;
  const cur = selectedKey(s, s.focus);
  let i = rows.findIndex((r) => r.key === cur);
  if (delta === 'home') i = 0;
  else if (delta === 'end') i = rows.length - 1;
  else if (i < 0) i = delta > 0 ? 0 : rows.length - 1;
  else i = Math.max(0, Math.min(rows.length - 1, i + delta));
  setSelected(s, s.focus, rows[i]!.key);
  // moving by hand stops following, except landing on the newest row of a log
  s.following = (s.focus === 'transfers' || s.focus === 'alerts') && i === rows.length - 1 && delta !== 0 && s.following;
}

function pageSize(s: State): number {
  const r = layout(s.cols, s.rows)[s.focus];
  return Math.max(1, r.h - 2);
}

const PRINTABLE = /^[\x20-\x7e]$/;

function onKey(s: State, key: string): void {
  if (key === 'C-c') { quit(s); return; }
  if (s.editing) { editFilter(s, key); return; }
  if (s.overlay) {
    if (key === 'escape' || key === 'enter' || key === 'q' || key === '?') s.overlay = null;
    else if (key === 'down' || key === 'j') s.overlay.offset = Math.min(Math.max(0, s.overlay.lines.length - 1), s.overlay.offset + 1);
    else if (key === 'up' || key === 'k') s.overlay.offset = Math.max(0, s.overlay.offset - 1);
    return;
  }
  switch (key) {
    case 'q': quit(s); return;
    case '?': s.overlay = { kind: 'help', title: 'Keys', lines: helpLines(s), offset: 0 }; return;
    case 'tab': cycleFocus(s, 1); return;
    case 'S-tab': cycleFocus(s, -1); return;
    case 'up': case 'k': move(s, -1); return;
    case 'down': case 'j': move(s, 1); return;
    case 'pageup': move(s, -pageSize(s)); return;
    case 'pagedown': move(s, pageSize(s)); return;
    case 'home': case 'g': move(s, 'home'); return;
    case 'end': case 'G': move(s, 'end'); return;
    case 'right': case 'l':
      if (s.focus === 'processes' && s.sel.pid !== null) s.unfolded.add(s.sel.pid);
      return;
    case 'left': case 'h':
      if (s.focus === 'processes' && s.sel.pid !== null) s.unfolded.delete(s.sel.pid);
      return;
    case 'enter': {
      const d = detailLines(s);
      if (d) s.overlay = { kind: 'details', title: d.title, lines: d.lines, offset: 0 };
      return;
    }
    case '/': s.editing = { text: s.filter, prev: s.filter }; return;
    case 'escape':
      if (s.filter) { s.filter = ''; s.status = { ...s.status, message: 'filter cleared' }; }
      return;
    case 'p':
      pause(s, !s.paused);
      s.status = { ...s.status, message: s.paused ? 'view paused: tracing goes on (p resumes)' : 'view resumed' };
      return;
    case 'f':
      s.following = !s.following;
      if (s.following && !s.paused) follow(s);
      s.status = { ...s.status, message: s.following ? 'following the newest events' : 'not following' };
      return;
    case 'e': s.effects.push({ kind: 'export' }); return;
    case ' ': if (s.replay) s.effects.push({ kind: 'replay', op: 'toggle' }); return;
    case '.': if (s.replay) s.effects.push({ kind: 'replay', op: 'step' }); return;
    case '+': case '=': if (s.replay) s.effects.push({ kind: 'replay', op: 'faster' }); return;
    case '-': case '_': if (s.replay) s.effects.push({ kind: 'replay', op: 'slower' }); return;
  }
}

function quit(s: State): void {
  if (s.quitting) return;
  s.quitting = true;
  s.overlay = null;
  s.effects.push({ kind: 'quit' });
}

function cycleFocus(s: State, d: number): void {
  const i = PANELS.indexOf(s.focus);
  s.focus = PANELS[(i + d + PANELS.length) % PANELS.length]!;
}

function editFilter(s: State, key: string): void {
  const ed = s.editing!;
  if (key === 'enter') { s.filter = ed.text.trim(); s.editing = null; return; }
  if (key === 'escape') { s.filter = ed.prev; s.editing = null; return; }
  if (key === 'backspace') ed.text = ed.text.slice(0, -1);
  else if (key === 'C-u') ed.text = '';
  else if (key === 'space') ed.text += ' ';
  else if (PRINTABLE.test(key) && ed.text.length < 200) ed.text += key;
  // filter as you type
  s.filter = ed.text.trim();
}

function onMouse(s: State, e: Extract<DashboardEvent, { type: 'mouse' }>): void {
  if (s.overlay) { if (e.action === 'click') s.overlay = null; return; }
  const rects = layout(s.cols, s.rows);
  for (const id of PANELS) {
    const r = rects[id];
    if (e.x < r.x || e.x >= r.x + r.w || e.y < r.y || e.y >= r.y + r.h) continue;
    s.focus = id;
    if (e.action === 'wheelup') { move(s, -3); return; }
    if (e.action === 'wheeldown') { move(s, 3); return; }
    const row = e.y - r.y - 1; // below the panel's title line
    if (row < 0) return;
    const key = s.shown[id][row];
    if (key === undefined || key === null) return;
    setSelected(s, id, key);
    s.following = false;
    return;
  }
}
