// FdOps -> kernel state -> FdwatchRecords. The dispatcher: each op goes to the state it changes (the process
// tree, fd tables and open file descriptions, socket endpoints and transfers). Pure: no I/O, no strace text.
import { SCHEMA_VERSION, type FdwatchRecord, type ParseErrorSample, type SummaryRecord, type Ts } from '../model/records.js';
import type { FdOp, QueuedOn } from '../model/fdop.js';
import { FdTables, openedOrigin } from './fdtables.js';
import { ProcessTree, type ProcessOptions, type SeedProcess } from './processes.js';
import { RecordBuilder, procName, type CorrelatorCounts } from './records.js';
import { Transfers, type TransferOptions, type Via } from './transfers.js';
import { UntracedPeers } from './untraced.js';
import { take } from './pidfd.js';
import { leakAlert, GrowthWatch, leakThreshold } from './leaks.js';
import type { FdEntry, Process } from './state.js';
import type { FileFactsLookup } from './crossing.js';

export type { CorrelatorCounts } from './records.js';
export { KEEP_EXITED, type SeedProcess } from './processes.js';

export interface CorrelatorOptions extends ProcessOptions, TransferOptions {
  /** live mode: the file behind a delivered fd and the receiver's credentials, for privilege-crossing alerts */
  fileFacts?: FileFactsLookup;
  /** fd-leak: received fds never used or closed one process may hold (default: `--leak-threshold`, else 64) */
  leakThreshold?: number;
}

export class Correlator {
  private readonly out: RecordBuilder;
  private readonly tables: FdTables;
  private readonly tree: ProcessTree;
  private readonly transfers: Transfers;
  private readonly untraced: UntracedPeers;
  private readonly growth: GrowthWatch;

  constructor(emit: (r: FdwatchRecord) => void, opts: CorrelatorOptions = {}) {
    this.out = new RecordBuilder(emit, opts.fileFacts ?? null);
    const threshold = leakThreshold(opts.leakThreshold);
    this.growth = new GrowthWatch(threshold);
    this.tables = new FdTables(this.out, { learn: (o, t) => this.transfers.learn(o, t), released: (o, ts, p) => this.transfers.released(o, ts, p) }, threshold);
    this.tree = new ProcessTree(this.out, this.tables, opts);
    this.transfers = new Transfers(this.out, () => this.tables, opts);
    this.untraced = new UntracedPeers(this.transfers);
  }

  get processes(): ReadonlyMap<number, Process> {
    return this.tree.processes;
  }

  get counts(): Readonly<CorrelatorCounts> {
    return this.out.counts;
  }

  /** Decode may skip a private file mapping unless the process holds a transferred fd. */
  privateMapsMatter(tid: number, ts: Ts): boolean {
    // the task's process is looked up (made) as its op would: the answer is the same as at the op
    return this.tree.of(tid, ts).hasTransferred;
  }

  seedProcess(s: SeedProcess, ts: Ts): void {
    this.tree.seed(s, ts);
  }

  pruneExited(keep: number): number {
    return this.tree.pruneExited(keep);
  }

  allExited(): boolean {
    return this.tree.allExited();
  }

  /** Live mode: the tracer let go of every process still running (a detach ends their trace cleanly). */
  detachAll(): void {
    for (const p of [...this.processes.values()]) {
      if (p.exited) continue;
      for (const tid of [...p.tids]) this.push({ op: 'detached', tid, ts: null, line: 0, syscall: 'detach', comm: null });
    }
  }

  /**
   * The summary record of a trace that has finished: the source's own counts (lines, events, syscalls, parse
   * errors) and whether it ended cleanly, with what the correlator counted.
   */
  summary(src: { lines: number; events: number; syscalls: number; parseErrors: number; parseErrorSamples: ParseErrorSample[] }, cleanEnd: boolean): SummaryRecord {
    const c = this.counts;
    return {
      v: SCHEMA_VERSION, type: 'summary', ts: null,
      lines: src.lines, events: src.events, syscalls: src.syscalls, processes: this.processesSeen,
      transfers: { delivered: c.delivered, inFlight: c.inFlight, lost: c.lost },
      fdsSent: c.fdsSent, fdsReceived: c.fdsReceived,
      parseErrors: src.parseErrors, parseErrorSamples: src.parseErrorSamples,
      alerts: c.alerts,
      cleanEnd: cleanEnd && this.allExited(),
      opaqueMessages: c.opaqueMessages,
    };
  }

  /** processes seen in the whole trace, forgotten ones included */
  get processesSeen(): number {
    return this.tree.seen;
  }

  /** exited processes forgotten to keep memory bounded */
  get exitedDropped(): number {
    return this.tree.exitedDropped;
  }

  /** How many entries each of the kernel model's tables holds: what memory grows with. */
  stateSizes(): Record<string, number> {
    return { ...this.tree.stateSizes(), ...this.transfers.stateSizes() };
  }

  /** Messages queued on sockets known by inode: what live mode asks the kernel about. */
  queued(): QueuedOn[] {
    return this.untraced.queued();
  }

  finish(): void {
    this.transfers.finish();
  }

  /** Live mode: process `pid` holds `count` fds now (/proc, sampled a second apart): fd-leak when it keeps growing. */
  fdCount(pid: number, count: number, ts: Ts): void {
    const p = this.tree.processes.get(pid);
    if (!p || p.exited) { this.growth.forget(pid); return; }
    const a = this.growth.sample(p, count, ts);
    if (a) this.out.alertRecord(a);
  }

  /**
   * One op. A dispatcher of small methods, one per kind (the commonest first): a single function holding every case
   * was compiled by TurboFan (55-85 ms) and deoptimized at the first rare case that had no type feedback yet, and
   * then ran unoptimized to the end of a browser's replay.
   */
  push(op: FdOp): void {
    if (op.ts !== null) this.out.lastTs = op.ts;
    this.transfers.seq++;
    switch (op.op) {
      case 'open': case 'accept': this.open(this.task(op), op); return;
      case 'close': this.close(this.task(op), op); return;
      case 'map': this.map(this.task(op), op); return;
      case 'dup': this.dup(this.task(op), op); return;
      case 'set-cloexec': this.setCloexec(this.task(op), op); return;
      case 'send': case 'send-begin': case 'receive': this.message(this.task(op), op); return;
      case 'clone-entry': this.tree.cloneEntered(op.tid, op.flags, op.syscall); return;
      case 'exit': this.tree.exitThread(op.tid, op.code, op.signal, op.ts); return;
      default: this.rare(op);
    }
  }

  /** A call's task exists, and -Y tells its comm. */
  private task(op: Extract<FdOp, { tid: number; ts: Ts; comm?: string | null | undefined }>): Process {
    const p = this.tree.of(op.tid, op.ts);
    if (op.comm && p.comm !== op.comm) p.comm = op.comm;
    return p;
  }

  private open(p: Process, op: Extract<FdOp, { op: 'open' | 'accept' }>): void {
    const { tid, ts, syscall } = op;
    const ofd = this.tables.newOfd(op.target, true);
    if (op.op === 'accept' || op.socket) this.transfers.ep.newEndpoint(ofd);
    const en = this.tables.add(p, op.fd, ofd, op.cloexec, openedOrigin(syscall), ts);
    if (op.op === 'accept') this.transfers.ep.accepted(ofd, this.tables.entryFor(p, op.listener, tid, ts, syscall));
    this.out.fd(p, tid, en, 'open', syscall, ts);
  }

  private close(p: Process, op: Extract<FdOp, { op: 'close' }>): void {
    const { tid, ts, syscall } = op;
    const en = p.table.fds.get(op.fd.fd) ?? this.tables.entryFor(p, op.fd, tid, ts, syscall);
    if (!en) return;
    this.tables.drop(p, en, ts);
    this.out.fd(p, tid, en, 'close', syscall, ts);
  }

  private dup(p: Process, op: Extract<FdOp, { op: 'dup' }>): void {
    const { tid, ts, syscall } = op;
    const src = this.tables.entryFor(p, op.from, tid, ts, syscall);
    if (src) this.dupTo(p, tid, ts, syscall, src, op.fd, op.cloexec);
  }

  private setCloexec(p: Process, op: Extract<FdOp, { op: 'set-cloexec' }>): void {
    const { tid, ts, syscall } = op;
    const en = this.tables.entryFor(p, op.fd, tid, ts, syscall);
    if (!en || en.cloexec === op.cloexec) return;
    en.cloexec = op.cloexec;
    if (op.set) this.out.fd(p, tid, en, 'cloexec', syscall, ts);
  }

  private message(p: Process, op: Extract<FdOp, { op: 'send' | 'send-begin' | 'receive' }>): void {
    const { tid, ts, syscall } = op;
    const v: Via = { p, tid, ts, line: op.line, syscall, sock: this.tables.entryFor(p, op.socket, tid, ts, syscall) };
    if (op.op === 'send') this.transfers.send(v, op.messages, op.entry);
    else if (op.op === 'send-begin') this.transfers.sendBegins(v);
    else {
      this.transfers.receive(v, op.messages, op.cloexec, op.peek);
      if (p.table.fresh >= p.table.leakAt) leakAlert(this.out, p, ts, 'received');
    }
    if (p.table.sent >= p.table.sentAt) leakAlert(this.out, p, ts, 'sent');
  }

  /** The kinds a trace has few of. */
  private rare(op: FdOp): void {
    switch (op.op) {
      case 'superseded': this.tree.superseded(op.by); return;
      case 'detached': this.tree.detached(op.tid, op.ts); return;
      case 'attached': this.tree.of(op.tid, op.ts); return;
      case 'peer-received': this.untraced.peerReceived(op.inode, op.messages, op.to, op.fds, op.ts); return;
      case 'peer-closed': this.untraced.peerClosed(op.inode, op.to, op.ts); return;
      default: break;
    }
    const p = this.task(op);
    const { tid, ts, syscall } = op;
    switch (op.op) {
      case 'task': return;
      case 'uid': {
        if (p.uid === op.uid || (!op.effective && p.uid !== null)) return;
        const from = p.uid;
        p.uid = op.uid;
        // a change, not the first sight of it (getuid's real uid may differ from the euid without any change)
        if (op.set && (from !== null || syscall !== 'geteuid')) this.out.setuid(p, from, tid, ts);
        return;
      }
      case 'clone': this.tree.cloned(p, tid, op.child, op.flags, syscall, ts); return;
      case 'pair': {
        const ends: FdEntry[] = [];
        for (const end of op.fds) {
          const ofd = this.tables.newOfd(end.target, true);
          if (ofd.kind === 'socket') this.transfers.ep.newEndpoint(ofd);
          ends.push(this.tables.add(p, end.fd, ofd, op.cloexec, openedOrigin(syscall), ts));
        }
        const [x, y] = ends as [FdEntry, FdEntry];
        if (x.ofd.endpoint && y.ofd.endpoint) this.transfers.ep.link(x.ofd.endpoint, y.ofd.endpoint);
        for (const en of ends) this.out.fd(p, tid, en, 'open', syscall, ts);
        return;
      }
      case 'close_range': {
        if (op.unshare && p.table.users > 1) this.tables.unshare(p);
        const hit = [...p.table.fds.values()].filter((en) => en.fd >= op.first && en.fd <= op.last).sort((a, b) => a.fd - b.fd);
        for (const en of hit) {
          if (op.cloexec) {
            if (en.cloexec !== true) { en.cloexec = true; this.out.fd(p, tid, en, 'cloexec', syscall, ts); }
          } else {
            this.tables.drop(p, en, ts);
            this.out.fd(p, tid, en, 'close', syscall, ts);
          }
        }
        return;
      }
      case 'send-failed': this.transfers.sendFailed(tid, op.line, ts); return;
      case 'take': {
        const pidfd = this.tables.entryFor(p, op.pidfd, tid, ts, syscall);
        take(this.tables, this.out, this.tree.processes, { p, tid, ts, line: op.line, syscall, sock: null }, pidfd, op.targetFd, op.fd, op.target);
        if (p.table.fresh >= p.table.leakAt) leakAlert(this.out, p, ts, 'received');
        return;
      }
      case 'connect': this.transfers.ep.connected(this.tables.entryFor(p, op.socket, tid, ts, syscall), op.path); return;
      case 'bind': this.transfers.ep.bound(this.tables.entryFor(p, op.socket, tid, ts, syscall), op.path); return;
      case 'exec': this.exec(p, op); return;
    }
  }

  private dupTo(p: Process, tid: number, ts: Ts, syscall: string, src: FdEntry, fd: number, cloexec: boolean): void {
    if (fd === src.fd) return; // dup2(fd, fd) is a no-op
    const old = p.table.fds.get(fd);
    if (old) { this.tables.drop(p, old, ts); this.out.fd(p, tid, old, 'close', syscall, ts); }
    const en = this.tables.add(p, fd, src.ofd, cloexec, { how: 'dup', syscall, fromPid: p.pid, fromFd: src.fd, fromComm: p.comm }, ts);
    this.out.fd(p, tid, en, 'dup', syscall, ts, src.fd);
  }

  private map(p: Process, op: Extract<FdOp, { op: 'map' }>): void {
    const en = this.tables.entryFor(p, op.fd, op.tid, op.ts, op.syscall);
    // private file mappings are the loader mapping libraries: only shared ones and transferred fds matter here
    if (!en || (!op.shared && !en.ofd.transferred)) return;
    this.out.record({
      v: SCHEMA_VERSION, type: 'map', ts: op.ts, pid: p.pid, start: hex(op.start), end: hex(op.start + op.length),
      perms: op.perms, offset: hex(op.offset), path: en.ofd.target, fd: en.fd, transferred: en.ofd.transferred,
      ...(op.inode !== undefined ? { inode: op.inode } : {}),
      origin: en.ofd.origin,
    });
  }

  private exec(p: Process, op: Extract<FdOp, { op: 'exec' }>): void {
    const { tid, ts, syscall, path } = op;
    this.tree.execed(p, tid);
    if (op.comm || path) p.comm = op.comm ?? basename(path).slice(0, 15);
    this.out.process(p, 'exec', ts, tid !== p.pid ? tid : undefined, undefined, path);
    for (const en of [...p.table.fds.values()]) {
      if (en.cloexec === true) {
        this.tables.drop(p, en, ts);
        this.out.fd(p, tid, en, 'close', syscall, ts);
      } else if (en.origin.how === 'received' || en.origin.how === 'taken') {
        this.out.alert('received-fd-survives-exec', p.pid, en.fd, ts,
          `${procName(p.comm, p.pid)} fd ${en.fd} (${en.ofd.target}) ${en.origin.how} from ${procName(en.origin.fromComm, en.origin.fromPid)} has no CLOEXEC and survives execve of ${path}`);
      }
    }
  }
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

function hex(n: bigint): string {
  return '0x' + n.toString(16);
}
