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

interface Node {
  hop: Hop;
  key: string;
  pid: number;
  fd: number;
  parent: Node | null;
  /** closes, maps, lost sends of this fd */
  after: Hop[];
  /** hops not kept beyond MAX_AFTER */
  afterDropped: number;
  closed: boolean;
  /** a received/taken fd whose transfer record is still to come */
  awaitingTransfer: boolean;
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
  /** origin (or, without one, `?pid:fd`) -> its nodes, least recently active first */
  private readonly byOrigin = new Map<string, Node[]>();
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
    if (!n || n.hop.seq > upTo) return null;
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
      const k = Math.max(x.hop.seq, prev + 1e-3);
      keyed.push({ key: k, h: x.hop });
      for (const a of x.after) keyed.push({ key: Math.max(a.seq, k + 1e-6), h: a });
      dropped += x.afterDropped;
      prev = k;
    }
    const hops = keyed.filter((x) => x.h.seq <= upTo).sort((a, b) => a.key - b.key || a.h.seq - b.h.seq).map((x) => x.h);
    const origin = n.key.startsWith('?') ? null : n.key;
    const incomplete = root.hop.kind !== 'opened' && root.hop.kind !== 'seen' && root.hop.kind !== 'snapshot';
    return { pid, fd, origin, hops, incomplete, dropped };
  }

  /** Whether any record named fd `fd` of `pid`. */
  has(pid: number, fd: number): boolean {
    return this.last.get(pid)?.has(fd) ?? false;
  }

  sizes(): { nodes: number; origins: number } {
    return { nodes: this.nodes, origins: this.byOrigin.size };
  }

  // ------------------------------------------------------------------ the fold

  private comm(pid: number | null): string | null {
    return pid === null ? null : this.comms.get(pid) ?? null;
  }

  private hop(kind: HopKind, seq: number, r: FdwatchRecord, pid: number, fd: number | null): Hop {
    return {
      kind, seq, ts: r.ts, pid, comm: this.comm(pid), fd, target: null, syscall: null,
      fromPid: null, fromComm: null, fromFd: null, via: null, socket: null, peerSocket: null,
      perms: null, start: null, end: null, records: [r],
    };
  }


  /** The newest node of `origin` at pid:fd; without an origin, the newest node of that number. */
  private find(origin: string | undefined, pid: number | null, fd: number | null): Node | null {
    if (pid === null || fd === null) return null;
    if (origin === undefined) return this.last.get(pid)?.get(fd) ?? null;
    const list = this.byOrigin.get(origin);
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) {
      const n = list[i]!;
      if (n.pid === pid && n.fd === fd) return n;
    }
    return null;
  }

  /** The newest node at pid:fd, if it is of this origin (when the record names one). */
  private current(r: { pid: number; fd: number | null | undefined; origin?: string }): Node | null {
    if (r.fd === null || r.fd === undefined) return null;
    const n = this.last.get(r.pid)?.get(r.fd);
    if (!n || (r.origin !== undefined && n.key !== r.origin)) return null;
    return n;
  }

  private fd(r: FdRecord, seq: number): void {
    if (r.op === 'cloexec') return;
    if (r.op === 'close') {
      const n = this.current(r);
      if (!n || n.closed) return;
      n.closed = true;
      const h = this.hop('closed', seq, r, r.pid, r.fd);
      h.syscall = r.syscall;
      h.target = r.target;
      this.after(n, h);
      return;
    }
    if (r.op === 'seen') {
      // an fd already known whose target gained detail: the same fd, not a new one
      const n = this.current(r);
      if (n && !n.closed) { n.hop.target = r.target; return; }
    }
    const kind: HopKind = r.op === 'open' ? 'opened' : r.op === 'inherit' ? 'inherited' : r.op === 'receive' ? 'received'
      : r.op === 'take' ? 'taken' : r.op === 'dup' ? 'dup' : r.op === 'snapshot' ? 'snapshot' : 'seen';
    const h = this.hop(kind, seq, r, r.pid, r.fd);
    h.target = r.target;
    h.syscall = r.syscall;
    let parent: Node | null = null;
    if (kind === 'inherited') {
      h.fromPid = r.fromPid ?? this.ppids.get(r.pid) ?? null;
      h.fromFd = r.fd;
      parent = this.find(r.origin, h.fromPid, r.fd);
    } else if (kind === 'dup') {
      h.fromPid = r.pid;
      h.fromFd = r.fromFd ?? null;
      parent = this.find(r.origin, r.pid, h.fromFd);
    } else if (kind === 'received' || kind === 'taken') {
      h.fromPid = r.fromPid ?? null;
      h.fromFd = r.fromFd ?? null;
      parent = this.find(r.origin, h.fromPid, h.fromFd);
      h.via = kind === 'taken' ? 'pidfd_getfd' : 'SCM_RIGHTS';
    }
    h.fromComm = this.comm(h.fromPid);
    const key = r.origin ?? `?${r.pid}:${r.fd}`;
    const n: Node = {
      hop: h, key, pid: r.pid, fd: r.fd, parent, after: [], afterDropped: 0, closed: false,
      awaitingTransfer: kind === 'received' || kind === 'taken',
    };
    let list = this.byOrigin.get(key);
    if (list) this.byOrigin.delete(key); // re-inserted: the most recently active last
    else list = [];
    list.push(n);
    this.byOrigin.set(key, list);
    let fds = this.last.get(r.pid);
    if (!fds) { fds = new Map(); this.last.set(r.pid, fds); }
    fds.set(r.fd, n);
    if (this.opts.pin && this.opts.pin.pid === r.pid && this.opts.pin.fd === r.fd) this.pinned.add(key);
    if (++this.nodes > this.maxNodes) this.evict();
  }

  private transfer(r: TransferRecord, seq: number): void {
    if (r.from.comm !== null && r.from.pid !== null && !this.comms.has(r.from.pid)) this.comms.set(r.from.pid, r.from.comm);
    const to = r.to;
    if (r.state === 'delivered' && to && to.pid !== null && to.fd !== null) {
      // by number, not origin: a receive read before its send (-ff without timestamps) got an origin of its own
      const n = this.last.get(to.pid)?.get(to.fd);
      if (n && n.awaitingTransfer) {
        n.awaitingTransfer = false;
        const h = n.hop;
        h.socket = r.from.socket;
        h.peerSocket = to.socket;
        h.via = r.via;
        if (h.fromPid === null) h.fromPid = r.from.pid;
        if (h.fromFd === null) h.fromFd = r.from.fd;
        h.fromComm = r.from.comm ?? this.comm(h.fromPid);
        h.records.push(r);
        recordSeq.set(r, seq);
        if (!n.parent) n.parent = this.find(r.origin, r.from.pid, r.from.fd) ?? this.find(undefined, r.from.pid, r.from.fd);
        return;
      }
    }
    if (r.state === 'delivered' || r.from.pid === null) return;
    // sent and never installed: a hop of the sender's fd
    const n = this.find(r.origin, r.from.pid, r.from.fd);
    if (!n) return;
    const h = this.hop(r.state === 'lost' ? 'sent-lost' : 'sent-in-flight', seq, r, r.from.pid, r.from.fd);
    h.target = r.target;
    h.via = r.via;
    h.socket = r.from.socket;
    h.peerSocket = to?.socket ?? null;
    h.fromPid = to?.pid ?? null; // for a send: whom it was for
    h.fromComm = to?.comm ?? null;
    this.after(n, h);
  }

  private map(r: MapRecord, seq: number): void {
    const n = this.current({ pid: r.pid, fd: r.fd ?? null, ...(r.origin !== undefined ? { origin: r.origin } : {}) });
    if (!n) return;
    const h = this.hop('mapped', seq, r, r.pid, r.fd ?? null);
    h.target = r.path;
    h.perms = r.perms;
    h.start = r.start;
    h.end = r.end;
    this.after(n, h);
  }

  private after(n: Node, h: Hop): void {
    if (n.after.length >= MAX_AFTER) { n.afterDropped++; return; }
    n.after.push(h);
  }

  /** Drops the least recently active open file descriptions (never a pinned one) until the fold is within bounds. */
  private evict(): void {
    for (const [key, list] of this.byOrigin) {
      if (this.nodes <= this.maxNodes) return;
      if (this.pinned.has(key)) continue;
      this.byOrigin.delete(key);
      for (const n of list) {
        const fds = this.last.get(n.pid);
        if (fds?.get(n.fd) === n) { fds.delete(n.fd); if (fds.size === 0) this.last.delete(n.pid); }
        this.nodes--;
      }
    }
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
