// Provenance (issue 14): an fd's whole history across processes, folded from records alone. Each fd record that
// makes an fd (open, inherit, dup, receive, take, seen, snapshot) is a node whose parent is the fd it came from,
// found by the record's `origin` (the open file description) and the pid and fd it names; transfers, maps and
// closes hang off the node they happened to. chain(pid, fd) walks from the newest fd of that number back to where
// its open file description was opened, and returns every hop of that lineage in trace order. Pure, bounded.
import type { FdwatchRecord, FdRecord, MapRecord, TransferRecord, TransferVia, Ts } from '../model/records.js';
import { commPid } from '../model/names.js';

export type HopKind =
  | 'opened' | 'seen' | 'snapshot' | 'inherited' | 'received' | 'taken' | 'dup'
  | 'mapped' | 'closed' | 'sent-lost' | 'sent-in-flight';

/** One step of an fd's history. Fields a kind does not use are null. */
export interface Hop {
  kind: HopKind;
  /** order of the record in the input */
  seq: number;
  ts: Ts;
  pid: number;
  comm: string | null;
  fd: number | null;
  target: string | null;
  syscall: string | null;
  /** inherited: the parent; received/taken: the sender; dup: the process itself */
  fromPid: number | null;
  fromComm: string | null;
  fromFd: number | null;
  /** received/taken and sent-*: the transfer */
  via: TransferVia | null;
  /** the sender's socket and the receiver's */
  socket: string | null;
  peerSocket: string | null;
  /** mapped */
  perms: string | null;
  start: string | null;
  end: string | null;
  /** the records this hop stands for, in input order */
  records: FdwatchRecord[];
}

/** An fd some record made. Lean on purpose (the dashboard folds every record): hops are built only by chain(). */
interface Node {
  /** the fd record that made it */
  r: FdRecord;
  seq: number;
  kind: HopKind;
  /** origin, or `?pid:fd` without one */
  key: string;
  pid: number;
  fd: number;
  comm: string | null;
  fromPid: number | null;
  fromFd: number | null;
  parent: Node | null;
  /** the delivered transfer that installed it (received/taken) */
  xfer: TransferRecord | null;
  xferSeq: number;
  /** its close (the commonest hop: kept without an array) */
  close: FdRecord | null;
  closeSeq: number;
  /** maps and lost sends of this fd, with their seqs (allocated on the first) */
  after: FdwatchRecord[] | null;
  afterSeq: number[] | null;
  /** after-records not kept beyond MAX_AFTER */
  afterDropped: number;
  /** the node of the same open file description made before / after this one (a list the newest node heads) */
  prevSame: Node | null;
  nextSame: Node | null;
}

export interface Chain {
  pid: number;
  fd: number;
  /** the open file description, when the records name it */
  origin: string | null;
  hops: Hop[];
  /** the lineage reached a parent the fold no longer keeps (limits) or never saw */
  incomplete: boolean;
  /** hops of the lineage's fds not kept (a file mapped many times) */
  dropped: number;
}

export interface ProvenanceOptions {
  /** fds kept (nodes); the least recently active open file descriptions go first. Default 50 000. */
  maxNodes?: number;
  /** an fd whose history is never evicted (replay --follow knows it before it reads) */
  pin?: { pid: number; fd: number };
}

const MAX_AFTER = 64;

export class Provenance {
  private seq = 0;
  private nodes = 0;
  private readonly comms = new Map<number, string | null>();
  private readonly ppids = new Map<number, number>();
  /** origin -> its newest node (the head of its list) */
  private readonly byOrigin = new Map<string, Node>();
  /** every kept node, oldest first from `head`: the eviction order */
  private fifo: Node[] = [];
  private head = 0;
  /** pid -> fd -> the newest node of that number */
  private readonly last = new Map<number, Map<number, Node>>();
  private readonly pinned = new Set<string>();
  private readonly maxNodes: number;

  constructor(private readonly opts: ProvenanceOptions = {}) {
    this.maxNodes = opts.maxNodes ?? 50_000;
  }

  push(r: FdwatchRecord): void {
    const seq = ++this.seq;
    switch (r.type) {
      case 'process':
        if (r.comm !== null) this.comms.set(r.pid, r.comm);
        if (r.ppid !== null) this.ppids.set(r.pid, r.ppid);
        return;
      case 'fd': this.fd(r, seq); return;
      case 'transfer': this.transfer(r, seq); return;
      case 'map': this.map(r, seq); return;
      default: return;
    }
  }

  /**
   * The history of fd `fd` of `pid` as it was last (the newest fd of that number, open or closed); null if none.
   * `upTo`: only the hops of the first `upTo` records pushed (a paused view).
   */
  chain(pid: number, fd: number, upTo = Infinity): Chain | null {
    const n = this.last.get(pid)?.get(fd);
    if (!n || n.seq > upTo) return null;
    const lineage: Node[] = [];
    for (let x: Node | null = n; x; x = x.parent) lineage.push(x);
    const root = lineage[lineage.length - 1]!;
    // input order, except that no hop comes before the one it came from: an -ff set without timestamps is read
    // file by file, so a receive can be read before the open it goes back to
    const keyed: Array<{ key: number; h: Hop }> = [];
    let dropped = 0;
    let prev = -Infinity;
    for (let i = lineage.length - 1; i >= 0; i--) {
      const x = lineage[i]!;
      const k = Math.max(x.seq, prev + 1e-3);
      keyed.push({ key: k, h: this.nodeHop(x, upTo) });
      if (x.close !== null && x.closeSeq <= upTo) keyed.push({ key: Math.max(x.closeSeq, k + 1e-6), h: this.afterHop(x, x.close, x.closeSeq) });
      const after = x.after ?? [];
      for (let j = 0; j < after.length; j++) {
        const seq = x.afterSeq![j]!;
        if (seq <= upTo) keyed.push({ key: Math.max(seq, k + 1e-6), h: this.afterHop(x, after[j]!, seq) });
      }
      dropped += x.afterDropped;
      prev = k;
    }
    const hops = keyed.sort((a, b) => a.key - b.key || a.h.seq - b.h.seq).map((x) => x.h);
    const origin = n.key.startsWith('?') ? null : n.key;
    const incomplete = root.kind !== 'opened' && root.kind !== 'seen' && root.kind !== 'snapshot';
    return { pid, fd, origin, hops, incomplete, dropped };
  }

  /** Whether any record named fd `fd` of `pid`. */
  has(pid: number, fd: number): boolean {
    return this.last.get(pid)?.has(fd) ?? false;
  }

  sizes(): { nodes: number; origins: number } {
    return { nodes: this.nodes, origins: this.byOrigin.size };
  }

  // ------------------------------------------------------------------ hops, built on demand

  private comm(pid: number | null): string | null {
    return pid === null ? null : this.comms.get(pid) ?? null;
  }

  private blank(kind: HopKind, seq: number, r: FdwatchRecord, pid: number, comm: string | null, fd: number | null): Hop {
    return {
      kind, seq, ts: r.ts, pid, comm, fd, target: null, syscall: null,
      fromPid: null, fromComm: null, fromFd: null, via: null, socket: null, peerSocket: null,
      perms: null, start: null, end: null, records: [r],
    };
  }

  private nodeHop(n: Node, upTo: number): Hop {
    const h = this.blank(n.kind, n.seq, n.r, n.pid, n.comm, n.fd);
    h.target = n.r.target;
    h.syscall = n.r.syscall;
    h.fromPid = n.fromPid;
    h.fromFd = n.fromFd;
    h.fromComm = n.parent?.comm ?? this.comm(n.fromPid);
    if (n.kind === 'received' || n.kind === 'taken') h.via = n.kind === 'taken' ? 'pidfd_getfd' : 'SCM_RIGHTS';
    const t = n.xfer;
    if (t && n.xferSeq <= upTo) {
      h.socket = t.from.socket;
      h.peerSocket = t.to?.socket ?? null;
      h.via = t.via;
      if (t.from.comm !== null) h.fromComm = t.from.comm;
      h.records.push(t);
      recordSeq.set(t, n.xferSeq);
    }
    return h;
  }

  private afterHop(n: Node, r: FdwatchRecord, seq: number): Hop {
    if (r.type === 'map') {
      const h = this.blank('mapped', seq, r, n.pid, n.comm, r.fd ?? null);
      h.target = r.path;
      h.perms = r.perms;
      h.start = r.start;
      h.end = r.end;
      return h;
    }
    if (r.type === 'transfer') {
      const h = this.blank(r.state === 'lost' ? 'sent-lost' : 'sent-in-flight', seq, r, n.pid, n.comm, r.from.fd);
      h.target = r.target;
      h.via = r.via;
      h.socket = r.from.socket;
      h.peerSocket = r.to?.socket ?? null;
      h.fromPid = r.to?.pid ?? null; // for a send: whom it was for
      h.fromComm = r.to?.comm ?? null;
      return h;
    }
    const c = r as FdRecord;
    const h = this.blank('closed', seq, r, n.pid, n.comm, c.fd);
    h.syscall = c.syscall;
    h.target = c.target;
    return h;
  }

  // ------------------------------------------------------------------ the fold

  /** The newest node of `origin` at pid:fd; without an origin, the newest node of that number. */
  private find(origin: string | undefined, pid: number | null, fd: number | null): Node | null {
    if (pid === null || fd === null) return null;
    const n = this.last.get(pid)?.get(fd) ?? null;
    // the common case: the fd is still (or was last) that open file description
    if (origin === undefined || n === null || n.key === origin) return n;
    for (let x = this.byOrigin.get(origin) ?? null; x; x = x.prevSame) if (x.pid === pid && x.fd === fd) return x;
    return null;
  }

  /** The newest node at pid:fd, if it is of this origin (when the record names one). */
  private current(pid: number, fd: number | null | undefined, origin: string | undefined): Node | null {
    if (fd === null || fd === undefined) return null;
    const n = this.last.get(pid)?.get(fd);
    if (!n || (origin !== undefined && n.key !== origin)) return null;
    return n;
  }

  private fd(r: FdRecord, seq: number): void {
    const op = r.op;
    if (op === 'cloexec') return;
    if (op === 'close') {
      const n = this.current(r.pid, r.fd, r.origin);
      if (!n || n.close !== null) return;
      n.close = r;
      n.closeSeq = seq;
      return;
    }
    if (op === 'seen') {
      // an fd already known whose target gained detail: the same fd, not a new one
      const n = this.current(r.pid, r.fd, r.origin);
      if (n && n.close === null) return;
    }
    const kind: HopKind = op === 'open' ? 'opened' : op === 'inherit' ? 'inherited' : op === 'receive' ? 'received'
      : op === 'take' ? 'taken' : op === 'dup' ? 'dup' : op === 'snapshot' ? 'snapshot' : 'seen';
    let fromPid: number | null = null;
    let fromFd: number | null = null;
    if (kind === 'inherited') { fromPid = r.fromPid ?? this.ppids.get(r.pid) ?? null; fromFd = r.fd; }
    else if (kind === 'dup') { fromPid = r.pid; fromFd = r.fromFd ?? null; }
    else if (kind === 'received' || kind === 'taken') { fromPid = r.fromPid ?? null; fromFd = r.fromFd ?? null; }
    const parent = fromPid !== null ? this.find(r.origin, fromPid, fromFd) : null;
    const origin = r.origin;
    const prev = origin !== undefined ? this.byOrigin.get(origin) ?? null : null;
    const n: Node = {
      r, seq, kind, key: origin ?? '?', pid: r.pid, fd: r.fd, comm: this.comms.get(r.pid) ?? null, fromPid, fromFd, parent,
      xfer: null, xferSeq: 0, close: null, closeSeq: 0, after: null, afterSeq: null, afterDropped: 0,
      prevSame: prev, nextSame: null,
    };
    if (origin !== undefined) { if (prev) prev.nextSame = n; this.byOrigin.set(origin, n); }
    this.fifo.push(n);
    let fds = this.last.get(r.pid);
    if (!fds) { fds = new Map(); this.last.set(r.pid, fds); }
    fds.set(r.fd, n);
    this.nodes++;
    const pin = this.opts.pin;
    if (pin && pin.pid === r.pid && pin.fd === r.fd) this.pinned.add(n.key);
    if (this.nodes > this.maxNodes) this.evict();
  }

  private transfer(r: TransferRecord, seq: number): void {
    if (r.from.comm !== null && r.from.pid !== null && !this.comms.has(r.from.pid)) this.comms.set(r.from.pid, r.from.comm);
    const to = r.to;
    if (r.state === 'delivered' && to && to.pid !== null && to.fd !== null) {
      // by number, not origin: a receive read before its send (-ff without timestamps) got an origin of its own
      const n = this.last.get(to.pid)?.get(to.fd);
      if (n && (n.kind === 'received' || n.kind === 'taken') && n.xfer === null) {
        n.xfer = r;
        n.xferSeq = seq;
        if (n.fromPid === null) n.fromPid = r.from.pid;
        if (n.fromFd === null) n.fromFd = r.from.fd;
        if (!n.parent) n.parent = this.find(r.origin, r.from.pid, r.from.fd) ?? this.find(undefined, r.from.pid, r.from.fd);
        return;
      }
    }
    if (r.state === 'delivered' || r.from.pid === null) return;
    // sent and never installed: a hop of the sender's fd
    const n = this.find(r.origin, r.from.pid, r.from.fd);
    if (n) this.after(n, r, seq);
  }

  private map(r: MapRecord, seq: number): void {
    const n = this.current(r.pid, r.fd, r.origin);
    if (n) this.after(n, r, seq);
  }

  private after(n: Node, r: FdwatchRecord, seq: number): void {
    if (n.after === null) { n.after = []; n.afterSeq = []; }
    if (n.after.length >= MAX_AFTER) { n.afterDropped++; return; }
    n.after.push(r);
    n.afterSeq!.push(seq);
  }

  /**
   * Drops the oldest fds (never one of a pinned open file description) until the fold is within bounds: out of the
   * tables and the lists of their open file descriptions; a kept fd's lineage still points at its parents.
   */
  private evict(): void {
    const keep: Node[] = [];
    while (this.nodes > this.maxNodes && this.head < this.fifo.length) {
      const n = this.fifo[this.head++]!;
      const pin = this.opts.pin;
      if ((n.key !== '?' && this.pinned.has(n.key)) || (pin && pin.pid === n.pid && pin.fd === n.fd)) { keep.push(n); continue; }
      this.nodes--;
      const fds = this.last.get(n.pid);
      if (fds?.get(n.fd) === n) { fds.delete(n.fd); if (fds.size === 0) this.last.delete(n.pid); }
      if (n.nextSame) n.nextSame.prevSame = null; // nothing older of it is kept
      else if (n.key !== '?' && this.byOrigin.get(n.key) === n) this.byOrigin.delete(n.key);
      n.prevSame = null;
    }
    // the pinned ones go to the end of the order; the array is compacted once half of it is spent
    for (const n of keep) this.fifo.push(n);
    if (this.head > this.fifo.length >> 1) { this.fifo = this.fifo.slice(this.head); this.head = 0; }
  }
}

/** input order of the records a hop took in after its first (a receive's transfer record) */
const recordSeq = new WeakMap<FdwatchRecord, number>();

/** The records a chain stands for, each once, in input order (replay --follow --json). */
export function chainRecords(c: Chain): FdwatchRecord[] {
  const all: Array<{ seq: number; r: FdwatchRecord }> = [];
  const seen = new Set<FdwatchRecord>();
  for (const h of c.hops) {
    h.records.forEach((r, i) => {
      if (seen.has(r)) return;
      seen.add(r);
      all.push({ seq: i === 0 ? h.seq : recordSeq.get(r) ?? h.seq, r });
    });
  }
  return all.sort((a, b) => a.seq - b.seq).map((x) => x.r);
}

/**
 * One hop as a line for people (`relay[20627] dup'ed fd 3 to fd 7 (dup2)`), without its time. `esc` makes traced
 * text (comm, paths, socket names) safe for the output it goes to.
 */
export function hopText(h: Hop, esc: (s: string) => string): string {
  const me = esc(commPid(h.comm, h.pid));
  const fd = h.fd === null ? 'fd ?' : `fd ${h.fd}`;
  const from = h.fromPid !== null ? esc(commPid(h.fromComm, h.fromPid)) : 'a sender the trace did not show';
  const target = esc(h.target ?? '?');
  const sys = h.syscall !== null ? ` (${esc(h.syscall)})` : '';
  // a placeholder (`socket:[?]`, no -yy) names nothing: left out
  const named = (x: string | null): x is string => x !== null && !x.endsWith(':[?]') && !x.startsWith('fd:');
  const over = (): string => {
    if (!named(h.socket)) return named(h.peerSocket) ? ` over ${esc(h.peerSocket)}` : '';
    return ` over ${esc(h.socket)}${named(h.peerSocket) ? ` -> ${esc(h.peerSocket)}` : ''}`;
  };
  switch (h.kind) {
    case 'opened': return `${me} opened ${target} as ${fd}${sys}`;
    case 'seen': return `${me} ${fd} is ${target}, open before the trace began (first seen in ${esc(h.syscall ?? '?')})`;
    case 'snapshot': return `${me} ${fd} is ${target}, open when fdwatch attached`;
    case 'inherited': return `${me} inherited ${fd} from ${from} at fork${sys}`;
    case 'received': return `${me} received it as ${fd} from ${from} fd ${h.fromFd ?? '?'}${over()} (${h.via ?? 'SCM_RIGHTS'}${h.syscall !== null ? `, ${esc(h.syscall)}` : ''})`;
    case 'taken': return `${me} took it as ${fd} from ${from} fd ${h.fromFd ?? '?'} (pidfd_getfd)`;
    case 'dup': return `${me} dup'ed fd ${h.fromFd ?? '?'} to ${fd}${sys}`;
    case 'mapped': return `${me} mapped ${fd} ${esc(h.perms ?? '?')} ${esc(h.start ?? '?')}-${esc(h.end ?? '?')}`;
    case 'closed': return `${me} closed ${fd}${sys}`;
    case 'sent-lost': return `${me} sent ${fd}${over()}${h.fromPid !== null ? ` to ${from}` : ''}: lost`;
    case 'sent-in-flight': return `${me} sent ${fd}${over()}: still in flight when the trace ended`;
  }
}
