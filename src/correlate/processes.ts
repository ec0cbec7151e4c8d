// The process tree: thread groups, their threads, clones (pending and returned), exec and exit. Pure.
import type { Ts } from '../model/records.js';
import type { CloneFlags, FdTarget } from '../model/fdop.js';
import { unknownOrigin, type FdTables } from './fdtables.js';
import type { RecordBuilder } from './records.js';
import type { FdTable, Process } from './state.js';

/** Exited processes kept by default: memory is bounded by the running processes plus this many. */
export const KEEP_EXITED = 4096;

export interface ProcessOptions {
  /** exited processes kept in `processes` (their final fd tables, for reports); older ones are forgotten */
  keepExited?: number;
  /** live mode: thread id -> thread group id from /proc, for threads that appear without a clone */
  resolveTgid?: (tid: number) => number | null;
  /** live mode: the uid of a process that shows up without a parent in the trace, from /proc */
  resolveProcess?: (pid: number) => { uid: number | null } | null;
}

/** A process found running at attach (live mode), as /proc shows it. */
export interface SeedProcess {
  pid: number;
  ppid: number | null;
  comm: string | null;
  uid: number | null;
  tids: number[];
  fds: Array<{ fd: number; target: FdTarget; cloexec: boolean | null }>;
}

interface PendingClone {
  tid: number;
  flags: CloneFlags;
  syscall: string;
}

export class ProcessTree {
  readonly processes = new Map<number, Process>();
  private readonly threads = new Map<number, Process>();
  private readonly pendingClones = new Map<number, PendingClone>();
  /** children made from a pending clone before their parent's clone returned: the return must not make them again */
  private readonly madeEarly = new Set<number>();
  /** exited processes still in `processes`, oldest exit first (from `exitedHead` on) */
  private readonly exitedOrder: Array<Process | undefined> = [];
  private exitedHead = 0;
  private readonly keepExited: number;
  /** exited processes forgotten to keep memory bounded (their records are out already) */
  exitedDropped = 0;
  /** processes seen in the whole trace, forgotten ones included */
  seen = 0;

  constructor(private readonly out: RecordBuilder, private readonly tables: FdTables, private readonly opts: ProcessOptions) {
    this.keepExited = Math.max(0, opts.keepExited ?? KEEP_EXITED);
  }

  /** The process of a thread; a thread never seen before is a clone child or an attached process. */
  of(tid: number, ts: Ts): Process {
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
      const leader = this.processes.get(tgid) ?? this.of(tgid, ts);
      leader.tids.add(tid);
      this.threads.set(tid, leader);
      return leader;
    }
    const found = this.opts.resolveProcess?.(tid) ?? null;
    const p = this.create(tid, null, null, ts); // /proc shows its comm now, not at this point of the trace
    p.uid = found?.uid ?? null;
    this.out.process(p, 'attach', ts);
    return p;
  }

  /** The fd table starts from what the process holds now (origin "unknown": opened before the trace). */
  seed(s: SeedProcess, ts: Ts): void {
    if (this.processes.has(s.pid)) return;
    const p = this.create(s.pid, s.ppid, s.comm, ts);
    p.uid = s.uid;
    for (const t of s.tids) { p.tids.add(t); this.threads.set(t, p); }
    this.out.process(p, 'attach', ts);
    // its other threads, each named once, so views list them before any of them makes a call
    for (const t of [...s.tids].sort((a, b) => a - b)) if (t !== s.pid) this.out.process(p, 'attach', ts, t);
    for (const f of s.fds) {
      const ofd = this.tables.newOfd(f.target, false);
      const en = this.tables.add(p, f.fd, ofd, f.cloexec, unknownOrigin('attach'), ts);
      this.out.fd(p, p.pid, en, 'snapshot', null, ts);
    }
  }

  /** Drops exited processes beyond the `keep` that exited last, so long runs stay bounded; returns how many. */
  pruneExited(keep: number): number {
    let n = 0;
    while (this.exitedOrder.length - this.exitedHead > keep) {
      const p = this.exitedOrder[this.exitedHead]!;
      this.exitedOrder[this.exitedHead++] = undefined; // let it go now, compacted below
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

  /** How many entries each table holds: what memory grows with. */
  stateSizes(): Record<string, number> {
    return {
      processes: this.processes.size, threads: this.threads.size, exitedOrder: this.exitedOrder.length,
      pendingClones: this.pendingClones.size, madeEarly: this.madeEarly.size,
    };
  }

  private create(pid: number, ppid: number | null, comm: string | null, ts: Ts, table?: FdTable): Process {
    const p: Process = {
      pid, ppid, comm, uid: null,
      table: table ?? this.tables.newTable(),
      tids: new Set([pid]), exited: false, exitCode: null, exitSignal: null,
      fdsSent: 0, fdsReceived: 0, startTs: ts, endTs: null, hasTransferred: false,
    };
    this.seen++;
    this.processes.set(pid, p);
    this.threads.set(pid, p);
    return p;
  }

  cloneEntered(tid: number, flags: CloneFlags, syscall: string): void {
    this.pendingClones.set(tid, { tid, flags, syscall });
  }

  /** A clone/fork returned in `p` (child null: it failed, or never returned). */
  cloned(p: Process, tid: number, child: number | null, flags: CloneFlags, syscall: string, ts: Ts): void {
    this.pendingClones.delete(tid);
    if (child === null || child <= 0) return;
    if (this.madeEarly.delete(child)) return;
    const existing = this.threads.get(child);
    if (existing) {
      // it showed up first as an unrelated process: now we know its parent and its inherited fds
      if (existing.pid === child && existing.ppid === null && existing !== p) {
        existing.ppid = p.pid;
        for (const src of p.table.fds.values()) {
          if (!existing.table.fds.has(src.fd)) existing.table.fds.set(src.fd, this.tables.inherited(p, src, syscall, ts));
        }
      }
      return;
    }
    this.fromClone({ tid, flags, syscall }, child, ts);
  }

  private fromClone(c: PendingClone, child: number, ts: Ts): Process {
    const parent = this.threads.get(c.tid)!;
    if (c.flags.thread) {
      parent.tids.add(child);
      this.threads.set(child, parent);
      return parent;
    }
    let table: FdTable;
    if (c.flags.files) { table = parent.table; table.users++; }
    else table = this.tables.newTable();
    const p = this.create(child, c.flags.parent ? parent.ppid : parent.pid, parent.comm, ts, table);
    p.uid = parent.uid;
    p.hasTransferred = parent.hasTransferred;
    this.out.process(p, 'fork', ts, c.tid !== parent.pid ? c.tid : undefined, c.flags.files ? parent.pid : undefined);
    if (!c.flags.files) {
      for (const src of parent.table.fds.values()) {
        const entry = this.tables.inherited(parent, src, c.syscall, ts);
        table.fds.set(src.fd, entry);
        this.out.fd(p, child, entry, 'inherit', c.syscall, ts);
      }
    }
    return p;
  }

  /** execve succeeded in thread `tid`: the other threads die and a shared fd table is unshared. */
  execed(p: Process, tid: number): void {
    for (const t of p.tids) if (t !== tid) this.threads.delete(t);
    p.tids = new Set([tid]);
    // non-leader exec under -ff or without the leader's line: the process keeps its pid
    if (tid !== p.pid) this.threads.set(tid, p);
    if (p.table.users > 1) this.tables.unshare(p);
  }

  /** `+++ superseded by execve in pid N +++`: thread `by` takes over the leader's id. */
  superseded(by: number): void {
    const p = this.threads.get(by);
    if (p) { p.tids.delete(by); this.threads.delete(by); }
  }

  detached(tid: number, ts: Ts): void {
    const p = this.threads.get(tid);
    if (p) { p.tids.delete(tid); this.threads.delete(tid); if (p.tids.size === 0) p.endTs = ts; }
  }

  exitThread(tid: number, code: number | null, signal: string | null, ts: Ts): void {
    const p = this.threads.get(tid);
    if (!p) return;
    this.threads.delete(tid);
    p.tids.delete(tid);
    if (tid === p.pid || p.tids.size === 0) { p.exitCode = code; p.exitSignal = signal; }
    if (p.tids.size > 0) return;
    this.end(p, ts);
  }

  private end(p: Process, ts: Ts): void {
    if (p.exited) return;
    p.exited = true;
    p.endTs = ts;
    for (const t of p.tids) this.threads.delete(t);
    this.out.exit(p, ts);
    p.table.users--;
    if (p.table.users === 0) {
      for (const en of [...p.table.fds.values()]) this.tables.drop(p, en, ts);
    }
    // its records are out and no later event can refer to it: keep only the last few for reports
    this.exitedOrder.push(p);
    if (this.exitedOrder.length - this.exitedHead > this.keepExited) this.pruneExited(this.keepExited);
  }

  /** Every traced process has exited. */
  allExited(): boolean {
    for (const p of this.processes.values()) if (!p.exited && p.tids.size > 0) return false;
    return true;
  }
}
