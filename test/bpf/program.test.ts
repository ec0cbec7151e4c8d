// The generated bpftrace program: what it attaches to, how it filters, what it prints. Pure checks on the text,
// then one dry-run compile by the real bpftrace (when installed) so the text is a program bpftrace accepts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfProgram, parseFormat, probeNames, programEnv, SENTINEL_PGRP, X64_SYSCALL_NR, type ProgramOptions } from '../../src/bpf/program.js';
import { possibleCpus } from '../../src/bpf/native/load.js';
import { root } from '../paths.js';

/** sys_enter_* argument names recorded from this machine kind's tracefs (fixtures/bpf/tracepoints.txt) */
export function recordedTracepoints(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of fs.readFileSync(path.join(root, 'fixtures', 'bpf', 'tracepoints.txt'), 'utf8').split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [name, ...fields] = line.trim().split(/\s+/);
    m.set(name!, fields);
  }
  return m;
}

const REGS = { arch: 'x64' as const, threadSize: 16384 };
const base = (o: Partial<ProgramOptions> = {}): ProgramOptions => ({ follow: [4242], self: 777, tracepoints: recordedTracepoints(), regs: REGS, ...o });

/** The probe blocks of a program: attach points, predicate, body. */
function blocks(prog: string): Array<{ tps: string[]; pred: string; body: string }> {
  const out: Array<{ tps: string[]; pred: string; body: string }> = [];
  const re = /^((?:tracepoint:\S+,\n)*tracepoint:\S+) \/(.*?)\/ \{\n([\s\S]*?)^\}/gm;
  for (const m of prog.matchAll(re)) out.push({ tps: m[1]!.split(',\n'), pred: m[2]!, body: m[3]! });
  return out;
}

test('parseFormat: argument names and offsets after the common fields', () => {
  const text = [
    'name: sys_enter_sendmsg', 'ID: 2214', 'format:',
    '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;',
    '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;', '',
    '\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;',
    '\tfield:int fd;\toffset:16;\tsize:8;\tsigned:0;',
    '\tfield:struct user_msghdr * msg;\toffset:24;\tsize:8;\tsigned:0;',
    '\tfield:unsigned int flags;\toffset:32;\tsize:8;\tsigned:0;',
  ].join('\n');
  const f = parseFormat(text);
  assert.equal(f.fields, ['fd', 'msg', 'flags']);
  assert.is(f.offsets.get('msg'), 24);
  assert.is(parseFormat('\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;').offsets.get('filename'), 8);
});

test('program: the fd-lifecycle set from the syscall table, exits doing the work, the sentinel attached last', () => {
  const prog = bpfProgram(base());
  const names = probeNames(base());
  for (const tp of ['sys_exit_openat', 'sys_exit_socket', 'sys_exit_accept4', 'sys_exit_pipe2', 'sys_exit_socketpair', 'sys_exit_dup3',
    'sys_exit_fcntl', 'sys_enter_close', 'sys_exit_close_range', 'sys_exit_sendmsg', 'sys_exit_sendmmsg', 'sys_exit_recvmsg',
    'sys_exit_recvmmsg', 'sys_exit_pidfd_getfd', 'sys_exit_pidfd_open', 'sys_exit_memfd_create', 'sys_exit_mmap']) {
    assert.ok(names.includes(`tracepoint:syscalls:${tp}`), tp);
  }
  for (const tp of ['sched_process_fork', 'sched_process_exec', 'sched_process_exit']) assert.ok(names.includes(`tracepoint:sched:${tp}`), tp);
  // saved registers: no entry probe but where the entry holds what the exit cannot see (a send's time, a close's file)
  const enters = names.filter((n) => n.includes('sys_enter_')).map((n) => n.split('sys_enter_')[1]).sort();
  assert.equal(enters, ['close', 'kill', 'sendmmsg', 'sendmsg']);
  assert.is(names[names.length - 1], 'tracepoint:syscalls:sys_enter_kill');
  // the sentinel reads the kill's pid from the saved registers, and proves their layout by kill's number
  const kill = blocks(prog).find((b) => b.tps[0] === 'tracepoint:syscalls:sys_enter_kill')!;
  assert.is(kill.pred, 'pid == 777');
  assert.match(kill.body, new RegExp(`\\$ok = \\$r->orig_ax == 62 \\? 1 : 0;\n  if \\(\\$ok == 0 \\|\\| \\(int32\\)\\$r->di == -${SENTINEL_PGRP}\\)`));
  assert.match(bpfProgram(base({ regs: null })), new RegExp(`pid == 777 && \\(int32\\)args->pid == -${SENTINEL_PGRP}`));
  // bpf(2) is left out (only some of its commands return an fd), and so are calls that change no fd table
  assert.not.ok(names.some((n) => /sys_(enter|exit)_(bpf|write|read|connect|bind|getuid|munmap)$/.test(n)));
  assert.is(names.length, new Set(names).size, 'each tracepoint once');
});

test('heartbeat: a W line per 16 CPUs up to the possible ones, then the padded T line; group ends carry count << 16 | cpu', () => {
  const text = bpfProgram(base({ cpus: 20 }));
  const beat = /interval:ms:\d+ \{([^}]*)\}/.exec(text)![1]!;
  const w = [...beat.matchAll(/printf\("%llu\\tW\\t%d((?:\\t%llu)+)\\n", \$ts, (\d+),/g)].map((m) => [Number(m[2]), m[1]!.split('%llu').length - 1]);
  assert.equal(w, [[0, 16], [16, 4]]);
  assert.ok(beat.indexOf('\\tT\\t') > beat.lastIndexOf('\\tW\\t'), 'the T line comes after the W lines');
  assert.match(text, /@sq\[cpu\] = @sq\[cpu\] \+ 1;\n\s*printf\("%llu\\tQ\\t[^"]*\\t%llu\\n", [^;]*\(@sq\[cpu\] << 16\) \| cpu\);/);
  assert.equal([possibleCpus('0-1\n'), possibleCpus('0'), possibleCpus('0-3,8-11'), possibleCpus('garbage')], [2, 1, 12, 1024]);
});

test('program: follow mode filters by the followed thread groups, fork adds children, a group exit removes them', () => {
  const prog = bpfProgram(base({ follow: [4242, 99] }));
  assert.match(prog, /@follow\[4242\] = 1;\n {2}@follow\[99\] = 1;/);
  for (const b of blocks(prog)) {
    if (b.tps[0]!.includes('sys_enter_kill')) continue;
    assert.ok(/^@follow\[pid\]/.test(b.pred) || /^@k\[tid\] == \d+$/.test(b.pred), `${b.tps[0]}: ${b.pred}`);
  }
  const fork = blocks(prog).find((b) => b.tps[0] === 'tracepoint:sched:sched_process_fork')!;
  assert.match(fork.body, /if \(\$fl != 0 && \(\$fl & 65536\) == 0\) \{ @follow\[args->child_pid\] = 1; \}/);
  const exit = blocks(prog).find((b) => b.tps[0] === 'tracepoint:sched:sched_process_exit')!;
  assert.match(exit.body, /if \(\$gd\) \{ delete\(@follow\[pid\]\); delete\(@rx\[pid\]\); \}/);
});

test('program: a private file mmap is printed only in a process that received an fd (@rx), or a child it forked since', () => {
  for (const follow of [[4242], null]) {
    const bs = blocks(bpfProgram(base({ follow })));
    const mmap = bs.find((b) => b.tps.includes('tracepoint:syscalls:sys_exit_mmap'))!;
    assert.match(mmap.body, / && \(\(\$r->r10 & 1\) != 0 \|\| @rx\[pid\] != 0\)\) \{/);
    // a receive of rights (recvmsg, recvmmsg) and pidfd_getfd add the process
    for (const call of ['recvmsg', 'recvmmsg', 'pidfd_getfd']) assert.match(bs.find((b) => b.tps.includes(`tracepoint:syscalls:sys_exit_${call}`))!.body, /@rx\[pid\] = 1;/, call);
    for (const call of ['sendmsg', 'sendmmsg', 'openat']) assert.not.match(bs.find((b) => b.tps.includes(`tracepoint:syscalls:sys_exit_${call}`))!.body, /@rx\[pid\] = 1;/, call);
    const fork = bs.find((b) => b.tps[0] === 'tracepoint:sched:sched_process_fork')!;
    assert.match(fork.body, /if \(\$fl != 0 && \(\$fl & 65536\) == 0 && @rx\[pid\] != 0\) \{ @rx\[args->child_pid\] = 1; \}/);
    assert.match(bs.find((b) => b.tps[0] === 'tracepoint:sched:sched_process_exit')!.body, /if \(\$gd\) \{ [^}]*delete\(@rx\[pid\]\);/);
  }
});

const LAYOUT = { children: 1296, sibling: 1312, threadNode: 1440, threadHead: 16, groupExecTask: true };

test('program: with the kernel layout on x86-64 no probe reads args (bpftrace then never runs libclang for them)', () => {
  for (const follow of [[4242], null]) {
    const prog = bpfProgram(base({ follow, layout: LAYOUT }));
    assert.not.match(prog, /\bargs\b/);
    const fork = blocks(prog).find((b) => b.tps[0] === 'tracepoint:sched:sched_process_fork')!;
    // the new task: the newest on its parent's list whose saved registers are the caller's copy
    assert.match(fork.body, /\$head = \(uint64\)curtask \+ 1296; \$off = 1312;/);
    assert.match(fork.body, /\$head = \(uint64\)curtask->signal \+ 16; \$off = 1440;/);
    assert.match(fork.body, /\$head = \(uint64\)curtask->real_parent \+ 1296;/);
    assert.match(fork.body, /if \(\$cr->sp == \$sp && \$cr->ip == \$ip\) \{ \$child = \$t->pid; break; \}/);
    if (follow) assert.match(fork.body, /if \(\$fl != 0 && \(\$fl & 65536\) == 0 && \$child != 0\) \{ @follow\[\$child\] = 1; \}/);
    const exec = blocks(prog).find((b) => b.tps[0] === 'tracepoint:sched:sched_process_exec')!;
    assert.match(exec.body, /\$p = \(uint64\)curtask->mm->env_end;/);
    assert.match(exec.body, /\$old = @xo\[pid\]; delete\(@xo\[pid\]\);/);
    const exit = blocks(prog).find((b) => b.tps[0] === 'tracepoint:sched:sched_process_exit')!;
    assert.match(exit.body, /\$xt = curtask->signal->group_exec_task; if \(\$xt != 0\) \{ @xo\[pid\] = \$xt->pid; \}/);
    assert.match(exit.body, /if \(\$gd\) \{ [^}]*delete\(@xo\[pid\]\);/);
  }
  // without the layout, or without saved registers, fork and exec read args as before
  assert.match(bpfProgram(base()), /@follow\[args->child_pid\] = 1;/);
  assert.match(bpfProgram(base({ regs: null, layout: LAYOUT })), /args->old_pid/);
});

test('program: few integer casts (bpftrace 0.17 searches the kernel\'s BTF by name for each one, ~2 ms)', () => {
  const prog = bpfProgram(base({ layout: LAYOUT }));
  assert.not.match(prog, /\(int64\)0(?![0-9a-fx])/);
  for (const b of [...blocks(prog), { tps: ['BEGIN'], pred: '', body: prog.split('\n}\n')[0]! }]) {
    const zeros = b.body.match(/\(uint64\)0(?![0-9a-fx])/g) ?? [];
    assert.ok(zeros.length <= 1, `${b.tps[0]}: ${zeros.length} casts of a zero`);
  }
  const casts = prog.match(/\((u?int(8|16|32|64)) ?\*?\)/g) ?? [];
  assert.ok(casts.length < 400, `${casts.length} integer casts`);
});

test('program: with saved registers an E line names its call by number (each one the parser knows); sendmsg/recvmsg lines are short', () => {
  const prog = bpfProgram(base({ layout: LAYOUT }));
  for (const b of blocks(prog)) {
    if (!b.body.includes('\\tE\\t')) continue;
    assert.match(b.body, /printf\("%llu\\tE\\t%d\\t%d\\t%u\\t%d[^"]*", \$ts, tid, pid, curtask->cred->euid\.val, \$r->orig_ax/, b.tps[0]);
    for (const tp of b.tps) {
      const name = /sys_(?:enter|exit)_(\w+)$/.exec(tp)![1]!;
      assert.ok(X64_SYSCALL_NR[name] !== undefined, `${name} has no x86-64 number`);
    }
  }
  assert.not.match(prog, /\bprobe\b/);
  for (const call of ['sendmsg', 'recvmsg']) {
    const b = blocks(prog).find((x) => x.tps.includes(`tracepoint:syscalls:sys_exit_${call}`))!;
    // the socket in full (F line) only when the file cache does not know it; every full description is recorded
    assert.match(b.body, /if \(\$key != 0 && @fc\[\$f\] == \$key\) \{ \$kn = 1; \}/);
    assert.match(b.body, /if \(\$f != 0 && \$kn == 0\) \{ printf\("%llu\\tF\\t%d\\ts\\t/);
    // the E line: ret, flags, the socket's fd file inode CLOEXEC, then ctrunc and the message's one fd and file
    const e = /printf\("%llu\\tE\\t([^"]*)\\n"/.exec(b.body)![1]!;
    assert.is(e.split('\\t').length, 4 + 2 + 4 + 3 + 1, e);
    assert.match(b.body, /\$xfd = \$fd; \$xf = \$f;/);
  }
  // a received fd described before is a K line; a message fd's G line has 11 DESC fields
  const recv = blocks(prog).find((x) => x.tps.includes('tracepoint:syscalls:sys_exit_recvmsg'))!;
  assert.match(recv.body, /\\tK\\t/);
  const g = /printf\("%llu\\tG\\t([^"]*)\\n"/.exec(recv.body)![1]!;
  assert.is(g.split('\\t').length, 5 + 11, g);
  assert.match(prog, /interval:s:5 \{ clear\(@dk\); clear\(@fc\); \}/);
});

test('program: --all traces every process but fdwatch, bpftrace and kernel threads', () => {
  const prog = bpfProgram(base({ follow: null }));
  assert.not.match(prog, /@follow/);
  assert.match(prog, /@ignore\[pid\] = 1; @ignore\[777\] = 1;/);
  const fork = blocks(prog).find((b) => b.tps[0] === 'tracepoint:sched:sched_process_fork')!;
  assert.is(fork.pred, '!@ignore[pid] && (curtask->flags & 2097152) == 0');
});

test('program: strings the traced side controls are printed with %r only (a hostile name cannot forge a line)', () => {
  for (const prog of [bpfProgram(base()), bpfProgram(base({ regs: null })), bpfProgram(base({ layout: LAYOUT }))]) {
    for (const m of prog.matchAll(/printf\("([^"]*)", ([^;]*)\);/g)) {
      const fmt = m[1]!;
      const specs = [...fmt.matchAll(/%(llu|llx|lld|d|u|x|o|s|r)/g)].map((x) => x[1]);
      const args = m[2]!.split(/, (?![^(]*\))/);
      specs.forEach((s, i) => {
        if (s === 's') assert.ok(args[i] === 'probe' || args[i]!.startsWith('ntop('), `%s of ${args[i]} in ${fmt}`);
      });
      assert.is(specs.length, args.length, fmt);
    }
  }
});

test('program: without saved registers, entry probes stash what the exits read, guarded per call family', () => {
  const prog = bpfProgram(base({ regs: null }));
  assert.not.match(prog, /\$r->/);
  const exit = blocks(prog).find((b) => b.tps.includes('tracepoint:syscalls:sys_exit_dup2'))!;
  assert.match(exit.pred, /^@k\[tid\] == \d+$/);
  const enter = blocks(prog).find((b) => b.tps.includes('tracepoint:syscalls:sys_enter_dup2'))!;
  assert.match(enter.body, /@s0\[tid\] = \(uint64\)\(args->oldfd\)/);
  assert.match(prog, /tracepoint:syscalls:sys_enter_clone3 /);
});

test('programEnv: the string length, map size and ring size bpftrace runs with', () => {
  assert.equal(programEnv({}), { BPFTRACE_STRLEN: '64', BPFTRACE_MAP_KEYS_MAX: '65536', BPFTRACE_PERF_RB_PAGES: '1024' });
});

const BPFTRACE = ['/usr/bin/bpftrace', '/usr/local/bin/bpftrace'].find((p) => fs.existsSync(p));

// the whole program with saved registers is compiled by every live test (test/bpf/live.test.ts); here the
// `args` form, which those never load on x86-64
test('the args form of the program compiles with this machine\'s bpftrace (dry run: --emit-elf)', () => {
  if (!BPFTRACE || process.getuid?.() !== 0) {
    console.log('  skipped: bpftrace is not installed or not root (.ci/run installs it)');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-bpf-prog-'));
  try {
    const file = path.join(dir, 'p.bt');
    const few = new Map([...recordedTracepoints()].filter(([n]) => ['openat', 'dup2', 'recvmsg', 'clone3', 'mmap'].includes(n)));
    for (const opts of [base({ regs: null, tracepoints: few })]) {
      fs.writeFileSync(file, bpfProgram(opts));
      const r = spawnSync(BPFTRACE, ['--no-warnings', '--emit-elf', path.join(dir, 'p.elf'), file], {
        encoding: 'utf8', env: { ...process.env, ...programEnv({}) },
      });
      const errors = r.stderr.split('\n').filter((l) => /ERROR|error:/.test(l) && !l.includes('RLIMIT_MEMLOCK'));
      assert.equal(errors, [], `${opts.regs ? 'registers' : 'args'}: ${r.stderr.slice(0, 2000)}`);
      assert.ok(fs.statSync(path.join(dir, 'p.elf')).size > 0);
    }
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test.run();
