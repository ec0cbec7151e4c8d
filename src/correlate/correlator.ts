// TraceEvents -> FdwatchRecords: the process tree, fd tables driven by the syscall table,
// the SCM_RIGHTS / pidfd_getfd transfer matcher, fd-backed mappings and alerts. Pure: no I/O.
import type { TraceEvent, SyscallEvent, EntryEvent, ExitEvent } from '../model/events.js';
import {
  SCHEMA_VERSION, type AlertKind, type AlertRecord, type FdKind, type FdOp, type FdwatchRecord, type TransferEnd, type TransferRecord, type Ts,
} from '../model/records.js';
import { SYSCALLS, type SyscallSpec } from '../model/syscalls.js';
import { parseDecor, plainTarget, type FdTarget } from '../tracer/decor.js';
import { parseArgs, parseArg, field, after, textOf, numOf, fdOf, leadingFd, type ArgAt, type Value } from '../tracer/values.js';
import type { FdEntry, FdTable, OpenFileDescription, Origin, Process } from './state.js';

export interface CorrelatorOptions {
  /** live mode: thread id -> thread group id from /proc, for threads that appear without a clone */
  resolveTgid?: (tid: number) => number | null;
  /** input not in time order (-ff files without timestamps): a receive may come before its send */
  deferOrphans?: boolean;
  /** live mode: the uid of a process that shows up without a parent in the trace, from /proc */
  resolveProcess?: (pid: number) => { uid: number | null } | null;
  /** exited processes kept in `processes` (their final fd tables, for reports); older ones are forgotten */
  keepExited?: number;
}

/** The default of `keepExited`: memory is bounded by the running processes plus this many. */
export const KEEP_EXITED = 4096;

/** connects to one path still waiting for their accept: a server that is not traced never accepts them */
const MAX_PENDING_CONNECTS = 1024;

/** A receive whose send was not seen (yet): held until the send shows up or the trace ends. */
interface OrphanFd {
  p: Process;
  entry: FdEntry;
  to: TransferEnd;
  ts: Ts;
  line: number;
  /** what the receiver's decoration said the fd is */
  seen: FdTarget | null;
}

export interface SeedProcess {
  pid: number;
  ppid: number | null;
  comm: string | null;
  uid: number | null;
  tids: number[];
  fds: Array<{ fd: number; target: string; kind: FdKind; cloexec: boolean | null }>;
}

interface InFlightFd {
  from: TransferEnd;
  ofd: OpenFileDescription;
  target: string;
  kind: FdKind;
  sentTs: Ts;
  line: number;
  /** what the sender's decoration said the fd is (-y/-yy), checked against the receiver's */
  seen: FdTarget | null;
}

interface InFlightMessage {
  fds: InFlightFd[];
  /** queued; taken by a receive; dropped (its send failed); stranded (its receive is not in the trace) */
  state: 'queued' | 'taken' | 'dropped' | 'stranded';
  /** event order of the send's entry and of its return (Infinity until it returns) */
  entrySeq: number;
  doneSeq: number;
}

/** A sendmsg whose message was queued at its `<unfinished ...>` entry: its return decides whether it stays. */
interface PendingSend {
  line: number;
  p: Process;
  messages: InFlightMessage[];
}

/** How far a receive looks past the oldest queued message for the one its fds name. */
const MAX_SCAN = 256;

interface PendingClone {
  tid: number;
  flags: string;
  name: string;
}

export interface CorrelatorCounts {
  delivered: number;
  inFlight: number;
  lost: number;
  fdsSent: number;
  fdsReceived: number;
  alerts: number;
  opaqueMessages: number;
}

export class Correlator {
  readonly processes = new Map<number, Process>();
  private readonly threads = new Map<number, Process>();
  private readonly pendingClones = new Map<number, PendingClone>();
  /** children made from a pending clone before their parent's clone returned: the return must not make them again */
  private readonly madeEarly = new Set<number>();
  private readonly peers = new Map<string, string>();
  private readonly queues = new Map<string, InFlightMessage[]>();
  private readonly pendingConnects = new Map<string, string[]>();
  private readonly orphans = new Map<string, OrphanFd[][]>();
  /** per thread: the send whose entry queued its message, until its return shows */
  private readonly sendEntries = new Map<number, PendingSend>();
  /** per thread: a sendmmsg under way (strace prints its messages only at its return), and the queue it fills */
  private readonly mmsgEntries = new Map<number, { line: number; key: string }>();
  /** messages taken out of a queue because a later one was received first: their receive is not in the trace */
  private readonly stranded: Array<{ key: string; m: InFlightMessage }> = [];
  /** order of events as they arrive (print order, or time order of an -ff merge) */
  private seq = 0;
  /** exited processes still in `processes`, oldest exit first (from `exitedHead` on) */
  private readonly exitedOrder: Process[] = [];
  private exitedHead = 0;
  private readonly keepExited: number;
  /** exited processes forgotten to keep memory bounded (their records are out already) */
  exitedDropped = 0;
  /** processes seen in the whole trace, forgotten ones included */
  processesSeen = 0;
  private nextOfd = 1;
  private nextTable = 1;
  private nextEndpoint = 1;
  readonly counts: CorrelatorCounts = {
    delivered: 0, inFlight: 0, lost: 0, fdsSent: 0, fdsReceived: 0, alerts: 0, opaqueMessages: 0,
  };
  private lastTs: Ts = null;

  constructor(private readonly emit: (r: FdwatchRecord) => void, private readonly opts: CorrelatorOptions = {}) {
    this.keepExited = Math.max(0, opts.keepExited ?? KEEP_EXITED);
  }

  // ---------------------------------------------------------------- events

  push(e: TraceEvent): void {
    if (e.ts !== null) this.lastTs = e.ts;
    this.seq++;
    switch (e.type) {
      case 'syscall': this.syscall(e); return;
      case 'entry': this.entry(e); return;
      case 'exit': this.exitThread(e); return;
      case 'superseded': {
        const p = this.threads.get(e.by);
        if (p) { p.tids.delete(e.by); this.threads.delete(e.by); }
        return;
      }
      case 'attached': this.proc(e.tid, e.ts); return;
      case 'detached': {
        const p = this.threads.get(e.tid);
        if (p) { p.tids.delete(e.tid); this.threads.delete(e.tid); if (p.tids.size === 0) p.endTs = e.ts; }
        return;
      }
      case 'signal': return;
    }
  }

  private entry(e: EntryEvent): void {
    const spec = SYSCALLS.get(e.name);
    if (spec?.family === 'clone') this.pendingClones.set(e.tid, { tid: e.tid, flags: e.args, name: e.name });
    else if (spec?.family === 'sendmsg') {
      // strace prints a sendmsg's msghdr at entry: the message is queued from here, before any receive can return it
      const p = this.proc(e.tid, e.ts);
      const args = parseArgs(e.args);
      const messages = this.send(p, e.tid, e.ts, e.line, e.name, args[0], [args[1]], Infinity);
      this.sendEntries.set(e.tid, { line: e.line, p, messages });
    } else if (spec?.family === 'sendmmsg') {
      // its msgvec is printed only at its return: a receive that returns first waits for it as an orphan
      const p = this.proc(e.tid, e.ts);
      const sock = this.entryFor(p, parseArg(e.args, 0), e.tid, e.ts, e.name);
      this.mmsgEntries.set(e.tid, { line: e.line, key: this.queueKey(p, sock) });
    }
  }

  /** The queue a send on `sock` fills: the receiving endpoint's, or a stand-in until the peer is known. */
  private queueKey(p: Process, sock: FdEntry | null): string {
    const ep = sock?.ofd.endpoint ?? null;
    return ep ? (this.peers.get(ep) ?? `peer-of:${ep}`) : `unknown:${p.pid}`;
  }

  /** The sendmmsg under way whose queue a receive on `ep` reads, if any. */
  private mmsgUnderWay(ep: string | null): string | null {
    if (ep === null || this.mmsgEntries.size === 0) return null;
    const peer = this.peers.get(ep);
    for (const m of this.mmsgEntries.values()) if (m.key === ep || (peer !== undefined && m.key === `peer-of:${peer}`)) return m.key;
    return null;
  }

  /** A sendmmsg returned: receives that waited for it and found nothing in it came from elsewhere. */
  private mmsgReturned(tid: number): void {
    const m = this.mmsgEntries.get(tid);
    if (!m) return;
    this.mmsgEntries.delete(tid);
    if (this.opts.deferOrphans) return; // out-of-order input: they wait for the end
    for (const other of this.mmsgEntries.values()) if (other.key === m.key) return;
    const waiting = this.orphans.get(m.key);
    if (!waiting) return;
    this.orphans.delete(m.key);
    for (const o of waiting) this.adopt(o, []);
  }

  /** The return of a send queued at its entry: a failed (or never returned) send sent nothing. */
  private sendReturned(pend: PendingSend, sent: boolean, ts: Ts): void {
    for (const m of pend.messages) {
      if (sent) { m.doneSeq = this.seq; continue; }
      if (m.state !== 'queued') continue; // a receive already proved it was sent
      m.state = 'dropped';
      pend.p.fdsSent -= m.fds.length;
      this.counts.fdsSent -= m.fds.length;
      for (const f of m.fds) this.unref(f.ofd, ts, null);
    }
  }

  private syscall(e: SyscallEvent): void {
    const p = this.proc(e.tid, e.ts);
    if (e.comm && p.comm !== e.comm) p.comm = e.comm;
    const spec = SYSCALLS.get(e.name);
    if (!spec) return;
    if (spec.family === 'uid') { this.uidCall(p, e); return; }
    if (spec.family === 'clone') this.pendingClones.delete(e.tid);
    const ok = e.ret.errno === null && e.ret.value !== null && e.ret.value >= 0;
    if (spec.family === 'sendmsg') {
      const pend = this.sendEntries.get(e.tid);
      if (pend !== undefined) {
        this.sendEntries.delete(e.tid);
        if (pend.line === e.line) { this.sendReturned(pend, ok && e.cut !== true, e.ts); return; }
      }
    }
    if (spec.family === 'sendmmsg' && (e.cut || !ok)) this.mmsgReturned(e.tid);
    if (e.cut) return;
    // a failed call changes no table (but close/EINTR does: Linux always releases the fd)
    if (!ok && !(spec.family === 'close' && e.ret.errno === 'EINTR')) {
      if (spec.family === 'execve' || spec.family === 'exit') return;
      if (e.ret.errno !== null || e.ret.value === null) return;
    }
    // the two commonest calls skip the argument parser when the table already knows the fd
    if (spec.family === 'close') {
      const fd = leadingFd(e.args);
      const en = fd === null ? undefined : p.table.fds.get(fd);
      if (en) { this.dropEntry(p, en, e.ts); this.emitFd(p, e.tid, en, 'close', e.name, e.ts); return; }
    } else if (spec.family === 'mmap' && !p.hasTransferred && !e.args.includes('MAP_SHARED')) {
      return; // a private mapping matters only for fds that arrived by transfer
    } else if (spec.family === 'open' || spec.family === 'accept') {
      // a new fd needs one or two of the arguments (the flags; the path or socket when undecorated): parse only those
      this.opened(p, e, spec, (i) => parseArg(e.args, i));
      return;
    }
    const args = parseArgs(e.args);
    switch (spec.family) {
      case 'pair': this.pair(p, e, spec, args); return;
      case 'dup': this.dup(p, e, spec, args); return;
      case 'fcntl': this.fcntl(p, e, args); return;
      case 'close': this.close(p, e, args); return;
      case 'close_range': this.closeRange(p, e, args); return;
      case 'sendmsg': this.send(p, e.tid, e.ts, e.line, e.name, args[0], [args[1]], this.seq); return;
      case 'sendmmsg':
        this.send(p, e.tid, e.ts, e.line, e.name, args[0], mmsgHeaders(args[1], e.ret.value ?? 0), this.seq);
        this.mmsgReturned(e.tid);
        return;
      case 'recvmsg': this.receive(p, e, args[0], [args[1]], textOf(args[2])); return;
      case 'recvmmsg': this.receive(p, e, args[0], mmsgHeaders(args[1], e.ret.value ?? 0), textOf(args[3])); return;
      case 'pidfd_getfd': this.take(p, e, args); return;
      case 'mmap': this.mmap(p, e, args); return;
      case 'clone': this.cloned(p, e); return;
      case 'execve': this.exec(p, e, spec, args); return;
      case 'connect': this.connect(p, e, args); return;
      case 'bind': this.bind(p, e, args); return;
      default: return;
    }
  }

  // ---------------------------------------------------------------- attach (live)

  /**
   * A process found running at attach: its fd table from /proc becomes the starting state
   * (origin "unknown": opened before the trace). Targets are in strace -yy words.
   */
  seedProcess(s: SeedProcess, ts: Ts): void {
    if (this.processes.has(s.pid)) return;
    const p = this.newProcess(s.pid, s.ppid, s.comm, ts);
    p.uid = s.uid;
    for (const t of s.tids) { p.tids.add(t); this.threads.set(t, p); }
    this.emitProcess(p, 'attach', ts);
    for (const f of s.fds) {
      const ofd = this.newOfd(parseDecor(f.target), false);
      if (ofd.kind !== f.kind && f.kind !== 'unknown') ofd.kind = f.kind;
      const en = this.addEntry(p, f.fd, ofd, f.cloexec, unknownOrigin('attach'), ts);
      this.emitFd(p, p.pid, en, 'snapshot', null, ts);
    }
  }

  /** Drops exited processes beyond the `keep` that exited last, so long runs stay bounded; returns how many. */
  pruneExited(keep: number): number {
    let n = 0;
    while (this.exitedOrder.length - this.exitedHead > keep) {
      const p = this.exitedOrder[this.exitedHead]!;
      this.exitedOrder[this.exitedHead++] = undefined as unknown as Process; // let it go now, compacted below
      // a reused pid may belong to a newer process by now
      if (this.processes.get(p.pid) === p) this.processes.delete(p.pid);
      n++;
    }
    if (this.exitedHead > 1024 && this.exitedHead * 2 > this.exitedOrder.length) {
      this.exitedOrder.splice(0, this.exitedHead);
      this.exitedHead = 0;
    }
    this.exitedDropped += n;
    return n;
  }

  // ---------------------------------------------------------------- processes

  private newProcess(pid: number, ppid: number | null, comm: string | null, ts: Ts, table?: FdTable): Process {
    const p: Process = {
      pid, ppid, comm, uid: null,
      table: table ?? { id: this.nextTable++, fds: new Map(), users: 1 },
      tids: new Set([pid]), exited: false, exitCode: null, exitSignal: null,
      fdsSent: 0, fdsReceived: 0, startTs: ts, endTs: null, finalFds: null, hasTransferred: false,
    };
    this.processesSeen++;
    this.processes.set(pid, p);
    this.threads.set(pid, p);
    return p;
  }

  /** The process of a thread; a thread never seen before is a clone child or an attached process. */
  private proc(tid: number, ts: Ts): Process {
    const known = this.threads.get(tid);
    if (known) return known;
    // the child ran before its parent's clone returned: the newest pending clone made it
    let last: PendingClone | null = null;
    for (const c of this.pendingClones.values()) last = c;
    if (last && this.threads.has(last.tid)) {
      this.pendingClones.delete(last.tid);
      this.madeEarly.add(tid);
      return this.fromClone(last, tid, ts);
    }
    const tgid = this.opts.resolveTgid?.(tid) ?? tid;
    if (tgid !== tid) {
      const leader = this.processes.get(tgid) ?? this.proc(tgid, ts);
      leader.tids.add(tid);
      this.threads.set(tid, leader);
      return leader;
    }
    const found = this.opts.resolveProcess?.(tid) ?? null;
    const p = this.newProcess(tid, null, null, ts); // /proc shows its comm now, not at this point of the trace
    p.uid = found?.uid ?? null;
    this.emitProcess(p, 'attach', ts);
    return p;
  }

  private fromClone(c: PendingClone, child: number, ts: Ts): Process {
    const parent = this.threads.get(c.tid)!;
    const flags = c.flags;
    const thread = c.name !== 'fork' && c.name !== 'vfork' && hasFlag(flags, 'CLONE_THREAD', 0x10000);
    if (thread) {
      parent.tids.add(child);
      this.threads.set(child, parent);
      return parent;
    }
    const shareFiles = c.name !== 'fork' && c.name !== 'vfork' && hasFlag(flags, 'CLONE_FILES', 0x400);
    let table: FdTable;
    if (shareFiles) { table = parent.table; table.users++; }
    else table = { id: this.nextTable++, fds: new Map(), users: 1 };
    const ppid = hasFlag(flags, 'CLONE_PARENT', 0x8000) ? parent.ppid : parent.pid;
    const p = this.newProcess(child, ppid, parent.comm, ts, table);
    p.uid = parent.uid;
    p.hasTransferred = parent.hasTransferred;
    this.emitProcess(p, 'fork', ts, c.tid !== parent.pid ? c.tid : undefined, shareFiles ? parent.pid : undefined);
    if (!shareFiles) {
      for (const src of parent.table.fds.values()) {
        const entry = inherited(parent, src, c.name, ts);
        table.fds.set(src.fd, entry);
        this.emitFd(p, child, entry, 'inherit', c.name, ts);
      }
    }
    return p;
  }

  private cloned(p: Process, e: SyscallEvent): void {
    const child = e.ret.value;
    if (child === null || child <= 0) return;
    if (this.madeEarly.delete(child)) return;
    const existing = this.threads.get(child);
    if (existing) {
      // it showed up first as an unrelated process: now we know its parent and its inherited fds
      if (existing.pid === child && existing.ppid === null && existing !== p) {
        existing.ppid = p.pid;
        for (const src of p.table.fds.values()) {
          if (!existing.table.fds.has(src.fd)) existing.table.fds.set(src.fd, inherited(p, src, e.name, e.ts));
        }
      }
      return;
    }
    this.fromClone({ tid: e.tid, flags: e.args, name: e.name }, child, e.ts);
  }

  private exec(p: Process, e: SyscallEvent, spec: SyscallSpec, args: Value[]): void {
    if (e.ret.value !== 0) return;
    const path = textOf(args[spec.pathArg ?? 0]);
    // other threads die; a shared fd table is unshared (the kernel's unshare_files)
    for (const t of p.tids) if (t !== e.tid) this.threads.delete(t);
    p.tids = new Set([e.tid]);
    if (e.tid !== p.pid) {
      // non-leader exec under -ff or without the leader's line: the process keeps its pid
      this.threads.set(e.tid, p);
    }
    if (p.table.users > 1) this.unshareTable(p);
    if (e.comm || path) p.comm = e.comm ?? basename(path).slice(0, 15);
    this.emitProcess(p, 'exec', e.ts, e.tid !== p.pid ? e.tid : undefined, undefined, path);
    for (const en of [...p.table.fds.values()]) {
      if (en.cloexec === true) {
        this.dropEntry(p, en, e.ts);
        this.emitFd(p, e.tid, en, 'close', e.name, e.ts);
      } else if (en.origin.how === 'received' || en.origin.how === 'taken') {
        this.alert('received-fd-survives-exec', p.pid, en.fd, e.ts,
          `${procName(p)} fd ${en.fd} (${en.ofd.target}) ${en.origin.how} from ${en.origin.fromComm ?? '?'}[${en.origin.fromPid ?? '?'}] has no CLOEXEC and survives execve of ${path}`);
      }
    }
  }

  /** The kernel's unshare_files: the process gets its own copy of a shared fd table. */
  private unshareTable(p: Process): void {
    p.table.users--;
    const copy: FdTable = { id: this.nextTable++, fds: new Map(), users: 1 };
    for (const [fd, en] of p.table.fds) { en.ofd.refs++; copy.fds.set(fd, { ...en }); }
    p.table = copy;
  }

  private exitThread(e: ExitEvent): void {
    const p = this.threads.get(e.tid);
    if (!p) return;
    this.threads.delete(e.tid);
    p.tids.delete(e.tid);
    if (e.tid === p.pid || p.tids.size === 0) { p.exitCode = e.code; p.exitSignal = e.signal; }
    if (p.tids.size > 0) return;
    this.endProcess(p, e.ts);
  }

  private endProcess(p: Process, ts: Ts): void {
    if (p.exited) return;
    p.exited = true;
    p.endTs = ts;
    p.finalFds = [...p.table.fds.values()];
    for (const t of p.tids) this.threads.delete(t);
    this.emit({
      v: SCHEMA_VERSION, type: 'process', ts, pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, event: 'exit',
      exitCode: p.exitCode, signal: p.exitSignal,
    });
    p.table.users--;
    if (p.table.users === 0) {
      for (const en of [...p.table.fds.values()]) this.dropEntry(p, en, ts);
    }
    // its records are out and no later event can refer to it: keep only the last few for reports
    this.exitedOrder.push(p);
    if (this.exitedOrder.length - this.exitedHead > this.keepExited) this.pruneExited(this.keepExited);
  }

  private uidCall(p: Process, e: SyscallEvent): void {
    if (e.ret.errno !== null || e.ret.value === null || e.ret.value < 0) return;
    if (e.name === 'getuid' || e.name === 'geteuid') { if (e.name === 'geteuid' || p.uid === null) p.uid = e.ret.value; return; }
    const a = parseArgs(e.args);
    const pick = e.name === 'setresuid' || e.name === 'setreuid' ? a[1] : a[0];
    const n = numOf(pick);
    if (n !== null && n >= 0 && n !== 4294967295) p.uid = n;
  }

  // ---------------------------------------------------------------- fd tables

  private newOfd(t: FdTarget, complete: boolean): OpenFileDescription {
    const ofd: OpenFileDescription = {
      id: this.nextOfd++, target: t.target, kind: t.kind, refs: 0, complete,
      endpoint: null, pidfdPid: t.pid, boundPath: null, transferred: false,
    };
    this.learnEndpoint(ofd, t);
    return ofd;
  }

  /** -y/-yy decorations say which socket this is, and with -yy its peer. */
  private learnEndpoint(ofd: OpenFileDescription, t: FdTarget): void {
    if (t.kind !== 'socket') return;
    if (t.inode !== null) {
      const ep = `ino:${t.inode}`;
      if (ofd.endpoint !== ep) {
        // a made-up endpoint learned its inode: carry its peer link over
        const old = ofd.endpoint;
        if (old && old.startsWith('ep:')) {
          const peer = this.peers.get(old);
          if (peer) { this.peers.set(ep, peer); this.peers.set(peer, ep); this.peers.delete(old); }
          this.moveQueue(old, ep);
        }
        ofd.endpoint = ep;
      }
      if (t.peer !== null && t.peer !== 0) {
        const pe = `ino:${t.peer}`;
        this.peers.set(ep, pe);
        this.peers.set(pe, ep);
      }
    }
    if (t.path !== null && ofd.boundPath === null) ofd.boundPath = t.path;
  }

  private moveQueue(from: string, to: string): void {
    const q = this.queues.get(from);
    if (!q) return;
    this.queues.delete(from);
    const dst = this.queues.get(to);
    if (dst) dst.push(...q); else this.queues.set(to, q);
  }

  /** The table entry an fd argument refers to; fds from before the trace are added as "seen". */
  private entryFor(p: Process, v: Value | undefined, tid: number, ts: Ts, syscall: string): FdEntry | null {
    const a = fdOf(after(v));
    if (a === null || a.fd < 0) return null;
    let en = p.table.fds.get(a.fd);
    if (a.decor !== null) {
      const t = parseDecor(a.decor, a.suffix);
      if (en) {
        if (en.ofd.target.endsWith(':[?]') || en.origin.how === 'unknown' || en.ofd.kind === 'unknown') {
          en.ofd.target = t.target;
          en.ofd.kind = t.kind;
        }
        this.learnEndpoint(en.ofd, t);
        if (t.pid !== null) en.ofd.pidfdPid = t.pid;
      } else {
        en = this.addEntry(p, a.fd, this.newOfd(t, false), null, unknownOrigin(syscall), ts);
        this.emitFd(p, tid, en, 'seen', syscall, ts);
      }
      return en;
    }
    if (!en) {
      en = this.addEntry(p, a.fd, this.newOfd(plainTarget(`fd:${a.fd}`, 'unknown'), false),
        null, unknownOrigin(syscall), ts);
      this.emitFd(p, tid, en, 'seen', syscall, ts);
    }
    return en;
  }

  private addEntry(p: Process, fd: number, ofd: OpenFileDescription, cloexec: boolean | null, origin: Origin, ts: Ts): FdEntry {
    const old = p.table.fds.get(fd);
    if (old) this.dropEntry(p, old, ts);
    const en: FdEntry = { fd, ofd, cloexec, origin, ts };
    ofd.refs++;
    p.table.fds.set(fd, en);
    return en;
  }

  private dropEntry(p: Process, en: FdEntry, ts: Ts): void {
    if (p.table.fds.get(en.fd) === en) p.table.fds.delete(en.fd);
    this.unref(en.ofd, ts, p);
  }

  private unref(ofd: OpenFileDescription, ts: Ts, p: Process | null): void {
    ofd.refs--;
    if (ofd.refs > 0 || !ofd.complete || ofd.endpoint === null) return;
    // the socket is gone: it sends nothing more (its inode may be reused), and its peer link can go
    const peer = this.peers.get(ofd.endpoint);
    if (peer !== undefined) {
      this.peers.delete(ofd.endpoint);
      if (this.peers.get(peer) === ofd.endpoint) this.peers.delete(peer);
      this.moveQueue(`peer-of:${ofd.endpoint}`, peer); // what it sent before its peer was known is the peer's
    }
    // the last reference to a socket is gone: messages still queued on it lose their fds
    const q = this.queues.get(ofd.endpoint);
    if (!q || q.length === 0) return;
    this.queues.delete(ofd.endpoint);
    const why = 'receiving socket closed with the fd still queued';
    // one cause, one alert per sender: however many messages were queued
    const bySender = new Map<number | null, InFlightFd[]>();
    for (const m of q) {
      if (m.state !== 'queued') continue;
      m.state = 'taken';
      for (const f of m.fds) {
        this.lose(f, ts, why, 'socket-closed-with-fds', p, null, false);
        const g = bySender.get(f.from.pid);
        if (g) g.push(f); else bySender.set(f.from.pid, [f]);
      }
    }
    for (const fds of bySender.values()) {
      this.alertFds('socket-closed-with-fds', p?.pid ?? null, fds, ts, `was lost: ${why}`, 'were lost: receiving socket closed with the fds still queued');
    }
  }

  private targetFor(e: SyscallEvent, spec: SyscallSpec, arg: ArgAt): FdTarget {
    if (e.ret.decor !== null) return parseDecor(e.ret.decor);
    let target = spec.target ?? '';
    if (spec.pathArg !== undefined) {
      const path = textOf(arg(spec.pathArg));
      target = target ? target.replace('%s', path) : path;
    }
    if (!target) target = `${e.name}:?`;
    return plainTarget(target, spec.kind ?? 'unknown');
  }

  private flagsText(spec: SyscallSpec, arg: ArgAt): string {
    if (spec.flagsArg === undefined) return '';
    const v = arg(spec.flagsArg);
    return spec.flagsField ? textOf(field(v, spec.flagsField)) : textOf(v);
  }

  private opened(p: Process, e: SyscallEvent, spec: SyscallSpec, arg: ArgAt): void {
    if (spec.newIfMinusOne !== undefined && numOf(arg(spec.newIfMinusOne)) !== -1) return;
    const fd = e.ret.value!;
    const t = this.targetFor(e, spec, arg);
    if (e.name === 'pidfd_open') t.pid = numOf(arg(0));
    const ofd = this.newOfd(t, true);
    if (spec.kind === 'socket' && ofd.endpoint === null) ofd.endpoint = `ep:${this.nextEndpoint++}`;
    const flags = this.flagsText(spec, arg);
    if (flags.includes('O_DIRECTORY') && ofd.kind === 'file') ofd.kind = 'dir';
    const cloexec = spec.alwaysCloexec === true || flags.includes('CLOEXEC');
    const en = this.addEntry(p, fd, ofd, cloexec, opened(e.name), e.ts);
    if (spec.family === 'accept') {
      const listener = this.entryFor(p, arg(0), e.tid, e.ts, e.name);
      let path = listener?.ofd.boundPath ?? null;
      // a listener bound before the trace: if connects wait on a single path, they are for it
      if (!path && listener && this.pendingConnects.size === 1) {
        path = [...this.pendingConnects.keys()][0]!;
        listener.ofd.boundPath = path;
      }
      if (path && !this.peers.has(ofd.endpoint!)) {
        const waiting = this.pendingConnects.get(path);
        const client = waiting?.shift();
        if (waiting && waiting.length === 0) this.pendingConnects.delete(path);
        if (client) { this.peers.set(ofd.endpoint!, client); this.peers.set(client, ofd.endpoint!); }
      }
    }
    this.emitFd(p, e.tid, en, 'open', e.name, e.ts);
  }

  private pair(p: Process, e: SyscallEvent, spec: SyscallSpec, args: Value[]): void {
    const arr = after(args[spec.pairArg!]);
    if (!arr || arr.t !== 'arr' || arr.items.length < 2) return;
    const cloexec = this.flagsText(spec, (i) => args[i]).includes('CLOEXEC');
    const ends: FdEntry[] = [];
    for (const item of arr.items.slice(0, 2)) {
      const a = fdOf(item);
      if (!a) return;
      const t: FdTarget = a.decor !== null ? parseDecor(a.decor, a.suffix)
        : plainTarget(spec.target ?? '?', spec.kind ?? 'unknown');
      const ofd = this.newOfd(t, true);
      if (ofd.kind === 'socket' && ofd.endpoint === null) ofd.endpoint = `ep:${this.nextEndpoint++}`;
      ends.push(this.addEntry(p, a.fd, ofd, cloexec, opened(e.name), e.ts));
    }
    const [x, y] = ends as [FdEntry, FdEntry];
    if (x.ofd.endpoint && y.ofd.endpoint) {
      this.peers.set(x.ofd.endpoint, y.ofd.endpoint);
      this.peers.set(y.ofd.endpoint, x.ofd.endpoint);
    }
    for (const en of ends) this.emitFd(p, e.tid, en, 'open', e.name, e.ts);
  }

  private dupTo(p: Process, e: SyscallEvent, src: FdEntry, fd: number, cloexec: boolean): void {
    if (fd === src.fd) return; // dup2(fd, fd) is a no-op
    const old = p.table.fds.get(fd);
    if (old) { this.dropEntry(p, old, e.ts); this.emitFd(p, e.tid, old, 'close', e.name, e.ts); }
    const en = this.addEntry(p, fd, src.ofd, cloexec,
      { how: 'dup', syscall: e.name, fromPid: p.pid, fromFd: src.fd, fromComm: p.comm }, e.ts);
    this.emitFd(p, e.tid, en, 'dup', e.name, e.ts, src.fd);
  }

  private dup(p: Process, e: SyscallEvent, spec: SyscallSpec, args: Value[]): void {
    const src = this.entryFor(p, args[spec.fromArg!], e.tid, e.ts, e.name);
    if (!src) return;
    this.dupTo(p, e, src, e.ret.value!, this.flagsText(spec, (i) => args[i]).includes('CLOEXEC'));
  }

  private fcntl(p: Process, e: SyscallEvent, args: Value[]): void {
    const cmd = textOf(args[1]);
    if (cmd.startsWith('F_DUPFD')) {
      const src = this.entryFor(p, args[0], e.tid, e.ts, e.name);
      if (src) this.dupTo(p, e, src, e.ret.value!, cmd.startsWith('F_DUPFD_CLOEXEC'));
      return;
    }
    if (cmd.startsWith('F_SETFD') || cmd.startsWith('F_GETFD')) {
      const en = this.entryFor(p, args[0], e.tid, e.ts, e.name);
      if (!en) return;
      const now = cmd.startsWith('F_SETFD')
        ? textOf(args[2]).includes('FD_CLOEXEC') || numOf(args[2]) === 1
        : e.ret.text.includes('FD_CLOEXEC') || e.ret.value === 1;
      if (en.cloexec !== now) {
        en.cloexec = now;
        if (cmd.startsWith('F_SETFD')) this.emitFd(p, e.tid, en, 'cloexec', e.name, e.ts);
      }
    }
  }

  private close(p: Process, e: SyscallEvent, args: Value[]): void {
    const a = fdOf(args[0]);
    if (!a) return;
    const en = p.table.fds.get(a.fd) ?? this.entryFor(p, args[0], e.tid, e.ts, e.name);
    if (!en) return;
    this.dropEntry(p, en, e.ts);
    this.emitFd(p, e.tid, en, 'close', e.name, e.ts);
  }

  private closeRange(p: Process, e: SyscallEvent, args: Value[]): void {
    const first = numOf(args[0]) ?? 0;
    const lastText = textOf(args[1]);
    const last = lastText.startsWith('~') || lastText === '-1' ? Infinity : (numOf(args[1]) ?? Infinity);
    const flags = textOf(args[2]);
    if (flags.includes('CLOSE_RANGE_UNSHARE') && p.table.users > 1) this.unshareTable(p);
    const hit = [...p.table.fds.values()].filter((en) => en.fd >= first && en.fd <= last).sort((a, b) => a.fd - b.fd);
    for (const en of hit) {
      if (flags.includes('CLOSE_RANGE_CLOEXEC')) {
        if (en.cloexec !== true) { en.cloexec = true; this.emitFd(p, e.tid, en, 'cloexec', e.name, e.ts); }
      } else {
        this.dropEntry(p, en, e.ts);
        this.emitFd(p, e.tid, en, 'close', e.name, e.ts);
      }
    }
  }

  private connect(p: Process, e: SyscallEvent, args: Value[]): void {
    if (e.ret.value !== 0 && e.ret.errno !== 'EINPROGRESS') return;
    const en = this.entryFor(p, args[0], e.tid, e.ts, e.name);
    const path = sunPath(args[1]);
    if (!en || !path || !en.ofd.endpoint || this.peers.has(en.ofd.endpoint)) return;
    const q = this.pendingConnects.get(path);
    if (!q) { this.pendingConnects.set(path, [en.ofd.endpoint]); return; }
    q.push(en.ofd.endpoint);
    if (q.length > MAX_PENDING_CONNECTS) q.shift();
  }

  private bind(p: Process, e: SyscallEvent, args: Value[]): void {
    const en = this.entryFor(p, args[0], e.tid, e.ts, e.name);
    const path = sunPath(args[1]);
    if (en && path) en.ofd.boundPath = path;
  }

  // ---------------------------------------------------------------- transfers

  private end(p: Process, tid: number, fd: number | null, socket: string | null): TransferEnd {
    return { pid: p.pid, tid, comm: p.comm, uid: p.uid, fd, socket };
  }

  /**
   * Queues one message per header on the receiving endpoint. `doneSeq` is the event order of the send's
   * return (Infinity when queued at its entry, set when it returns).
   */
  private send(p: Process, tid: number, ts: Ts, line: number, name: string, sockArg: Value | undefined,
    headers: Array<Value | undefined>, doneSeq: number): InFlightMessage[] {
    const sock = this.entryFor(p, sockArg, tid, ts, name);
    const sockText = sock ? sock.ofd.target : null;
    const out: InFlightMessage[] = [];
    for (const h of headers) {
      const shown = scmRights(h);
      if (shown === 'opaque') { this.counts.opaqueMessages++; continue; }
      if (shown.hidden) this.counts.opaqueMessages++;
      const rights = shown.fds;
      if (rights.length === 0) continue;
      const fds: InFlightFd[] = [];
      for (const item of rights) {
        const en = this.entryFor(p, item, tid, ts, name);
        if (!en) continue;
        en.ofd.refs++; // the message holds a reference until it is received or dropped
        fds.push({
          from: this.end(p, tid, en.fd, sockText), ofd: en.ofd, target: en.ofd.target, kind: en.ofd.kind,
          sentTs: ts, line, seen: decorOf(item),
        });
      }
      p.fdsSent += fds.length;
      this.counts.fdsSent += fds.length;
      const m: InFlightMessage = { fds, state: 'queued', entrySeq: this.seq, doneSeq };
      out.push(m);
      const key = this.queueKey(p, sock);
      const waiting = this.orphans.get(key);
      const at = waiting ? waiting.findIndex((o) => fits(fds, o.map((r) => r.seen))) : -1;
      if (at >= 0) {
        m.state = 'taken';
        this.adopt(waiting!.splice(at, 1)[0]!, fds);
        if (waiting!.length === 0) this.orphans.delete(key);
        continue;
      }
      const q = this.queues.get(key);
      if (q) q.push(m); else this.queues.set(key, [m]);
    }
    return out;
  }

  /**
   * The message a receive got: the oldest queued one its fds could be. A message whose fds the receiver's
   * decorations name as other files is never taken, so one unseen send or receive shifts nothing after it.
   */
  private takeMessage(ep: string | null, got: Array<FdTarget | null>, peek: boolean): InFlightMessage | null {
    if (!ep) return null;
    const keys = [ep];
    const peer = this.peers.get(ep);
    if (peer) keys.push(`peer-of:${peer}`);
    for (const k of keys) {
      const q = this.queues.get(k);
      if (!q) continue;
      while (q.length > 0 && q[0]!.state !== 'queued') q.shift(); // dropped sends leave their place lazily
      let i = 0;
      while (i < q.length && i < MAX_SCAN && (q[i]!.state !== 'queued' || !fits(q[i]!.fds, got))) i++;
      if (q.length === 0) this.queues.delete(k);
      if (i >= q.length || i >= MAX_SCAN) continue;
      const m = q[i]!;
      if (peek) return m; // MSG_PEEK installs copies of the fds and leaves the message queued
      q.splice(i, 1);
      if (i > 0 && !this.opts.deferOrphans) {
        // the queue is FIFO: a message whose send returned before this one's began left it before this one
        const keep: InFlightMessage[] = [];
        for (const x of q.splice(0, i)) {
          if (x.state !== 'queued') continue;
          if (x.doneSeq < m.entrySeq) { x.state = 'stranded'; this.stranded.push({ key: k, m: x }); } else keep.push(x);
        }
        q.unshift(...keep);
      }
      if (q.length === 0) this.queues.delete(k);
      m.state = 'taken';
      return m;
    }
    return null;
  }

  private receive(p: Process, e: SyscallEvent, sockArg: Value | undefined, headers: Array<Value | undefined>, flags: string): void {
    const sock = this.entryFor(p, sockArg, e.tid, e.ts, e.name);
    // out-of-order input: a socket we know nothing about pairs with unknown sockets of the same process
    const ep = sock?.ofd.endpoint ?? (this.opts.deferOrphans ? `unknown:${p.pid}` : null);
    const sockText = sock ? sock.ofd.target : null;
    // MSG_CMSG_CLOEXEC is 0x40000000 (-X raw prints only the number)
    const cloexec = flags.includes('MSG_CMSG_CLOEXEC') || (flags.startsWith('0x') && ((parseInt(flags, 16) || 0) & 0x40000000) !== 0);
    const peek = flags.includes('MSG_PEEK') || (flags.startsWith('0x') && ((parseInt(flags, 16) || 0) & 0x2) !== 0); // MSG_PEEK is 0x2
    for (const h of headers) {
      const shown = scmRights(h);
      if (shown === 'opaque') { this.counts.opaqueMessages++; continue; }
      if (shown.hidden) this.counts.opaqueMessages++;
      const rights = shown.fds;
      const mf = textOf(field(h, 'msg_flags'));
      const truncated = mf.includes('MSG_CTRUNC') || (mf.startsWith('0x') && ((parseInt(mf, 16) || 0) & 0x8) !== 0); // MSG_CTRUNC is 0x8
      if (rights.length === 0 && !truncated) continue;
      const got = rights.map(decorOf);
      const m = this.takeMessage(ep, got, peek);
      const sent = m ? m.fds : [];
      const n = rights.length;
      // no message yet: out-of-order input, or a sendmmsg under way that strace prints only when it returns
      const waitOn = !m && n > 0 && ep !== null ? (this.opts.deferOrphans ? ep : this.mmsgUnderWay(ep)) : null;
      const orphan: OrphanFd[] | null = waitOn !== null ? [] : null;
      p.fdsReceived += n;
      this.counts.fdsReceived += n;
      for (let i = 0; i < n; i++) {
        const a = fdOf(rights[i]);
        if (!a) continue;
        const s = sent[i];
        const seen = got[i] ?? null;
        let ofd: OpenFileDescription;
        if (s) {
          ofd = s.ofd;
          if (!peek) ofd.refs--; // the in-flight reference becomes the new entry's
          if (seen) this.learnEndpoint(ofd, seen);
        } else {
          ofd = this.newOfd(seen ?? plainTarget(`fd:${a.fd}`, 'unknown'), false);
        }
        ofd.transferred = true;
        p.hasTransferred = true;
        const fromPid = s?.from.pid ?? null;
        const en = this.addEntry(p, a.fd, ofd, cloexec,
          { how: 'received', syscall: e.name, fromPid, fromFd: s?.from.fd ?? null, fromComm: s?.from.comm ?? null }, e.ts);
        this.emitFd(p, e.tid, en, 'receive', e.name, e.ts, s?.from.fd ?? null, fromPid);
        if (orphan) { orphan.push({ p, entry: en, to: this.end(p, e.tid, a.fd, sockText), ts: e.ts, line: e.line, seen }); continue; }
        const from: TransferEnd = s ? s.from : { pid: null, tid: null, comm: null, uid: null, fd: null, socket: null };
        this.transfer({
          via: 'SCM_RIGHTS', state: 'delivered', from, to: this.end(p, e.tid, a.fd, sockText),
          target: ofd.target, kind: ofd.kind, sentTs: s?.sentTs ?? null, receivedTs: e.ts, line: s?.line ?? e.line,
        });
      }
      if (orphan && waitOn !== null) {
        const list = this.orphans.get(waitOn);
        if (list) list.push(orphan); else this.orphans.set(waitOn, [orphan]);
      }
      for (let i = n; i < sent.length && !peek; i++) {
        const s = sent[i]!;
        this.lose(s, e.ts, truncated ? 'MSG_CTRUNC: the receiver\'s control buffer was too small' : 'not installed by the receiver',
          'ctrunc-lost', p, this.end(p, e.tid, null, sockText));
      }
    }
  }

  /** A send that arrives after its receive (out-of-order input): the receiver's fds become the sender's files. */
  private adopt(received: OrphanFd[], sent: InFlightFd[]): void {
    for (let i = 0; i < received.length; i++) {
      const r = received[i]!;
      const s = sent[i];
      if (s) {
        r.entry.ofd.refs--;
        s.ofd.transferred = true;
        r.entry.ofd = s.ofd; // the in-flight reference becomes the entry's
        r.p.hasTransferred = true;
        r.entry.origin = { how: 'received', syscall: r.entry.origin.syscall, fromPid: s.from.pid, fromFd: s.from.fd, fromComm: s.from.comm };
      }
      this.transfer({
        via: 'SCM_RIGHTS', state: 'delivered', from: s ? s.from : unknownEnd(), to: r.to,
        target: r.entry.ofd.target, kind: r.entry.ofd.kind, sentTs: s?.sentTs ?? null, receivedTs: r.ts, line: s?.line ?? r.line,
      });
    }
    for (let i = received.length; i < sent.length; i++) this.lose(sent[i]!, sent[i]!.sentTs, 'not installed by the receiver', 'ctrunc-lost', null);
  }

  /** A lost fd: its transfer record and, unless `alert` is false (the caller groups them), its alert. */
  private lose(s: InFlightFd, ts: Ts, reason: string, kind: AlertKind, p: Process | null, to: TransferEnd | null = null, alert = true): void {
    this.transfer({
      via: 'SCM_RIGHTS', state: 'lost', from: s.from, to, target: s.target, kind: s.kind,
      sentTs: s.sentTs, receivedTs: null, reason, line: s.line,
    });
    if (alert) this.alertFds(kind, to?.pid ?? p?.pid ?? null, [s], ts, `was lost: ${reason}`, `were lost: ${reason}`);
    this.unref(s.ofd, ts, null);
  }

  private take(p: Process, e: SyscallEvent, args: Value[]): void {
    const pidfd = this.entryFor(p, args[0], e.tid, e.ts, e.name);
    const srcFd = numOf(args[1]);
    const fromPid = pidfd?.ofd.pidfdPid ?? null;
    const src = fromPid !== null && srcFd !== null ? this.processes.get(fromPid)?.table.fds.get(srcFd) : undefined;
    const srcProc = fromPid !== null ? this.processes.get(fromPid) : undefined;
    const t = e.ret.decor !== null ? parseDecor(e.ret.decor) : null;
    const ofd = src ? src.ofd : this.newOfd(t ?? plainTarget(`fd:${srcFd}`, 'unknown'), false);
    ofd.transferred = true;
    p.hasTransferred = true;
    const en = this.addEntry(p, e.ret.value!, ofd, true,
      { how: 'taken', syscall: e.name, fromPid, fromFd: srcFd, fromComm: srcProc?.comm ?? null }, e.ts);
    this.counts.fdsSent++;
    this.counts.fdsReceived++;
    p.fdsReceived++;
    if (srcProc) srcProc.fdsSent++;
    this.emitFd(p, e.tid, en, 'take', e.name, e.ts, srcFd, fromPid);
    this.transfer({
      via: 'pidfd_getfd', state: 'delivered',
      from: { pid: fromPid, tid: null, comm: srcProc?.comm ?? null, uid: srcProc?.uid ?? null, fd: srcFd, socket: null },
      to: this.end(p, e.tid, en.fd, null), target: ofd.target, kind: ofd.kind, sentTs: e.ts, receivedTs: e.ts, line: e.line,
    });
  }

  // ---------------------------------------------------------------- mappings

  private mmap(p: Process, e: SyscallEvent, args: Value[]): void {
    const fdv = fdOf(args[4]);
    if (!fdv || fdv.fd < 0) return;
    const flags = textOf(args[3]);
    if (flags.includes('MAP_ANONYMOUS')) return;
    const en = this.entryFor(p, args[4], e.tid, e.ts, e.name);
    if (!en) return;
    const shared = flags.includes('MAP_SHARED');
    // private file mappings are the loader mapping libraries: only shared ones and transferred fds matter here
    if (!shared && !en.ofd.transferred) return;
    const prot = textOf(args[2]);
    const len = numOf(args[1]) ?? 0;
    let start: bigint;
    try { start = BigInt(e.ret.text); } catch { return; }
    const perms = (prot.includes('PROT_READ') ? 'r' : '-') + (prot.includes('PROT_WRITE') ? 'w' : '-') +
      (prot.includes('PROT_EXEC') ? 'x' : '-') + (shared ? 's' : 'p');
    let off = 0n;
    try { off = BigInt(textOf(args[5]).split(' ')[0] || '0'); } catch { off = 0n; }
    this.emit({
      v: SCHEMA_VERSION, type: 'map', ts: e.ts, pid: p.pid, start: hex(start), end: hex(start + ((BigInt(len) + 4095n) & ~4095n)), // page-rounded, as /proc/PID/maps shows it
     
      perms, offset: hex(off), path: en.ofd.target, fd: en.fd, transferred: en.ofd.transferred,
    });
  }

  // ---------------------------------------------------------------- output

  private emitProcess(p: Process, event: 'attach' | 'fork' | 'exec', ts: Ts, tid?: number, shareWith?: number, path?: string): void {
    const r: FdwatchRecord = {
      v: SCHEMA_VERSION, type: 'process', ts, pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, event,
    };
    if (tid !== undefined) r.tid = tid;
    if (shareWith !== undefined) r.shareFdTableWith = shareWith;
    if (path !== undefined) r.path = path;
    this.emit(r);
  }

  private emitFd(p: Process, tid: number, en: FdEntry, op: FdOp, syscall: string | null, ts: Ts, fromFd?: number | null, fromPid?: number | null): void {
    const r: FdwatchRecord = {
      v: SCHEMA_VERSION, type: 'fd', ts, pid: p.pid, fd: en.fd, op, target: en.ofd.target, kind: en.ofd.kind,
      cloexec: en.cloexec, syscall,
    };
    if (tid !== p.pid) r.tid = tid;
    if (fromFd !== undefined) r.fromFd = fromFd;
    if (fromPid !== undefined) r.fromPid = fromPid;
    this.emit(r);
  }

  private transfer(t: Omit<TransferRecord, 'v' | 'type' | 'ts'>): void {
    if (t.state === 'delivered') this.counts.delivered++;
    else if (t.state === 'lost') this.counts.lost++;
    else this.counts.inFlight++;
    this.emit({ v: SCHEMA_VERSION, type: 'transfer', ts: t.receivedTs ?? t.sentTs ?? this.lastTs, ...t });
  }

  private alert(kind: AlertKind, pid: number | null, fd: number | null, ts: Ts, message: string, count = 1): void {
    this.counts.alerts++;
    const r: AlertRecord = { v: SCHEMA_VERSION, type: 'alert', ts, kind, pid, fd, message };
    if (count > 1) r.count = count;
    this.emit(r);
  }

  /** One alert for fds of one sender that share a fate (`one`/`many`: what happened, singular and plural). */
  private alertFds(kind: AlertKind, pid: number | null, fds: InFlightFd[], ts: Ts, one: string, many: string): void {
    const s = fds[0]!;
    const by = `${s.from.comm ?? '?'}[${s.from.pid ?? '?'}]`;
    if (fds.length === 1) { this.alert(kind, pid, s.from.fd, ts, `fd ${s.from.fd} (${s.target}) sent by ${by} ${one}`); return; }
    const fd = fds.every((f) => f.from.fd === s.from.fd) ? s.from.fd : null;
    const times = new Map<string, number>();
    for (const f of fds) { const d = `fd ${f.from.fd} (${f.target})`; times.set(d, (times.get(d) ?? 0) + 1); }
    const shown = [...times].slice(0, 3).map(([d, n]) => (n > 1 ? `${d} ${n} times` : d)).join(', ');
    const more = times.size > 3 ? `, and ${times.size - 3} others` : '';
    this.alert(kind, pid, fd, ts, `${fds.length} fds sent by ${by}${s.from.socket ? ` on ${s.from.socket}` : ''} ${many}: ${shown}${more}`, fds.length);
  }

  /** End of the trace: what is still queued is in flight; receives whose send never showed came from outside. */
  finish(): void {
    for (const list of this.orphans.values()) for (const m of list) this.adopt(m, []);
    this.orphans.clear();
    // one alert per receiving socket and sender: an untraced receiver is one cause, not one per message
    const groups = new Map<string, InFlightFd[]>();
    const add = (key: string, m: InFlightMessage): void => {
      for (const s of m.fds) {
        const g = `${key} ${s.from.pid}`;
        const list = groups.get(g);
        if (list) list.push(s); else groups.set(g, [s]);
      }
    };
    for (const [key, q] of this.queues) for (const m of q) if (m.state === 'queued') add(key, m);
    for (const { key, m } of this.stranded) add(key, m);
    for (const fds of groups.values()) {
      for (const s of fds) {
        this.transfer({
          via: 'SCM_RIGHTS', state: 'in-flight', from: s.from, to: null, target: s.target, kind: s.kind,
          sentTs: s.sentTs, receivedTs: null, line: s.line,
        });
      }
      this.alertFds('in-flight-at-end', fds[0]!.from.pid, fds, this.lastTs, 'was never received in the trace', 'were never received in the trace');
    }
    this.queues.clear();
    this.stranded.length = 0;
  }

  /** How many entries each of the correlator's tables holds: what memory grows with. */
  stateSizes(): Record<string, number> {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.length;
    return {
      processes: this.processes.size, threads: this.threads.size, exitedOrder: this.exitedOrder.length,
      pendingClones: this.pendingClones.size, madeEarly: this.madeEarly.size, peers: this.peers.size,
      queues: this.queues.size, queued, pendingConnects: this.pendingConnects.size, orphans: this.orphans.size,
      sendEntries: this.sendEntries.size, mmsgEntries: this.mmsgEntries.size, stranded: this.stranded.length,
    };
  }

  /** Every traced process has exited. */
  allExited(): boolean {
    for (const p of this.processes.values()) if (!p.exited && p.tids.size > 0) return false;
    return true;
  }
}

// ---------------------------------------------------------------- helpers

function opened(syscall: string): Origin {
  return { how: 'opened', syscall, fromPid: null, fromFd: null, fromComm: null };
}

/** The child's copy of a parent's fd: one more reference to the same open file description. */
function inherited(parent: Process, src: FdEntry, syscall: string, ts: Ts): FdEntry {
  src.ofd.refs++;
  return {
    fd: src.fd, ofd: src.ofd, cloexec: src.cloexec, ts,
    origin: { how: 'inherited', syscall, fromPid: parent.pid, fromFd: src.fd, fromComm: parent.comm },
  };
}

function unknownEnd(): TransferEnd {
  return { pid: null, tid: null, comm: null, uid: null, fd: null, socket: null };
}

function unknownOrigin(syscall: string): Origin {
  return { how: 'unknown', syscall, fromPid: null, fromFd: null, fromComm: null };
}

function hasFlag(args: string, name: string, bit: number): boolean {
  if (args.includes(name)) return true;
  // -X raw prints flags=0x...: test the bit
  const i = args.indexOf('flags=0x');
  if (i < 0) return false;
  const m = /^flags=0x([0-9a-f]+)/.exec(args.slice(i));
  return m !== null && (parseInt(m[1]!, 16) & bit) !== 0;
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

function procName(p: Process): string {
  return `${p.comm ?? '?'}[${p.pid}]`;
}

function hex(n: bigint): string {
  return '0x' + n.toString(16);
}

function sunPath(v: Value | undefined): string | null {
  const s = field(v, 'sun_path');
  if (!s || s.t !== 'str') return null;
  return (s.abstract ? '@' : '') + s.s;
}

/** recvmmsg/sendmmsg: the msg_hdr of each of the first `n` messages. */
function mmsgHeaders(v: Value | undefined, n: number): Array<Value | undefined> {
  const arr = after(v);
  if (!arr || arr.t !== 'arr') return [];
  return arr.items.slice(0, Math.max(0, n)).map((m) => field(m, 'msg_hdr'));
}

/**
 * The fds of the SCM_RIGHTS control messages in a msghdr, or 'opaque' when strace did not decode it.
 * `hidden` says strace left some out: it prints at most -s elements of an array, then `...`.
 */
function scmRights(h: Value | undefined): { fds: Value[]; hidden: boolean } | 'opaque' {
  const hdr = after(h);
  if (!hdr) return 'opaque';
  if (hdr.t !== 'struct') return 'opaque';
  const ctl = after(field(hdr, 'msg_control'));
  const out = { fds: [] as Value[], hidden: false };
  if (!ctl) return out;
  if (ctl.t !== 'arr') {
    // an undecoded buffer address holds control data only when msg_controllen says so
    if (ctl.t !== 'sym' || ctl.text === 'NULL' || numOf(field(hdr, 'msg_controllen')) === 0) return out;
    return 'opaque';
  }
  for (const c of ctl.items) {
    if (elided(c)) { out.hidden = true; continue; }
    // -X raw prints the numbers: SOL_SOCKET is 1 and SCM_RIGHTS is 1
    const rights = textOf(field(c, 'cmsg_type')).includes('SCM_RIGHTS') ||
      (numOf(field(c, 'cmsg_level')) === 1 && numOf(field(c, 'cmsg_type')) === 1);
    if (!rights) continue;
    const data = after(field(c, 'cmsg_data'));
    if (!data || data.t !== 'arr') { out.hidden = true; continue; }
    for (const it of data.items) {
      if (elided(it)) out.hidden = true;
      else out.fds.push(it);
    }
  }
  return out.fds.length === 0 && out.hidden ? 'opaque' : out;
}

/** What strace's -y/-yy decoration of an fd value says it is; null when undecorated. */
function decorOf(v: Value | undefined): FdTarget | null {
  const a = fdOf(v);
  return a !== null && a.decor !== null ? parseDecor(a.decor, a.suffix) : null;
}

/** false when two decorations clearly name different files; null when they cannot tell. */
function sameFile(a: FdTarget, b: FdTarget): boolean | null {
  if (a.inode !== null && b.inode !== null) return a.inode === b.inode;
  if (a.kind === 'unknown' || b.kind === 'unknown') return null;
  if (a.kind !== b.kind) return false;
  // a socket's address may change while it travels (bind, connect): only its protocol is fixed
  if (a.kind === 'socket') return a.target.slice(0, a.target.indexOf(':[')) === b.target.slice(0, b.target.indexOf(':['));
  return undeleted(a.target) === undeleted(b.target);
}

function undeleted(target: string): string {
  return target.endsWith(' (deleted)') ? target.slice(0, -10) : target;
}

/** A receive that got `got` could have taken the message `sent`: not more fds, and none clearly another file. */
function fits(sent: readonly { seen: FdTarget | null }[], got: readonly (FdTarget | null)[]): boolean {
  if (got.length > sent.length) return false;
  for (let i = 0; i < got.length; i++) {
    const a = sent[i]!.seen;
    const b = got[i];
    if (a && b && sameFile(a, b) === false) return false;
  }
  return true;
}

/** strace's `...` for array elements past its -s limit */
function elided(v: Value): boolean {
  return v.t === 'sym' && v.text === '...';
}
