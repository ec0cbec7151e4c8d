// Panels (pure): state -> rows of escaped cells and column specs, per panel, and the marks they use.
// Every string that came from a traced program goes through clean() here or in details.ts, before it can reach a terminal.
import { crossingFacts } from '../view/alerts.js';
import { commPid, untracedName } from '../model/names.js';
import type { AlertRecord, MapRecord, TransferEnd, TransferRecord, Ts } from '../model/records.js';
import { findTransfer, type ClosedFd, type FdOrigin, type FdView, type Model, type ProcView, type TransferView } from '../view/model.js';
import { viewModel, type PanelId, type RowKey, type State } from './state.js';
import { ALT, ASCII, KEEP, SUFFIX, UNICODE, clean, type Column, type Glyphs } from './text.js';

/** New and closed fds (and new transfers) stay highlighted this long (ms of wall time). */
export const HIGHLIGHT_MS = 3000;

/** An exited process folds away from the process list this long (ms of wall time) after it exited; `x` shows it. */
export const EXITED_FOLD_MS = 10_000;

/**
 * The exited processes folded away: exited over EXITED_FOLD_MS ago, not selected, with no process shown under them.
 * None while `x` shows them or a filter picks processes.
 */
export function foldedExited(s: State): Set<number> {
  const out = new Set<number>();
  if (s.showExited || s.filter) return out;
  const m = viewModel(s);
  for (const p of m.processes.values()) {
    if (p.exited && p.pid !== s.sel.pid && s.now - (s.exitedAt.get(p.pid) ?? 0) >= EXITED_FOLD_MS) out.add(p.pid);
  }
  if (out.size === 0) return out;
  // the tree stays whole: an ancestor of a process still shown stays too
  for (const p of m.processes.values()) {
    if (out.has(p.pid)) continue;
    let q = p.ppid !== null && p.ppid !== p.pid ? m.processes.get(p.ppid) : undefined;
    for (let guard = 0; q && guard < 64; guard++) {
      out.delete(q.pid);
      q = q.ppid !== null && q.ppid !== q.pid ? m.processes.get(q.ppid) : undefined;
    }
  }
  return out;
}

/** What the marks in the panels mean (the end of the help screen). */
export const LEGEND: readonly string[] = [
  'FD marks: + new  - closed  * by transfer  > end of the selected transfer',
  'Transfers: ~ in flight  ! lost',
];

export type Style = 'normal' | 'dim' | 'new' | 'closed' | 'alert' | 'warn' | 'mark' | 'head';

export interface Row {
  /** what selecting this row selects; null: not selectable (section headers, threads, closed fds) */
  key: RowKey;
  /** escaped cell texts; long lists build them lazily (a getter), only for the rows drawn */
  readonly cells: string[];
  readonly style: Style;
  /** a section line: cells[0] across the whole panel */
  span?: boolean;
}

export function glyphs(s: State): Glyphs {
  return s.unicode ? UNICODE : ASCII;
}

export function clock(ts: Ts): string {
  if (ts === null) return '-';
  const d = new Date(ts * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(Math.floor((ts * 1000) % 1000), 3)}`;
}

/** "comm[pid]" or "comm[pid/tid]", escaped. */
/** `comm[pid]` as the panels show it (escaped for the terminal). */
export function cellName(comm: string | null, pid: number | null, u: boolean, tid: number | null = null): string {
  return clean(commPid(comm, pid, tid), u);
}

export function originText(o: FdOrigin, u: boolean): string {
  switch (o.how) {
    case 'opened': return o.syscall ? `opened (${clean(o.syscall, u)})` : 'opened';
    case 'dup': return `dup of fd ${o.fromFd ?? '?'}`;
    case 'inherited': return `inherited from ${o.fromPid ?? '?'}`;
    case 'received': return `received from ${cellName(o.fromComm, o.fromPid, u)} fd ${o.fromFd ?? '?'}`;
    case 'taken': return `taken via pidfd_getfd from ${cellName(o.fromComm, o.fromPid, u)} fd ${o.fromFd ?? '?'}`;
    case 'before': return 'open before the trace';
    case 'snapshot': return 'open at attach';
  }
}

/** The origin for a narrow column: the long text, or a short form that still names the source. */
function originCell(o: FdOrigin, u: boolean): string {
  const long = originText(o, u);
  switch (o.how) {
    case 'opened': return long + ALT + 'opened';
    case 'received': return long + ALT + `recv ${cellName(o.fromComm, o.fromPid, u)} fd ${o.fromFd ?? '?'}`;
    case 'taken': return long + ALT + `pidfd ${cellName(o.fromComm, o.fromPid, u)} fd ${o.fromFd ?? '?'}`;
    case 'before': return long + ALT + 'pre-trace';
    default: return long;
  }
}

// ------------------------------------------------------------------ filter

/**
 * The filter matches comm, pid, exec path, fd targets (open or recently closed) and mapped paths
 * (case-insensitive substring). 'self': the process itself matches, so all its rows show; 'path': only some of its fds/maps.
 */
export function procMatches(p: ProcView, f: string): 'self' | 'path' | false {
  if (!f) return 'self';
  if (String(p.pid).includes(f) || (p.comm ?? '').toLowerCase().includes(f) || (p.path ?? '').toLowerCase().includes(f)) return 'self';
  for (const en of p.fds.values()) if (pathMatches(en.target, f)) return 'path';
  for (const c of p.closed) if (pathMatches(c.target, f)) return 'path';
  for (const m of p.maps) if (pathMatches(m.path, f)) return 'path';
  return false;
}

export function pathMatches(target: string | null, f: string): boolean {
  return (target ?? '').toLowerCase().includes(f);
}

function endMatches(e: TransferEnd | null, f: string): boolean {
  if (!e) return false;
  return (e.pid !== null && String(e.pid).includes(f)) || (e.comm ?? '').toLowerCase().includes(f) || (e.socket ?? '').toLowerCase().includes(f);
}

export function transferMatches(t: TransferRecord, f: string): boolean {
  return !f || endMatches(t.from, f) || endMatches(t.to, f) || (t.target ?? '').toLowerCase().includes(f);
}

function filterOf(s: State): string {
  return s.filter.toLowerCase();
}

// ------------------------------------------------------------------ rows

export function panelRows(s: State, panel: PanelId): Row[] {
  switch (panel) {
    case 'processes': return processRows(s);
    case 'fds': return fdRows(s);
    case 'transfers': return transferRows(s);
    case 'maps': return mapRows(s);
    case 'alerts': return alertRows(s);
  }
}

export function panelColumns(s: State, panel: PanelId): Column[] {
  switch (panel) {
    case 'processes': return [
      { title: 'PID', min: 7, flex: 1, max: 22, cut: 'start', need: 1 },
      { title: 'COMM', min: 6, flex: 2, max: 30, need: 2 },
      { title: 'UID', min: 5, align: 'right' },
      { title: 'FDS', min: 4, align: 'right' },
      { title: 'S/R', min: 5, align: 'right' },
      { title: 'STATE', min: 8, showAt: 46, drop: 1 },
    ];
    case 'fds': return [
      { title: '', min: 1 },
      { title: 'FD', min: 4, align: 'right' },
      { title: 'KIND', min: 7, showAt: 60 },
      { title: 'CX', min: 2 },
      { title: 'POS', min: 8, align: 'right', showAt: 80, drop: 2 },
      { title: 'TARGET', min: 10, flex: 1, cut: 'middle', need: 1 },
      { title: 'ORIGIN', min: 10, flex: 2, drop: 1, need: 2 },
    ];
    case 'transfers': return [
      { title: '', min: 1 },
      // the time gives way first: at 80 columns the pids, then the target's inodes or file name, then the names
      { title: 'TIME', min: 12, showAt: viewModel(s).lastTs === null ? Infinity : 96, drop: 2 },
      { title: 'SENDER', min: 16, flex: 1, max: 34, need: 2 },
      { title: '', min: glyphs(s).scm.length },
      { title: 'RECEIVER', min: 16, flex: 1, max: 34, need: 2 },
      { title: 'TARGET', min: 8, flex: 2, cut: 'middle', need: 1 },
    ];
    case 'maps': return [
      { title: '', min: 1 },
      { title: 'START', min: 14, showAt: 56, drop: 1 },
      { title: 'PERM', min: 4 },
      { title: 'FD', min: 3, align: 'right' },
      { title: 'PATH', min: 8, flex: 1, cut: 'middle', need: 1 },
    ];
    case 'alerts': return [
      { title: 'TIME', min: 12, showAt: viewModel(s).lastTs === null ? Infinity : 72, drop: 2 },
      { title: 'KIND', min: 10, flex: 1, max: 24 },
      { title: 'PID', min: 6, align: 'right' },
      { title: 'MESSAGE', min: 10, flex: 4 },
    ];
  }
}

export function stateText(p: ProcView): string {
  // a process known only from other records (the receiver of a transfer out of the traced set): not traced,
  // so neither its state nor its fd table is known
  if (!p.exited) return p.placeholder ? 'untraced' : 'running';
  if (p.signal) return `killed ${p.signal}`;
  return `exit ${p.exitCode ?? '?'}`;
}

// Cells built only for the rows a frame draws: a busy trace has thousands of processes.
class ProcRow implements Row {
  readonly key: number;
  constructor(private readonly p: ProcView, private readonly head: string, private readonly folded: boolean, readonly style: Style, private readonly u: boolean) {
    this.key = p.pid;
  }
  get cells(): string[] {
    const p = this.p;
    const comm = clean(p.comm ?? '?', this.u) + (this.folded ? ` +${p.tids.length} thr` : '');
    // "killed SIGKILL" shortens to the signal's name in a narrow STATE column
    const state = p.exited && p.signal ? stateText(p) + ALT + clean(p.signal, this.u) : stateText(p);
    return [this.head + String(p.pid), comm, p.uid === null ? '?' : String(p.uid), p.placeholder && p.fds.size === 0 ? '?' : String(p.fds.size), `${p.sent}/${p.received}`, state];
  }
}

/** Processes as a tree: children under their parent, threads folded (right/l unfolds), exited ones dim. */
export function processRows(s: State): Row[] {
  const m = viewModel(s);
  const u = s.unicode;
  const g = glyphs(s);
  const f = filterOf(s);
  const procs = [...m.processes.values()];
  const shown = new Set<number>();
  const matched = new Set<number>();
  if (f) {
    // both ends of a transfer whose path matches match too (the fds may be long closed)
    const viaTransfer = new Set<number>();
    for (let i = 0; i < m.transfers.length; i++) {
      const t = m.transfers.at(i)!.rec;
      if (!pathMatches(t.target, f)) continue;
      if (t.from.pid !== null) viaTransfer.add(t.from.pid);
      if (t.to?.pid != null) viaTransfer.add(t.to.pid);
    }
    for (const p of procs) {
      if (!procMatches(p, f) && !viaTransfer.has(p.pid)) continue;
      matched.add(p.pid);
      // keep the ancestors, for the tree
      let q: ProcView | undefined = p;
      let guard = 0;
      while (q && !shown.has(q.pid) && guard++ < 64) {
        shown.add(q.pid);
        q = q.ppid !== null && q.ppid !== q.pid ? m.processes.get(q.ppid) : undefined;
      }
    }
  }
  const folded = foldedExited(s);
  const visible = (p: ProcView): boolean => (!f || shown.has(p.pid)) && !folded.has(p.pid);
  const children = new Map<number, ProcView[]>();
  const roots: ProcView[] = [];
  for (const p of procs) {
    if (!visible(p)) continue;
    const parent = p.ppid !== null && p.ppid !== p.pid ? m.processes.get(p.ppid) : undefined;
    if (parent && visible(parent)) {
      let c = children.get(parent.pid);
      if (!c) children.set(parent.pid, (c = []));
      c.push(p);
    } else roots.push(p);
  }
  const rows: Row[] = [];
  const seen = new Set<number>();
  const walk = (p: ProcView, prefix: string, branch: string, depth: number): void => {
    if (seen.has(p.pid)) return;
    seen.add(p.pid);
    const folded = p.tids.length > 0 && !s.unfolded.has(p.pid);
    const style: Style = f && !matched.has(p.pid) ? 'dim' : p.exited ? 'dim' : p.alerts > 0 ? 'warn' : 'normal';
    rows.push(new ProcRow(p, prefix + branch, folded, style, u));
    const inner = depth >= 8 ? prefix : prefix + (branch === g.branch ? g.pipe : branch === '' ? '' : '  ');
    if (!folded) {
      for (const tid of p.tids) rows.push({ key: null, cells: [inner + '  ' + String(tid), 'thread', '', '', '', ''], style: 'dim' });
    }
    const kids = children.get(p.pid) ?? [];
    kids.sort((a, b) => a.seq - b.seq);
    kids.forEach((k, i) => walk(k, inner, i === kids.length - 1 ? g.last : g.branch, depth + 1));
  };
  roots.sort((a, b) => a.seq - b.seq);
  for (const r of roots) walk(r, '', '', 0);
  return rows;
}

function fdRow(en: FdView, s: State, key: RowKey, marked: boolean): Row {
  const u = s.unicode;
  const fresh = en.addedAt > 0 && s.now - en.addedAt < HIGHLIGHT_MS;
  return {
    key,
    cells: [marked ? '>' : fresh ? '+' : en.transferred ? '*' : ' ', String(en.fd), en.kind, en.cloexec === null ? '?' : en.cloexec ? 'x' : '-',
      en.pos === null ? '-' : String(en.pos), clean(en.target ?? '?', u), originCell(en.origin, u)],
    style: marked ? 'mark' : fresh ? 'new' : 'normal',
  };
}

function closedRow(c: ClosedFd, s: State, key: RowKey, marked: boolean): Row {
  return {
    key,
    cells: [marked ? '>' : '-', String(c.fd), c.kind, '', '', clean(c.target ?? '?', s.unicode), 'closed; ' + originText(c.origin, s.unicode) + ALT + 'closed'],
    style: marked ? 'mark' : 'closed',
  };
}

/** The selected process's fd table (new fds and recently closed ones highlighted), or both ends of the selected transfer. */
export function fdRows(s: State): Row[] {
  const m = viewModel(s);
  const f = filterOf(s);
  if (s.fdView === 'transfer' && s.sel.transfer !== null) {
    const t = findTransfer(m, s.sel.transfer);
    if (t) return transferFdRows(s, m, t);
  }
  const p = s.sel.pid !== null ? m.processes.get(s.sel.pid) : undefined;
  if (!p) return [];
  const byPath = f !== '' && procMatches(p, f) !== 'self';
  const rows: Row[] = [];
  for (const en of [...p.fds.values()].sort((a, b) => a.fd - b.fd)) {
    if (byPath && !pathMatches(en.target, f)) continue;
    rows.push(fdRow(en, s, en.fd, false));
  }
  for (const c of p.closed) {
    if (s.now - c.closedAt >= HIGHLIGHT_MS || p.fds.has(c.fd)) continue;
    if (byPath && !pathMatches(c.target, f)) continue;
    rows.push(closedRow(c, s, null, false));
  }
  return rows;
}

function transferFdRows(s: State, m: Model, t: TransferView): Row[] {
  const rows: Row[] = [];
  const u = s.unicode;
  const side = (label: string, e: TransferEnd | null): void => {
    if (!e || e.pid === null) {
      rows.push({ key: null, cells: [`${label}: ${e ? 'unknown process' : 'not received'}`], style: 'head', span: true });
      return;
    }
    const p = m.processes.get(e.pid);
    rows.push({ key: null, cells: [`${label} ${cellName(p?.comm ?? e.comm, e.pid, u)}, fd ${e.fd ?? '?'} marked >${p?.exited ? ' (exited: fds at exit)' : ''}`], style: 'head', span: true });
    // the entry as it was at the transfer: that fd number may have held another file before, or since
    const at = label === 'sender' ? t.rec.sentTs ?? t.rec.receivedTs : t.rec.receivedTs;
    const sent = (fd: number, target: string | null): boolean => fd === e.fd && sameFile(target, t.rec.target);
    let markedShown = false;
    if (p) {
      for (const en of [...p.fds.values()].sort((a, b) => a.fd - b.fd)) {
        const marked = sent(en.fd, en.target) && (at === null || en.ts === null || en.ts <= at);
        if (marked) markedShown = true;
        rows.push(fdRow(en, s, `${e.pid}:${en.fd}`, marked));
      }
    }
    if (!markedShown && e.fd !== null) {
      const c = p ? [...p.closed].reverse().find((x) => sent(x.fd, x.target) && (at === null || x.ts === null || x.ts >= at)) : undefined;
      if (c) rows.push(closedRow(c, s, null, true));
      else rows.push({ key: null, cells: ['>', String(e.fd), t.rec.kind, '', '', clean(t.rec.target ?? '?', u), 'not open now'], style: 'mark' });
    }
  };
  side('sender', t.rec.from);
  side('receiver', t.rec.to);
  return rows;
}

/** Two names of one file as records give them (a deleted file gains ` (deleted)`). */
function sameFile(a: string | null, b: string | null): boolean {
  const strip = (x: string | null): string | null => (x !== null && x.endsWith(' (deleted)') ? x.slice(0, -10) : x);
  return strip(a) === strip(b);
}

function transferState(t: TransferRecord): { mark: string; text: string; style: Style } {
  if (t.state === 'lost') return { mark: '!', text: `LOST${t.reason ? ': ' + clean(t.reason, false) : ''}`, style: 'alert' };
  if (t.state === 'in-flight') return { mark: '~', text: 'IN FLIGHT', style: 'warn' };
  return { mark: ' ', text: '', style: 'normal' };
}

export function transferLine(t: TransferRecord, s: State): string[] {
  const u = s.unicode;
  const g = glyphs(s);
  const st = transferState(t);
  // the name before KEEP is cut when the column is short, never the pid and fd after it
  const end = (e: TransferEnd): string => {
    const outside = untracedName(e);
    if (outside !== null) return `${clean(outside, u)}${KEEP} fd ?`;
    const tid = e.tid !== null && e.pid !== null && e.tid !== e.pid ? `/${e.tid}` : '';
    return `${clean(e.comm ?? '?', u)}${KEEP}[${e.pid ?? '?'}${tid}] fd ${e.fd ?? '?'}`;
  };
  const from = end(t.from);
  const to = t.to ? end(t.to) : '(not received)';
  const a = t.from.uid;
  const b = t.to?.uid ?? null;
  const uids = a !== null && b !== null && a !== b ? `  (uid ${a} ${g.to} ${b})` : '';
  const tail = uids + (st.text ? `  [${st.text}]` : '');
  const target = clean(t.target ?? '?', u);
  return [st.mark, clock(t.sentTs ?? t.ts), from, t.via === 'SCM_RIGHTS' ? g.scm : g.take, to, tail ? target + SUFFIX + tail : target];
}

// A class with prototype getters: cheap to make by the ten thousand, cells built only when drawn.
class TransferRow implements Row {
  readonly key: number;
  constructor(private readonly t: TransferView, private readonly s: State) { this.key = t.seq; }
  get style(): Style {
    const st = transferState(this.t.rec).style;
    return st === 'normal' && this.s.now - this.t.at < HIGHLIGHT_MS ? 'new' : st;
  }
  get cells(): string[] { return transferLine(this.t.rec, this.s); }
}

/** The transfer log, oldest first; in-flight ones marked ~ and lost ones ! (and coloured). */
export function transferRows(s: State): Row[] {
  const m = viewModel(s);
  const f = filterOf(s);
  const rows: Row[] = [];
  const n = m.transfers.length;
  for (let i = 0; i < n; i++) {
    const t = m.transfers.at(i)!;
    if (f && !transferMatches(t.rec, f)) continue;
    rows.push(new TransferRow(t, s));
  }
  return rows;
}

function mapRow(r: MapRecord, s: State): Row {
  return {
    key: r.start,
    cells: [r.transferred ? '*' : ' ', r.start, r.perms, r.fd == null ? '-' : String(r.fd), clean(r.path ?? '?', s.unicode) + (r.transferred ? SUFFIX + '  (transferred fd)' : '')],
    style: r.transferred ? 'mark' : 'normal',
  };
}

/** File-backed mappings of the selected process; those made from a transferred fd marked *. */
export function mapRows(s: State): Row[] {
  const m = viewModel(s);
  const f = filterOf(s);
  const p = s.sel.pid !== null ? m.processes.get(s.sel.pid) : undefined;
  if (!p) return [];
  const byPath = f !== '' && procMatches(p, f) !== 'self';
  const rows: Row[] = [];
  for (const r of p.maps) {
    if (byPath && !pathMatches(r.path, f)) continue;
    rows.push(mapRow(r, s));
  }
  return rows;
}

export function alertRows(s: State): Row[] {
  const m = viewModel(s);
  const f = filterOf(s);
  const rows: Row[] = [];
  for (let i = 0; i < m.alerts.length; i++) {
    const a = m.alerts.at(i)!;
    const r = a.rec;
    if (f && !(r.message.toLowerCase().includes(f) || (r.pid !== null && String(r.pid).includes(f)) || r.kind.includes(f))) continue;
    // privilege and uid crossings lead with their facts (mode, uids, access), which a cut message would hide
    const facts = crossingFacts(r, s.unicode ? '→' : '->');
    const style: Style = r.severity === 'info' ? 'warn' : 'alert';
    rows.push({ key: a.seq, style, cells: [clock(r.ts), r.kind, r.pid === null ? '-' : String(r.pid), (facts !== null ? `${facts}: ` : '') + clean(alertText(r), s.unicode)] });
  }
  return rows;
}

/** The MESSAGE cell: an fd-leak says its count first (the PID column names the process; Enter shows the message). */
function alertText(r: AlertRecord): string {
  if (r.kind !== 'fd-leak' || r.count === undefined) return r.message;
  const first = r.samples?.[0];
  const eg = first ? `: fd ${first.fd} ${first.target ?? '?'}` : '';
  if (r.leak === 'growth') return `fd count +${r.growth ?? '?'} to ${r.count}, more every second`;
  if (r.leak === 'sent') return `${r.count} sent, never closed${eg}`;
  return `${r.count} received, never used/closed${eg}`;
}
