// The bpftrace program fdwatch runs, generated from the syscall table (src/model/syscalls.ts). Pure: the
// tracepoint formats (argument names) come in as data; nothing here reads the machine.
//
// Only tracepoints: sys_enter_*/sys_exit_* of the fd-lifecycle calls, sched_process_fork/exec/exit, and a
// sentinel on sys_enter_kill. Events are filtered in the kernel by a map of followed thread groups (fork adds
// children), or not at all for --all (fdwatch and bpftrace themselves excepted).
//
// Output: one event per line, tab-separated, kernel time (ns, CLOCK_MONOTONIC) first, then a one-letter kind.
// Every string the traced side controls (file names, comm, exec paths, socket paths) is printed with %r, which
// writes non-printable bytes (tab, newline) as \xNN: a hostile name cannot forge or break a line.
//   ns R bpftracePid                          BEGIN: the program is loaded (probes may still be attaching)
//   ns A pid regsok                           the sentinel probe, attached last, fired: every probe is live (regsok:
//                                             the saved registers the probes read are where they should be)
//   ns Z                                      END
//   ns W first seq...                         with the heartbeat: how many groups CPUs first, first+1, ... had
//                                             printed (their `seq`) when it fired
//   ns T <spaces>                             the heartbeat: flushes bpftrace's fully buffered output
//   ns D tid dentry parent len name           a dentry's name, printed once per (dentry, parent, name)
//   ns F tid role DESC                        an fd of the event that follows (pair ends, message fds, pidfds)
//   ns U tid role len path                    the bound address of a unix socket described next
//   ns I tid role type state laddr lport raddr rport   an inet socket described next (ntop words)
//   ns G tid msg nfds ctrunc i MDESC          fd i of an SCM_RIGHTS cmsg of `nfds` fds in message `msg` of the
//                                             send/receive that follows (i 0 starts the cmsg); MDESC: DESC's first
//                                             11 fields (a message fd's socket fields are not read)
//   ns H tid msg nfds ctrunc i fd file ino cloexec   a G line of a lean fd: a sent one (the sender's table
//                                             names it), or one received past the first few (the send's does)
//   ns K tid msg nfds ctrunc i fd file ino cloexec   a received fd whose file an earlier line described in full
//                                             (the file cache @fc knows it): the parser takes that description
//   ns M tid msg nfds ctrunc                  an SCM_RIGHTS cmsg without fds, or MSG_CTRUNC with none (no G line)
//   ns E tid tgid euid call FIELDS [DESC]     a call that changed an fd table (or mapped a file); closes its tid's group.
//                                             call: its x86-64 number with saved registers, else the probe's name.
//                                             sendmsg/recvmsg (not the mmsg pair): ret flags SOCK ctrunc fd0 file0, where
//                                             SOCK is the socket's fd file ino cloexec (described in full by an F line of
//                                             role s before it, or by an earlier line) and fd0/file0 the message's one fd
//                                             when it has one cmsg of one fd and no line of its own (-1 0: none)
//   ns P tid tgid euid child flags syscall    sched_process_fork (in the parent): `child` is the new task
//   ns X tid tgid euid oldtid len comm path   sched_process_exec
//   ns Q tid tgid groupdead exitcode          sched_process_exit
// E, P, X and Q lines end with `seq << 16 | cpu`: the CPU whose ring carries the line and that CPU's count of
// groups so far. A heartbeat's W lines say how far every ring had come; once each ring has been read that far, nothing
// printed before the heartbeat is still on its way (per-CPU rings reach bpftrace in any order, and it may be
// seconds behind).
// DESC (14 fields): fd file ino magic mode nlink mntid mntroot dentry cloexec aux sockfamily socktype peer
// (file, magic, mntroot, dentry in hex; mode in octal; aux: the pid of a pidfd; peer: a unix socket's peer inode).
import { SYSCALLS, type SyscallSpec } from '../model/syscalls.js';
import { CLONE_PARENT, CLONE_THREAD, F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, MAP_ANONYMOUS, MAP_SHARED } from '../model/kernel.js';
import type { KernelLayout } from './btf.js';

/** kill(-SENTINEL_PGRP, 0) from fdwatch tells the program's last probe to answer: all probes are attached. */
export const SENTINEL_PGRP = 1073741823;

/** Filesystem magics (include/uapi/linux/magic.h) the parser names targets by. */
export const MAGIC = {
  SOCKFS: 0x534f434b, PIPEFS: 0x50495045, ANON_INODE_FS: 0x09041934, PIDFS: 0x50494446, TMPFS: 0x01021994,
  HUGETLBFS: 0x958458f6, NSFS: 0x6e736673, PROC: 0x9fa0,
} as const;

/** Marks clone flags that were seen at a clone's entry (0 at sched_process_fork: a kernel-made thread). */
export const CLONE_SEEN = 0x4000000000000000n;

/** x86-64 syscall numbers of the calls whose E lines name their call by its number (orig_ax, with saved registers):
 * arch/x86/entry/syscalls/syscall_64.tbl */
export const X64_SYSCALL_NR: Readonly<Record<string, number>> = {
  open: 2, creat: 85, openat: 257, openat2: 437, open_by_handle_at: 304, socket: 41, accept: 43, accept4: 288, socketpair: 53,
  pipe: 22, pipe2: 293, dup: 32, dup2: 33, dup3: 292, fcntl: 72, close: 3, close_range: 436, eventfd: 284, eventfd2: 290,
  epoll_create: 213, epoll_create1: 291, inotify_init: 253, inotify_init1: 294, signalfd: 282, signalfd4: 289, timerfd_create: 283,
  memfd_create: 319, memfd_secret: 447, pidfd_open: 434, pidfd_getfd: 438, userfaultfd: 323, perf_event_open: 298,
  fanotify_init: 300, io_uring_setup: 425, bpf: 321, landlock_create_ruleset: 444, open_tree: 428, fsopen: 430, fspick: 433,
  fsmount: 432, mq_open: 240, sendmsg: 46, sendmmsg: 307, recvmsg: 47, recvmmsg: 299, mmap: 9,
};

/** The syscalls whose clone flags the fork probe reads, numbered as the P line reports them. */
export const CLONE_CALLS = ['clone', 'clone3', 'fork', 'vfork'] as const;

export interface ProgramOptions {
  /** thread groups to follow with their future children; null: every process on the host (--all) */
  follow: number[] | null;
  /** fdwatch's own pid: the sentinel's caller, never traced */
  self: number;
  /** the sys_enter_<name> tracepoints this kernel has, with their argument names in order (tracefs `format`;
   * only read when `regs` is null) */
  tracepoints: ReadonlyMap<string, readonly string[]>;
  /**
   * Read arguments and return values from the task's saved user registers instead of the tracepoint's `args`
   * (bpftrace 0.17 spends ~50 ms compiling each probe that touches `args`; with 60 probes that is seconds of
   * start-up). x86-64 only; the sentinel checks the layout and says so (A line), null: use `args`.
   */
  regs?: { arch: 'x64'; threadSize: number } | null;
  /**
   * With `regs`: where a new task and an exec's thread are found in the kernel's structs (src/bpf/btf.ts), so
   * that no probe reads `args` at all (bpftrace 0.17 parses the tracepoint formats with libclang for them, ~0.25 s
   * of CPU). null: the fork and exec probes read `args`.
   */
  layout?: KernelLayout | null;
  /** offset of sched_process_exec's `filename` __data_loc field (tracefs format) */
  execFilenameOffset?: number;
  /** bytes bpftrace keeps of a string or buffer (BPFTRACE_STRLEN); longer names are cut, and said so */
  strlen?: number;
  /** dentries walked up from a file; deeper paths resolve from /proc */
  depth?: number;
  /** messages read of one sendmmsg/recvmmsg (later ones count as hidden) */
  mmsgMax?: number;
  /** CPUs the kernel may run a probe on (/sys/devices/system/cpu/possible): the W lines cover 0..cpus-1 */
  cpus?: number;
}

/** How bpftrace must be run for the program: environment variables. */
export function programEnv(opts: Pick<ProgramOptions, 'strlen'>): Record<string, string> {
  return {
    BPFTRACE_STRLEN: String(opts.strlen ?? DEFAULT_STRLEN),
    // per-thread scratch maps and the dentry-name cache; a full map only costs repeated D lines
    BPFTRACE_MAP_KEYS_MAX: '65536',
    // room for bursts: 4 MB of ring per CPU
    BPFTRACE_PERF_RB_PAGES: '1024',
  };
}

export const DEFAULT_STRLEN = 64;
/** how often the heartbeat flushes bpftrace's output, and its length (more than stdio's 8 KB buffer) */
export const HEARTBEAT_MS = 50;
const HEARTBEAT_PAD = 8200;
/** seconds a dentry's name stays known to the kernel side before it is printed again */
const DENTRY_CACHE_S = 5;
export const DEFAULT_MMSG = 4;
const DEFAULT_DEPTH = 24;
/** most fds one SCM_RIGHTS message carries (include/net/scm.h) */
const SCM_MAX_FD = 253;
/** cmsg headers walked per message (SCM_CREDENTIALS may come before SCM_RIGHTS) */
const CMSG_MAX = 2;
/** dentries walked for the first MSG_WALKED fds a recvmsg installs: the sender may be untraced (names unknown) */
const MSG_DEPTH = 8;
const MSG_WALKED = 4;
/** fds of each message of a recvmmsg described in full; the rest are lean (file, inode), as a recvmsg's past MSG_WALKED */
const MMSG_DESCRIBED = 4;
/** fds read of each message of a sendmmsg/recvmmsg (more count as hidden) */
export const MMSG_FD_MAX = 64;

/** struct mount embeds its struct vfsmount after mnt_hash (a struct hlist_node), mnt_parent and mnt_mountpoint
 * (two pointers, as large as one hlist_node on 64-bit; fs/mount.h): pointer arithmetic in hlist_nodes, not a
 * cast to an integer (each integer cast costs bpftrace 0.17 a ~2 ms BTF search at start-up) */
const MOUNT_OF_VFSMOUNT = 2;
const EUID = 'curtask->cred->euid.val';
const PF_KTHREAD = 0x00200000;
/** x86-64 syscall argument registers, in order */
const X64_ARGS = ['di', 'si', 'dx', 'r10', 'r8', 'r9'];
/** per-thread scratch maps: the call being made (@k), a send's entry time, clone flags and syscall, stashed arguments */
const SCRATCH = ['k', 't', 'cf', 'cs', 's0', 's1', 's2', 's3', 's4', 's5', 's9'];
/** CPUs a W line covers (its printf's arguments are on the 512-byte BPF stack) */
const W_CPUS = 16;
/** x86-64 syscall number of kill(2): the sentinel's saved orig_ax, which proves the register layout */
const X64_KILL = 62;

/** Argument field names of a tracepoint, from the text of its tracefs `format` file, and their offsets. */
export function parseFormat(text: string): { fields: string[]; offsets: Map<string, number> } {
  const fields: string[] = [];
  const offsets = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*field:(.*?);\s*offset:(\d+);/.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    const name = /([A-Za-z_][A-Za-z0-9_]*)(\[\d*\])?$/.exec(decl)?.[1];
    if (!name || name.startsWith('common_') || name === '__syscall_nr') continue;
    fields.push(name);
    offsets.set(name, Number(m[2]));
  }
  return { fields, offsets };
}

/** The tracepoints the program attaches to. */
export function probeNames(opts: ProgramOptions): string[] {
  return [...bpfProgram(opts).matchAll(/^(tracepoint:[a-z_]+:[a-z0-9_]+)/gm)].map((m) => m[1]!);
}

interface Ctx {
  opts: ProgramOptions;
  /** the kernel filter for a task making a call */
  filter: string;
  strlen: number;
  depth: number;
  mmsgMax: number;
}

/** How a probe reads its syscall's arguments and return value. */
interface Access {
  /** statements every probe body starts with */
  prelude: string;
  /** argument `i` of the call, read at its exit: a saved register, or what the entry probe stashed */
  arg(i: number | undefined): string;
  ret: string;
}

/** x86-64: the task's saved user registers (the arguments stay in them until the call returns). */
function regsPrelude(regs: NonNullable<ProgramOptions['regs']>): string {
  return `  $r = ${savedRegs(regs, 'curtask')};`;
}

/** A task's saved user registers: the top of its kernel stack in 16-byte steps (struct hlist_node), less one
 * pt_regs (pointer arithmetic: no integer cast). */
function savedRegs(regs: NonNullable<ProgramOptions['regs']>, task: string): string {
  if (regs.threadSize % 16 !== 0) throw new RangeError(`thread size ${regs.threadSize} is not a multiple of 16`);
  return `(struct pt_regs *)((struct hlist_node *)${task}->stack + ${int(regs.threadSize / 16)}) - 1`;
}

interface Probe {
  tp: string;
  pred: string;
  body: string;
}

/** The whole program. */
export function bpfProgram(opts: ProgramOptions): string {
  const all = opts.follow === null;
  const c: Ctx = {
    opts,
    filter: all ? '!@ignore[pid]' : '@follow[pid]',
    strlen: opts.strlen ?? DEFAULT_STRLEN,
    depth: opts.depth ?? DEFAULT_DEPTH,
    mmsgMax: opts.mmsgMax ?? DEFAULT_MMSG,
  };
  const out: string[] = [];
  out.push('BEGIN {');
  for (const p of opts.follow ?? []) out.push(`  @follow[${int(p)}] = 1;`);
  out.push(`  @ignore[pid] = 1; @ignore[${int(opts.self)}] = 1;`);
  // every map exists whichever probes this kernel has: per-thread scratch, the dentry-name cache
  for (const m of SCRATCH) out.push(`  @${m}[tid] = (uint64)0; delete(@${m}[tid]);`);
  out.push('  @dk[(uint64)0] = (uint64)0; delete(@dk[(uint64)0]);');
  out.push('  @fc[(struct file *)0] = (uint64)0; delete(@fc[(struct file *)0]);');
  out.push('  @rx[0] = 0; delete(@rx[0]);');
  if (argsFree(opts)) out.push('  @xo[0] = 0; delete(@xo[0]);');
  if (!all) out.push('  @follow[pid] = 0; delete(@follow[pid]);');
  out.push('  printf("%llu\\tR\\t%d\\n", nsecs, pid);');
  out.push('}');
  out[0] = `BEGIN {\n${fewerCasts(out.slice(1, -1).join('\n'))}\n}`;
  out.splice(1);
  // probes with the same body share one block (one attach point list): bpftrace 0.17 compiles less that way
  const blocks = new Map<string, string[]>();
  const add = (p: Probe): void => {
    const key = `/${p.pred}/ {\n${fewerCasts(p.body)}\n}`;
    const tps = blocks.get(key);
    if (tps) tps.push(p.tp); else blocks.set(key, [p.tp]);
  };
  for (const [name, spec] of SYSCALLS) {
    const fields = opts.tracepoints.get(name);
    if (fields) for (const p of probesFor(c, name, spec, fields)) add(p);
  }
  for (const p of schedProbes(c)) add(p);
  for (const [key, tps] of blocks) out.push(`${tps.join(',\n')} ${key}`);
  out.push('END { printf("%llu\\tZ\\n", nsecs); }');
  // bpftrace runs with full output buffering (a write per line would cost it a syscall per event): a line longer
  // than stdio's buffer, printed every HEARTBEAT_MS, pushes out whatever waits in it
  out.push(heartbeat(Math.max(1, opts.cpus ?? 1)));
  // the dentry-name and file caches forget now and then: a D line or a description lost in a ring overflow is printed again
  out.push(`interval:s:${DENTRY_CACHE_S} { clear(@dk); clear(@fc); }`);
  // attached last (bpftrace attaches in program order, after BEGIN has run): its answer means all are live;
  // it also checks that the saved registers are where the probes read them (a kill's orig_ax is kill's number;
  // where it is not, fdwatch's first kill answers "not ok")
  if (opts.regs) {
    out.push(`tracepoint:syscalls:sys_enter_kill /pid == ${int(opts.self)}/ {`);
    out.push(regsPrelude(opts.regs));
    out.push(`  $ok = $r->orig_ax == ${X64_KILL} ? 1 : 0;`);
    out.push(`  if ($ok == 0 || (int32)$r->di == -${SENTINEL_PGRP}) { printf("%llu\\tA\\t%d\\t%d\\n", nsecs, pid, $ok); }`);
  } else {
    out.push(`tracepoint:syscalls:sys_enter_kill /pid == ${int(opts.self)} && (int32)args->pid == -${SENTINEL_PGRP}/ {`);
    out.push('  printf("%llu\\tA\\t%d\\t%d\\n", nsecs, pid, 1);');
  }
  out.push('}');
  return out.join('\n') + '\n';
}

/** x86-64 with the kernel's layout: no probe reads a tracepoint's `args` (no tracepoint format for libclang). */
function argsFree(opts: ProgramOptions): boolean {
  return !!opts.regs && !!opts.layout;
}

/**
 * bpftrace 0.17 looks the type of every cast up by name in the kernel's BTF, a linear search that fails for
 * an integer type (~2 ms each: the ~800 casts of the program were half of its start-up CPU): a probe's
 * integer zeros share one cast (`$z`), and a plain 0 is an int64 already.
 */
function fewerCasts(body: string): string {
  const b = body.replace(/\(int64\)0(?![0-9a-fx])/g, '0');
  if (!/\(uint64\)0(?![0-9a-fx])/.test(b)) return b;
  // a uint64 zero without a cast
  return `  $z = nsecs * 0;\n${b.replace(/\(uint64\)0(?![0-9a-fx])/g, '$z')}`;
}

/**
 * The printf of a line that ends a group (E, P, X, Q), with `seq << 16 | cpu` appended (one field: the largest
 * probes are a few bytes under the 512-byte stack): this CPU's count of groups is raised before the line is
 * printed, so a heartbeat that read the count waits for the line.
 */
function groupEnd(indent: string, fmt: string, args: string): string {
  return `${indent}@sq[cpu] = @sq[cpu] + 1;\n${indent}printf("${fmt}\\t%llu\\n", ${args}, (@sq[cpu] << 16) | cpu);`;
}

/** The heartbeat: W lines (every CPU's count of groups), then the padded T line that flushes bpftrace's output. */
function heartbeat(cpus: number): string {
  const body = ['  $ts = nsecs; $k = cpu * 0;'];
  for (let first = 0; first < cpus; first += W_CPUS) {
    const n = Math.min(W_CPUS, cpus - first);
    const keys = Array.from({ length: n }, (_, i) => `@sq[$k${first + i ? ` + ${first + i}` : ''}]`);
    body.push(`  printf("%llu\\tW\\t%d${'\\t%llu'.repeat(n)}\\n", $ts, ${first}, ${keys.join(', ')});`);
  }
  body.push(`  printf("%llu\\tT\\t${' '.repeat(HEARTBEAT_PAD)}\\n", $ts);`);
  return `interval:ms:${HEARTBEAT_MS} {\n${body.join('\n')}\n}`;
}

function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an integer: ${n}`);
  return String(n);
}

/** Scratch ids of the families whose entry stashes arguments for their exit (a thread is in one call at a time). */
const FAMILY_ID: Record<string, number> = {
  open: 1, accept: 1, signalfd: 2, pair: 3, dup: 4, fcntl: 5, close_range: 6, sendmsg: 7, recvmsg: 8, sendmmsg: 9, recvmmsg: 10,
  pidfd_getfd: 11, mmap: 12,
};

/**
 * Probes of one syscall, by its family (none when fdwatch does not trace it in the kernel). The work happens at
 * the exit; with saved registers the arguments are read there, otherwise an entry probe stashes the ones the
 * exit needs (`uses`), guarded by @k so an exit pairs with its own entry.
 */
function probesFor(c: Ctx, name: string, spec: SyscallSpec, fields: readonly string[]): Probe[] {
  const enterTp = `tracepoint:syscalls:sys_enter_${name}`;
  const exitTp = `tracepoint:syscalls:sys_exit_${name}`;
  const regs = c.opts.regs ?? null;
  const id = FAMILY_ID[spec.newIfMinusOne !== undefined ? 'signalfd' : spec.family] ?? 0;
  const field = (i: number | undefined): string => {
    const f = i === undefined ? undefined : fields[i];
    if (f === undefined) throw new RangeError(`${name}: no argument ${i} in its tracepoint format`);
    return `args->${f}`;
  };
  const reg = (i: number | undefined): string => {
    const r = i === undefined ? undefined : X64_ARGS[i];
    if (r === undefined) throw new RangeError(`${name}: no argument register ${i}`);
    return `$r->${r}`;
  };
  const at: Access = regs
    ? { prelude: regsPrelude(regs), arg: reg, ret: '(int64)$r->ax' }
    : { prelude: '', arg: (i) => { if (i === undefined) throw new RangeError(name); return `@s${i}[tid]`; }, ret: 'args->ret' };
  // the exit probe: `cond` on the return value, `entryCond` (an argument test) decides whether the call matters
  const exitProbe = (cond: string, body: string[], uses: number[], entryCond = '', extraStash: Record<string, string> = {}): Probe[] => {
    const probes: Probe[] = [];
    let pred = c.filter;
    let pre = '';
    if (!regs || Object.keys(extraStash).length > 0) {
      const vals: Record<string, string> = { ...extraStash };
      if (!regs) for (const i of uses) vals[`s${i}`] = field(i);
      const set = `@k[tid] = ${id};${Object.entries(vals).map(([k, v]) => ` @${k}[tid] = (uint64)(${v});`).join('')}`;
      const cond0 = regs ? entryCond.replace(/\$A(\d)/g, (_m, d: string) => reg(Number(d))) : entryCond.replace(/\$A(\d)/g, (_m, d: string) => field(Number(d)));
      probes.push({ tp: enterTp, pred: c.filter, body: `${regs ? regsPrelude(regs) + '\n' : ''}  ${cond0 ? `if (${cond0}) { ${set} }` : set}` });
      pred = `@k[tid] == ${id}`;
      pre = '  delete(@k[tid]);\n';
    } else if (entryCond) {
      cond = `(${cond}) && ${entryCond.replace(/\$A(\d)/g, (_m, d: string) => reg(Number(d)))}`;
    }
    const text = body.join('\n').replace(/\$A(\d)/g, (_m, d: string) => at.arg(Number(d)));
    probes.push({ tp: exitTp, pred, body: `${pre}${at.prelude ? at.prelude + '\n' : ''}  $ret = ${at.ret};\n  if (${cond}) {\n${text}\n  }` });
    return probes;
  };
  // the E line: its syscall is the probe's name (one block serves several calls)
  // with saved registers the call is its number (x86-64's, orig_ax): shorter to print and to read than the probe's name
  const head = (fmt: string, vals: string): string =>
    groupEnd('    ', `%llu\\tE\\t%d\\t%d\\t%u\\t${regs ? '%d' : '%s'}${fmt}`, `$ts, tid, pid, ${EUID}, ${regs ? '$r->orig_ax' : 'probe'}${vals}`);
  switch (spec.family) {
    case 'open': case 'accept': {
      // bpf(2) returns an fd for some commands only; its fds are seen when used
      if (name === 'bpf') return [];
      // a path (or a memfd's or pidfd's name) is read in the kernel; an anon inode's target comes from the table
      const d: Describe = spec.kind === 'socket' ? { socket: 'full', depth: 0 }
        : spec.kind === 'anon' && spec.pidArg === undefined ? { socket: 'none', depth: 0, lean: true }
          : { socket: 'none', depth: c.depth };
      const body = ['    $ts = nsecs;', describe(c, 'r', '$ret', d), head('\\t%d\\t' + DESC_FMT, ', $ret, ' + DESC_ARGS)];
      // signalfd(fd != -1) changes an existing fd
      if (spec.newIfMinusOne !== undefined) return exitProbe('$ret >= 0', body, [], `(int32)$A${spec.newIfMinusOne} == -1`, regs ? {} : { s9: '0' });
      return exitProbe('$ret >= 0', body, []);
    }
    case 'pair':
      return exitProbe('$ret == 0', [
        '    $ts = nsecs;', `    $v = (uint64)$A${spec.pairArg};`,
        describe(c, 'r', '*(int32 *)uptr($v)', { socket: 'peer', depth: 0, line: true }),
        describe(c, 'r', '*((int32 *)uptr($v) + 1)', { socket: 'peer', depth: 0, line: true }),
        head('\\t%d', ', $ret'),
      ], [spec.pairArg!]);
    case 'dup':
      return exitProbe('$ret >= 0', [
        '    $ts = nsecs;', describe(c, 'r', '$ret', { socket: 'none', depth: 0 }),
        head('\\t%d\\t%d\\t' + DESC_FMT, `, $ret, (int64)(int32)$A${spec.fdArg}, ` + DESC_ARGS),
      ], [spec.fdArg!]);
    case 'fcntl': {
      const ci = spec.cmdArg!;
      const cmd = `(int32)$A${ci}`;
      return exitProbe('$ret >= 0', [
        '    $ts = nsecs;', describe(c, 'r', `${cmd} == ${F_SETFD} ? -1 : $ret`, { socket: 'none', depth: 0 }),
        head('\\t%d\\t%d\\t%d\\t%d\\t' + DESC_FMT, `, $ret, (int64)(int32)$A${spec.fdArg}, (int64)${cmd}, (int64)$A${ci + 1}, ` + DESC_ARGS),
      ], [spec.fdArg!, ci, ci + 1], `(${cmd} == ${F_DUPFD} || ${cmd} == ${F_DUPFD_CLOEXEC} || ${cmd} == ${F_SETFD})`);
    }
    case 'close': {
      // at entry: the kernel always releases the fd, and after the call its file is gone from the table
      const fd = regs ? `(int32)${reg(spec.fdArg)}` : `(int32)${field(spec.fdArg)}`;
      return [{ tp: enterTp, pred: c.filter, body: `${regs ? regsPrelude(regs) + '\n' : ''}  $ts = nsecs;\n${fileOf(fd)}\n  if ($f != 0) {\n${head('\\t%d\\t%llx', ', $fd, $f')}\n  }` }];
    }
    case 'close_range':
      return exitProbe('$ret == 0', [
        '    $ts = nsecs;', head('\\t%d\\t%llu\\t%llu\\t%llu', `, $ret, (uint64)(uint32)$A0, (uint64)(uint32)$A1, (uint64)$A${spec.flagsArg}`),
      ], [0, 1, spec.flagsArg!]);
    case 'sendmsg': case 'recvmsg': case 'sendmmsg': case 'recvmmsg': {
      const receive = spec.family === 'recvmsg' || spec.family === 'recvmmsg';
      const vector = spec.vector === true;
      const flags = spec.flagsArg !== undefined ? `(uint64)$A${spec.flagsArg}` : '(uint64)0';
      const uses = [spec.fdArg!, spec.msgArg!, ...(spec.flagsArg !== undefined ? [spec.flagsArg] : [])];
      // a send is placed at its entry time: its receive may return before the send does
      const body: string[] = [`    $ts = ${receive ? 'nsecs' : '@t[tid]'};`, '    $any = 0;', `    $hv = (uint64)$A${spec.msgArg};`];
      if (vector) {
        body.push('    $j = (int64)0;', `    while ($j < $ret && $j < ${c.mmsgMax}) {`, messageWalk(c, '$hv + (uint64)$j * 64', '$j', receive, true), '      $j++;', '    }');
        body.push('    if ($any) {', ...(receive ? [RECEIVED] : []), describe(c, 's', `(int32)$A${spec.fdArg}`, { socket: 'full', depth: 0, record: false }),
          head('\\t%d\\t%llu\\t' + DESC_FMT, `, $ret, ${flags}, ` + DESC_ARGS), '    }');
      } else {
        // the socket in four fields once a line described it (else an F line first), and the message's one fd
        body.push(INLINE_ZERO, messageWalk(c, '$hv', '0', receive, false));
        body.push('    if ($any) {', ...(receive ? [RECEIVED] : []), describe(c, 's', `(int32)$A${spec.fdArg}`, { socket: 'full', depth: 0, line: true, check: true }),
          head(`\\t%d\\t%llu\\t${SOCK_FMT}\\t${INLINE_FMT}`, `, $ret, ${flags}, ${SOCK_ARGS}, ${INLINE_ARGS}`), '    }');
      }
      return exitProbe(vector ? '$ret > 0' : '$ret >= 0', body, uses, '', receive ? {} : { t: 'nsecs' });
    }
    case 'pidfd_getfd':
      return exitProbe('$ret >= 0', [
        '    $ts = nsecs;', RECEIVED,
        describe(c, 'p', `(int32)$A${spec.fdArg}`, { socket: 'none', depth: 0, line: true }),
        describe(c, 'r', '$ret', { socket: 'full', depth: c.depth }),
        head('\\t%d\\t%d\\t%d\\t' + DESC_FMT, `, $ret, (int64)(int32)$A${spec.fdArg}, (int64)(int32)$A${spec.targetFdArg}, ` + DESC_ARGS),
      ], [spec.fdArg!, spec.targetFdArg!]);
    case 'mmap': {
      const fd = `(int32)$A${spec.fdArg}`;
      const fl = `$A${spec.flagsArg}`;
      return exitProbe('(uint64)$ret < 0xfffffffffffff000', [
        '    $ts = nsecs;', fileOf(fd), '    $mi = $f != 0 ? (uint64)((struct file *)$f)->f_inode->i_ino : (uint64)0;',
        head('\\t%llx\\t%d\\t%llx\\t%llu\\t%llu\\t%llu\\t%llu\\t%llu', `, (uint64)$ret, $fd, $f, (uint64)$A${spec.lengthArg}, (uint64)$A${spec.protArg}, (uint64)${fl}, (uint64)$A${spec.offsetArg}, $mi`),
      ], [spec.fdArg!, spec.lengthArg!, spec.protArg!, spec.flagsArg!, spec.offsetArg!],
      // a private mapping is printed only in a process that received an fd (see RECEIVED)
      `${fd} >= 0 && (${fl} & ${MAP_ANONYMOUS}) == 0 && ((${fl} & ${MAP_SHARED}) != 0 || @rx[pid] != 0)`);
    }
    case 'clone': {
      // with saved registers the fork probe reads the flags from the parent's own call
      if (regs) return [];
      const which = CLONE_CALLS.indexOf(name as typeof CLONE_CALLS[number]) + 1;
      if (which === 0) return [];
      let flags: string;
      if (name === 'clone') flags = field(0);
      else if (name === 'clone3') flags = `((struct clone_args *)uptr(${field(0)}))->flags`;
      else flags = name === 'vfork' ? '0x4111' : '0x11'; // CLONE_VM|CLONE_VFORK|SIGCHLD, SIGCHLD
      return [{ tp: enterTp, pred: c.filter, body: `  @cf[tid] = (uint64)(${flags}) | ${CLONE_SEEN}; @cs[tid] = ${which};` }];
    }
    // exec and exit come from the sched tracepoints; connect/bind: the kernel names unix peers outright;
    // uid: every line carries the euid; munmap changes no fd
    default: return [];
  }
}

/**
 * A process that received an fd (SCM_RIGHTS, pidfd_getfd) is in @rx, and so is every child it forks later: only
 * there does a private file mapping matter (the correlator's privateMapsMatter, which the strace backend applies
 * too); elsewhere (a build's loaders mapping their libraries) the mmap probe prints nothing. A superset of the
 * correlator's test (a receive of MSG_CTRUNC alone counts too), so it drops nothing a record is made of.
 */
const RECEIVED = '    @rx[pid] = 1;';

/** an E line's socket once described (fd, file, inode, CLOEXEC) and the one fd of its message (-1: none, or not lean) */
const SOCK_FMT = '%d\\t%llx\\t%llu\\t%d';
const SOCK_ARGS = '$fd, $f, $ino, $ce';
const INLINE_FMT = '%d\\t%d\\t%llx';
const INLINE_ARGS = '$ct, $xfd, $xf';

const DESC_FMT = '%d\\t%llx\\t%llu\\t%llx\\t%o\\t%u\\t%d\\t%llx\\t%llx\\t%d\\t%d\\t%d\\t%d\\t%llu';
const DESC_ARGS = '$fd, $f, $ino, $mg, $mode, $nl, $mid, $mr, $de, $ce, $aux, $sf, $st, $sp';
/** a message fd's DESC: the first 11 fields (its socket's are never read; the recvmsg probe is near the 512-byte stack) */
const MSG_DESC_FMT = DESC_FMT.split('\\t').slice(0, 11).join('\\t');
const MSG_DESC_ARGS = DESC_ARGS.split(', ').slice(0, 11).join(', ');

/** `$fd` and its `struct file *` in `$f` (0 when the slot is empty): `fd[N]` needs pointer arithmetic. */
function fileOf(fdExpr: string): string {
  return [
    `    $fd = (int64)(${fdExpr});`,
    // pointers, not integers: `fd` is a struct file **, and pointer arithmetic needs no integer cast
    '    $f = (struct file *)0; $fdt = curtask->files->fdt;',
    '    if ($fd >= 0 && $fd < $fdt->max_fds) { $f = *($fdt->fd + $fd); }',
  ].join('\n');
}

interface Describe {
  /** full: U/I lines with the address; peer: only the unix peer inode; none: not read */
  socket: 'full' | 'peer' | 'none';
  /** dentries walked up for D lines (0: none) */
  depth: number;
  /** print it as an F line */
  line?: boolean;
  /** print it as a G line (a message fd) with these fields first: message, fds in the cmsg, ctrunc, index */
  msg?: string;
  /** only the file, its inode and CLOEXEC: the syscall table names what it is */
  lean?: boolean;
  /** a file described in full in an earlier line (the kernel's file cache @fc says so) is not described again:
   * `$kn` is 1 and nothing is printed but, for a message fd, a K line (with `silent`, not even that) */
  check?: boolean;
  silent?: boolean;
  /** false: not recorded in @fc (the verifier walks every iteration of a vector's loops: less to walk) */
  record?: boolean;
}

/**
 * Reads what fd `fdExpr` refers to into the DESC variables; prints D lines for the dentries of its path not
 * printed before, U/I lines for a socket's address, and with `line` an F line of role `role`. Every full
 * description records its file in @fc under a key of what it said (`$fk`): a later `check` of the same file with the
 * same key knows it is described already (an inet socket's addresses change: never kept).
 */
function describe(c: Ctx, role: string, fdExpr: string, d: Describe): string {
  const s: string[] = [fileOf(fdExpr),
    '    $ino = (uint64)0; $mg = (uint64)0; $mode = (uint64)0; $nl = (uint64)0; $mid = (int64)0; $mr = (struct dentry *)0; $de = (struct dentry *)0;',
    `    $ce = (int64)0; $aux = (int64)0; $sf = (int64)0; $st = (int64)0; $sp = (uint64)0;${d.socket === 'full' ? ' $ua = (uint64)0;' : ''}${d.lean ? '' : ' $kn = 0; $key = (uint64)0;'}`,
    '    if ($f != 0) {',
  ];
  if (d.lean) {
    s.push('      $ino = $f->f_inode->i_ino;', '      $ce = (*($fdt->close_on_exec + ($fd >> 6)) >> ($fd & 63)) & 1;', '    }');
    return [...s, ...descLines(role, d)].join('\n');
  }
  s.push(
    '      $in = $f->f_inode;',
    // typed by their zeros above: the integer members need no cast (each costs bpftrace a BTF search)
    '      $ino = $in->i_ino; $mg = $in->i_sb->s_magic; $mode = $in->i_mode; $nl = $in->i_nlink;',
    `      $mid = ((struct mount *)((struct hlist_node *)$f->f_path.mnt - ${MOUNT_OF_VFSMOUNT}))->mnt_id;`,
    '      $mr = $f->f_path.mnt->mnt_root; $de = $f->f_path.dentry;',
    '      $ce = (*($fdt->close_on_exec + ($fd >> 6)) >> ($fd & 63)) & 1;',
    `      if ($mg == ${MAGIC.PIDFS}) { $aux = ((struct upid *)((struct pid *)$in->i_private + 1))->nr; }`,
  );
  if (d.socket !== 'none') {
    s.push(
      `      if ($mg == ${MAGIC.SOCKFS}) {`,
      '        $sk = ((struct socket *)$f->private_data)->sk;',
      '        $sf = $sk->__sk_common.skc_family; $st = $sk->sk_type;',
      '        if ($sf == 1) {',
      '          $pe = ((struct unix_sock *)$sk)->peer;',
      '          if ($pe != 0) { $ps = $pe->sk_socket; if ($ps != 0) { $sp = ((struct socket_alloc *)$ps)->vfs_inode.i_ino; } }',
      ...(d.socket === 'full' ? ['          $ua = (uint64)((struct unix_sock *)$sk)->addr;'] : []),
      '        }',
      '      }',
    );
  }
  // what the description says, in one word (the dentry by its name's hash: salted by its parent)
  s.push(
    `      $key = ($ino << 20) ^ $ino ^ ($nl << 52) ^ ($mode << 36) ^ $de->d_name.hash_len ^ ($mid << 44) ^ ($mg << 4) ^ ($aux << 12) ^ ($sf << 60) ^ ($st << 56) ^ ($sp << 28)${d.socket === 'full' ? ' ^ $ua' : ''};`,
    '      $key = $key | 1;',
  );
  if (d.socket !== 'none') s.push('      if ($sf == 2 || $sf == 10) { $key = (uint64)0; }');
  if (d.check) s.push('      if ($key != 0 && @fc[$f] == $key) { $kn = 1; }');
  // recorded before the walk, which takes `$key` for the dentry cache
  const prints: string[] = d.record !== false ? ['      if ($key != 0) { @fc[$f] = $key; }'] : [];
  if (d.socket === 'full') {
    prints.push(
      `      if ($mg == ${MAGIC.SOCKFS}) {`,
      '        $sk = ((struct socket *)$f->private_data)->sk;',
      '        if ($sf == 1) {',
      '          if ($ua != 0) {',
      // struct unix_address: refcnt, len, then struct sockaddr_un (sun_family, sun_path)
      '            $al = (int64)((struct unix_address *)$ua)->len - 2;',
      `            $bl = $al > ${c.strlen} ? ${c.strlen} : $al;`,
      `            if ($al > 0) { printf("%llu\\tU\\t%d\\t${role}\\t%d\\t%r\\n", $ts, tid, $al, buf((uint8 *)($ua + 10), $bl)); }`,
      '          }',
      '        } else if ($sf == 2) {',
      `          printf("%llu\\tI\\t%d\\t${role}\\t%d\\t%d\\t%s\\t%d\\t%s\\t%d\\n", $ts, tid, $st, $sk->__sk_common.skc_state, ntop($sk->__sk_common.skc_rcv_saddr), $sk->__sk_common.skc_num, ntop($sk->__sk_common.skc_daddr), bswap($sk->__sk_common.skc_dport));`,
      '        } else if ($sf == 10) {',
      `          printf("%llu\\tI\\t%d\\t${role}\\t%d\\t%d\\t%s\\t%d\\t%s\\t%d\\n", $ts, tid, $st, $sk->__sk_common.skc_state, ntop($sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8), $sk->__sk_common.skc_num, ntop($sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8), bswap($sk->__sk_common.skc_dport));`,
      '        }',
      '      }',
    );
  }
  if (d.depth > 0) prints.push(walk(c, d.depth));
  if (d.check) s.push('      if ($kn == 0) {', ...prints.map((l) => '  ' + l), '      }');
  else s.push(...prints);
  s.push('    }');
  return [...s, ...descLines(role, d)].join('\n');
}

/** An H or K line: a message fd's file, inode and CLOEXEC (the fields of `msg` first). */
function leanLine(kind: 'H' | 'K', msg: string | undefined): string {
  return `printf("%llu\\t${kind}\\t%d\\t%d\\t%d\\t%d\\t%d\\t%d\\t%llx\\t%llu\\t%d\\n", $ts, tid, ${msg}, $fd, $f, $ino, $ce);`;
}

/** A message's one fd, kept for the E line (its fields after the socket's: ctrunc, fd, file, inode, CLOEXEC). */
/** the cmsg is the message's only one and holds one fd (no room for another cmsg header after it) */
const ONE = '$k2 == 0 && $n == 1 && $off + (($clen + 7) & 0xfffffffffffffff8) + 16 > $cl';
const INLINE_SET = '$xfd = $fd; $xf = $f;';
const INLINE_ZERO = '    $xfd = -1; $xf = (struct file *)0;';

/** The F or G line of a description (a lean message fd: an H line, 10 fields instead of 17; one described before: K). */
function descLines(role: string, d: Describe): string[] {
  const s: string[] = [];
  const lean = leanLine(d.lean ? 'H' : 'K', d.msg);
  if (d.lean) {
    if (d.msg && !d.silent) s.push(`    if ($f != 0) { ${lean} }`);
    return s;
  }
  const full = d.check ? '$f != 0 && $kn == 0' : '$f != 0';
  if (d.line) s.push(`    if (${full}) { printf("%llu\\tF\\t%d\\t${role}\\t${DESC_FMT}\\n", $ts, tid, ${DESC_ARGS}); }`);
  // a message fd's socket fields are not read (socket 'none'): its G line has the DESC without them
  if (d.msg) s.push(`    if (${full}) { printf("%llu\\tG\\t%d\\t%d\\t%d\\t%d\\t%d\\t${MSG_DESC_FMT}\\n", $ts, tid, ${d.msg}, ${MSG_DESC_ARGS}); }`);
  if (d.msg && d.check && !d.silent) s.push(`    if ($kn == 1) { ${lean} }`);
  return s;
}

/**
 * D lines for the dentries from the file up to the filesystem root, each printed only when its (parent, name)
 * changed since it was last printed: the parser keeps the names, so a path costs a map lookup per level.
 * Pseudo files (sockets, pipes, pidfds) have no path; an anon inode's one dentry names it ([eventfd]).
 */
function walk(c: Ctx, depth: number): string {
  const step = [
    '        $dd = (struct dentry *)$d;',
    '        $p = (uint64)$dd->d_parent;',
    '        $key = $p ^ $dd->d_name.hash_len;',
    '        if (@dk[$d] != $key) {',
    '          @dk[$d] = $key;',
    `          $nlen = (int64)$dd->d_name.len; $blen = $nlen > ${c.strlen} ? ${c.strlen} : $nlen;`,
    '          printf("%llu\\tD\\t%d\\t%llx\\t%llx\\t%d\\t%r\\n", $ts, tid, $d, $p, $nlen, buf($dd->d_name.name, $blen));',
    '        }',
  ];
  const guard = `      if ($mg != ${MAGIC.SOCKFS} && $mg != ${MAGIC.PIPEFS} && $mg != ${MAGIC.PIDFS}) {`;
  if (depth === 1) return [guard, '        $d = (uint64)$de;', ...step, '      }'].join('\n');
  return [
    guard,
    '        $d = (uint64)$de; $i = 0;',
    `        while ($i < ${depth}) {`,
    ...step.map((l) => '  ' + l),
    '          if ($p == $d) { break; }',
    '          $d = $p; $i++;',
    '        }',
    '      }',
  ].join('\n');
}

/**
 * The SCM_RIGHTS fds of one struct user_msghdr at `hdr` (user memory): an M line per rights message, an F line
 * per fd (with its own name, one level), and for a receive MSG_CTRUNC from msg_flags. Sets `$any`.
 */
function messageWalk(c: Ctx, hdr: string, idx: string, receive: boolean, vector: boolean): string {
  // the verifier walks every iteration: a vector of messages gets fewer cmsgs and fds each
  const cmsgMax = vector ? 2 : CMSG_MAX;
  const fdMax = vector ? MMSG_FD_MAX : SCM_MAX_FD;
  const g = `${idx}, $n, $ct, $i2`;
  const msgFd = '*(int32 *)uptr($ctl + $off + 16 + (uint64)$i2 * 4)';
  const s: string[] = [
    `    $h = (struct user_msghdr *)uptr(${hdr});`,
    '    $ctl = (uint64)$h->msg_control; $cl = (uint64)$h->msg_controllen;',
    `    $ct = ${receive ? '($h->msg_flags & 8) != 0 ? 1 : 0' : '0'};`,
    '    $off = (uint64)0; $rights = 0;',
  ];
  // a loop, not unrolled: the code stays small, and bpftrace 0.17 compiles each copy of a block anew
  s.push(
    '    $k2 = 0;',
    `    while ($k2 < ${cmsgMax} && $ctl != 0 && $off + 16 <= $cl) {`,
    '      $cm = (struct cmsghdr *)uptr($ctl + $off);',
    '      $clen = (uint64)$cm->cmsg_len;',
    '      if ($cm->cmsg_level == 1 && $cm->cmsg_type == 1 && $clen >= 16) {',
    '        $n = (int64)(($clen - 16) / 4);',
    // the cmsg's count rides on each of its fds' G lines (one line fewer per message): M only for none
    `        if ($n <= 0) { printf("%llu\\tM\\t%d\\t%d\\t%d\\t%d\\n", $ts, tid, ${idx}, $n, $ct); }`,
    '        $rights = 1; $any = 1;',
    // the message's one fd (one cmsg, one fd, no room for another cmsg) rides on the E line instead of its own line
    '        $i2 = (int64)0;',
    `        while ($i2 < $n && $i2 < ${fdMax}) {`,
    ...(receive ? [
      // the first few installed fds are described in full (with their names walked for a recvmsg: an untraced
      // sender's files are not in the D cache) unless a line described them before (K: the file cache knows);
      // the verifier walks every iteration and knows the counter, so the rest cost only the file and its inode
      // (lean: the pairing with their send names them, or /proc)
      `          if ($i2 < ${vector ? MMSG_DESCRIBED : MSG_WALKED}) {`,
      ...(vector ? [
        describe(c, 'm', msgFd, { socket: 'none', depth: 0, msg: g, record: false }).replace(/^/gm, '        '),
      ] : [
        describe(c, 'm', msgFd, { socket: 'none', depth: MSG_DEPTH, msg: g, check: true, silent: true }).replace(/^/gm, '        '),
        `            if ($kn == 1) { if (${ONE}) { ${INLINE_SET} } else { ${leanLine('K', g)} } }`,
      ]),
      '          } else {',
      describe(c, 'm', msgFd, { socket: 'none', depth: 0, msg: g, lean: true }).replace(/^/gm, '        '),
      '          }',
    ] : [
      // a sender is followed: its fd table names what it sends, the file pairs it with the receive
      ...(vector ? [
        describe(c, 'm', msgFd, { socket: 'none', depth: 0, msg: g, lean: true }).replace(/^/gm, '      '),
      ] : [
        describe(c, 'm', msgFd, { socket: 'none', depth: 0, msg: g, lean: true, silent: true }).replace(/^/gm, '      '),
        `          if ($f != 0) { if (${ONE}) { ${INLINE_SET} } else { ${leanLine('H', g)} } }`,
      ]),
    ]),
    '          $i2++;',
    '        }',
    '      }',
    '      if ($clen < 16) { break; }',
    '      $off = $off + (($clen + 7) & 0xfffffffffffffff8);',
    '      $k2++;',
    '    }',
  );
  if (receive) s.push(`    if ($ct && !$rights) { printf("%llu\\tM\\t%d\\t%d\\t0\\t1\\n", $ts, tid, ${idx}); $any = 1; }`);
  return s.join('\n');
}

/** x86-64 syscall numbers of the clone family, to read a parent's clone flags from its saved registers */
const X64_CLONE = { clone: 56, fork: 57, vfork: 58, clone3: 435 } as const;

/** tasks looked at from the newest end of a list for the new one: those made at the same moment come first */
const FORK_WALK = 8;
/** 8-byte words read of an exec's file name to find its end (PATH_MAX, and execveat's "/dev/fd/N/" before it) */
const EXEC_NAME_WORDS = 520;

/**
 * The new task at sched_process_fork, without `args` (in `$child`; 0 when not found): copy_process put it at
 * the tail of its parent's list (the thread group's for a thread, else the children of its parent: with
 * CLONE_PARENT the caller's own parent) before the tracepoint, and it has not run yet. Another task may have
 * joined the list since (another thread made one at the same moment, an orphan reparented), so the walk from
 * the tail takes the first whose saved registers are the copy of the caller's that copy_thread made: the same
 * ip, and the stack the call asked for (clone's newsp, clone3's stack + stack_size) or else the caller's; a
 * kernel-made task (io_uring worker) has sp and ip 0.
 */
function findChild(regs: NonNullable<ProgramOptions['regs']>, l: KernelLayout): string[] {
  return [
    '  $sp = (uint64)0;',
    `  if ($nr == ${X64_CLONE.clone}) { $sp = $r->si; }`,
    `  if ($nr == ${X64_CLONE.clone3}) { $ca = (struct clone_args *)uptr($r->di); if ($ca->stack != 0) { $sp = $ca->stack + $ca->stack_size; } }`,
    '  if ($sp == 0) { $sp = $r->sp; }',
    '  $ip = $r->ip;',
    '  if ($fl == 0) { $sp = (uint64)0; $ip = (uint64)0; }',
    `  $head = (uint64)curtask + ${int(l.children)}; $off = ${int(l.sibling)};`,
    `  if ($fl == 0 || ($fl & ${CLONE_THREAD}) != 0) { $head = (uint64)curtask->signal + ${int(l.threadHead)}; $off = ${int(l.threadNode)}; }`,
    `  else if (($fl & ${CLONE_PARENT}) != 0) { $head = (uint64)curtask->real_parent + ${int(l.children)}; }`,
    // struct list_head: next, then prev
    '  $e = *(uint64 *)($head + 8); $child = 0; $i = 0;',
    `  while ($i < ${FORK_WALK} && $e != $head && $e != 0) {`,
    '    $t = (struct task_struct *)($e - $off);',
    `    $cr = ${savedRegs(regs, '$t')};`,
    '    if ($cr->sp == $sp && $cr->ip == $ip) { $child = $t->pid; break; }',
    '    $e = *(uint64 *)($e + 8); $i++;',
    '  }',
  ];
}

/**
 * An exec's file name and old tid, without `args`: the kernel copies the name (bprm->filename) to the top of the
 * new stack right after the environment strings, so it starts at mm->env_end (it is what AT_EXECFN points at),
 * ends at its NUL (8 zero bytes follow it: the read of the word holding the NUL stays in the stack). A thread
 * other than the leader that execs takes the leader's pid; the others, killed by de_thread, saw it as
 * signal->group_exec_task when they exited (@xo).
 */
function execBody(c: Ctx): string[] {
  return [
    '  $old = @xo[pid]; delete(@xo[pid]);',
    '  if ($old == 0) { $old = tid; }',
    '  $p = (uint64)curtask->mm->env_end;',
    '  $len = (int64)0; $i = 0;',
    `  while ($i < ${EXEC_NAME_WORDS}) {`,
    '    $w = *(uint64 *)uptr($p + (uint64)$i * 8);',
    '    if ((($w - 0x0101010101010101) & ~$w & 0x8080808080808080) != 0) {',
    '      $j = 0;',
    '      while ($j < 8) { if ((($w >> ($j * 8)) & 0xff) == 0) { break; } $j++; }',
    '      $len = (int64)($i * 8 + $j);',
    '      break;',
    '    }',
    '    $i++;',
    '  }',
    `  $blen = $len > ${c.strlen} ? ${c.strlen} : $len;`,
    groupEnd('  ', '%llu\\tX\\t%d\\t%d\\t%u\\t%d\\t%d\\t%r\\t%r', `nsecs, tid, pid, ${EUID}, $old, $len, buf(curtask->comm, 16), buf(uptr($p), $blen)`),
  ];
}

/** fork (with the flags of the parent's clone), exec, exit. */
function schedProbes(c: Ctx): Probe[] {
  const all = c.opts.follow === null;
  const user = all ? ` && (curtask->flags & ${PF_KTHREAD}) == 0` : '';
  const off = c.opts.execFilenameOffset ?? 8;
  const regs = c.opts.regs ?? null;
  const flags = regs ? [
    regsPrelude(regs),
    `  $nr = $r->orig_ax; $fl = (uint64)0; $sy = 0;`,
    `  if ($nr == ${X64_CLONE.clone}) { $fl = $r->di | ${CLONE_SEEN}; $sy = 1; }`,
    `  if ($nr == ${X64_CLONE.clone3}) { $fl = ((struct clone_args *)uptr($r->di))->flags | ${CLONE_SEEN}; $sy = 2; }`,
    `  if ($nr == ${X64_CLONE.fork}) { $fl = 0x11 | ${CLONE_SEEN}; $sy = 3; }`,
    `  if ($nr == ${X64_CLONE.vfork}) { $fl = 0x4111 | ${CLONE_SEEN}; $sy = 4; }`,
  ] : ['  $fl = @cf[tid]; $sy = @cs[tid]; delete(@cf[tid]); delete(@cs[tid]);'];
  const layout = regs && c.opts.layout ? c.opts.layout : null;
  const child = layout ? '$child' : 'args->child_pid';
  // a new process, not a thread (a kernel-made task, an io_uring worker, has no flags: it is a thread of the caller)
  const newProcess = `$fl != 0 && ($fl & ${CLONE_THREAD}) == 0${layout ? ' && $child != 0' : ''}`;
  return [
    {
      tp: 'tracepoint:sched:sched_process_fork', pred: `${c.filter}${user}`, body: [
        ...flags,
        ...(regs && layout ? findChild(regs, layout) : []),
        ...(all ? [] : [`  if (${newProcess}) { @follow[${child}] = 1; }`]),
        // a child of a process that received an fd holds what it held (RECEIVED)
        `  if (${newProcess} && @rx[pid] != 0) { @rx[${child}] = 1; }`,
        groupEnd('  ', '%llu\\tP\\t%d\\t%d\\t%u\\t%d\\t%llx\\t%d', `nsecs, tid, pid, ${EUID}, ${child}, $fl, $sy`),
      ].join('\n'),
    },
    layout ? { tp: 'tracepoint:sched:sched_process_exec', pred: c.filter, body: execBody(c).join('\n') } : {
      tp: 'tracepoint:sched:sched_process_exec', pred: c.filter, body: [
        `  $loc = *(uint32 *)((uint64)args + ${int(off)});`,
        // the length counts the terminating NUL
        `  $len = (int64)($loc >> 16) - 1; $blen = $len > ${c.strlen} ? ${c.strlen} : $len;`,
        groupEnd('  ', '%llu\\tX\\t%d\\t%d\\t%u\\t%d\\t%d\\t%r\\t%r', `nsecs, tid, pid, ${EUID}, args->old_pid, $len, buf(curtask->comm, 16), buf((uint8 *)((uint64)args + ($loc & 0xffff)), $blen)`),
      ].join('\n'),
    },
    {
      tp: 'tracepoint:sched:sched_process_exit', pred: `${c.filter}${user}`, body: [
        '  $gd = curtask->signal->live.counter == 0 ? 1 : 0;',
        groupEnd('  ', '%llu\\tQ\\t%d\\t%d\\t%d\\t%d', 'nsecs, tid, pid, $gd, curtask->exit_code'),
        `  ${SCRATCH.map((m) => `delete(@${m}[tid]);`).join(' ')}`,
        // a thread killed by another's exec: the exec's X line names that thread by its tid before the exec
        ...(layout ? ['  $xt = curtask->signal->group_exec_task; if ($xt != 0) { @xo[pid] = $xt->pid; }'] : []),
        ...(all ? [`  if ($gd) { delete(@rx[pid]);${layout ? ' delete(@xo[pid]);' : ''} }`] : [`  if ($gd) { delete(@follow[pid]); delete(@rx[pid]);${layout ? ' delete(@xo[pid]);' : ''} }`]),
      ].join('\n'),
    },
  ];
}
