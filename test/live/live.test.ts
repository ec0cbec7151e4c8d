// Live tracing against real programs that really pass fds, as a user runs fdwatch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AlertRecord, ProcessRecord, TransferRecord } from '../../src/model/records.js';
import { root } from '../paths.js';
import { fdwatch, records, compile, procState, tmp } from './run.js';

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const transfers = (f: string): TransferRecord[] => records(f).filter((r): r is TransferRecord => r.type === 'transfer');

function idle(): { pid: number; kill: () => void } {
  const c = spawn('sleep', ['1000'], { stdio: 'ignore' });
  return { pid: c.pid!, kill: () => c.kill('SIGKILL') };
}

test('fork + socketpair: one delivered transfer parent -> child, right fds and path, confirmed by kcmp', async () => {
  const json = path.join(tmp, 'seed.ndjson');
  const r = fdwatch(['--no-tui', '--json', json, '--', compile('seed')], { SEED_HOLD: '1' });
  await r.waitFor(/--SCM_RIGHTS-->.*delivered/); // the child now holds the fd until its stdin closes
  r.child.stdin!.end();
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const t = transfers(json);
  assert.is(t.length, 1);
  const fork = records(json).find((x): x is ProcessRecord => x.type === 'process' && x.event === 'fork')!;
  assert.equal([t[0]!.state, t[0]!.from.pid, t[0]!.to?.pid, t[0]!.from.fd, t[0]!.to?.fd, t[0]!.target],
    ['delivered', fork.ppid, fork.pid, 3, 4, '/etc/hostname']);
  assert.is(t[0]!.confirmed, true, 'kcmp confirms one open file description');
  assert.match(r.out(), /parent done/); // the command's stdout passes through
  assert.is(records(json).pop()!.type, 'summary');
});

test('Python send_fds: several fds in one message; a too-small control buffer loses the rest (MSG_CTRUNC)', async () => {
  const json = path.join(tmp, 'py.ndjson');
  const r = fdwatch(['--no-tui', '--json', json, '--', PY, '-I', path.join(root, 'fixtures', 'programs', 'send_fds.py')]);
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const t = transfers(json);
  assert.is(t.length, 7);
  assert.is(t.filter((x) => x.state === 'delivered').length, 5);
  const lost = t.filter((x) => x.state === 'lost');
  assert.equal(lost.map((x) => x.kind).sort(), ['device', 'pipe']);
  const alerts = records(json).filter((x): x is AlertRecord => x.type === 'alert' && x.kind === 'ctrunc-lost');
  assert.is(alerts.length, 2);
  assert.match(r.err(), /LOST: MSG_CTRUNC/);
});

test('the most fds one message can hold (SCM_MAX_FD, 253): every one is seen, none hidden by strace\'s -s', async () => {
  const json = path.join(tmp, 'max.ndjson');
  const prog = [
    'import os, socket, resource',
    'resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))',
    'a, b = socket.socketpair()',
    'fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(253)]',
    'socket.send_fds(a, [b"x"], fds)',
    'print(len(socket.recv_fds(b, 1, 253)[1]))',
  ].join('\n');
  const r = fdwatch(['--no-tui', '--json', json, '--', PY, '-c', prog]);
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  assert.match(r.out(), /^253$/m);
  const t = transfers(json);
  assert.is(t.filter((x) => x.state === 'delivered').length, 253);
  const sum = records(json).pop() as { type: string; opaqueMessages?: number };
  assert.is(sum.opaqueMessages, 0);
});

test('Node child_process handle passing of a listening TCP server', async () => {
  const json = path.join(tmp, 'node.ndjson');
  const r = fdwatch(['--no-tui', '--json', json, '--', process.execPath, path.join(root, 'fixtures', 'programs', 'node_handle.mjs')]);
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const t = transfers(json).filter((x) => x.state === 'delivered');
  assert.is(t.length, 1);
  assert.is(t[0]!.kind, 'socket');
  assert.match(t[0]!.target ?? '', /^TCP/);
  assert.is.not(t[0]!.from.pid, t[0]!.to?.pid);
});

test('one-sided: only the receiver is traced; the untraced sender is named through its socket', async () => {
  const prog = spawn(PY, ['-I', path.join(root, 'fixtures', 'programs', 'one_sided.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const child = Number(await new Promise<string>((resolve) => prog.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()))));
    const json = path.join(tmp, 'one-sided.ndjson');
    const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, String(child)]);
    await r.waitFor(new RegExp(`attached to ${child}`));
    prog.stdin!.write('x'); // the child receives now
    await r.waitFor(/--SCM_RIGHTS-->/);
    prog.stdin!.end(); // the sender may exit now
    const e = await r.exit;
    assert.is(e.code, 0, r.err());
    const t = transfers(json);
    assert.is(t.length, 1);
    assert.equal([t[0]!.state, t[0]!.from.pid, t[0]!.from.comm, t[0]!.from.fd, t[0]!.to?.pid, t[0]!.target],
      ['delivered', prog.pid, 'python3', null, child, '/etc/hostname']);
  } finally { prog.kill(); }
});

test('a launched command is the root of what is shown: fdwatch\'s own sh wrapper and its plumbing are not in the records', async () => {
  const json = path.join(tmp, 'root.ndjson');
  const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, '--', 'cat', '/etc/hostname']);
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const recs = records(json);
  const first = recs[0]! as ProcessRecord;
  assert.equal(first.type === 'process' && [first.event, first.comm, first.path], ['exec', 'cat', '/usr/bin/cat'], JSON.stringify(first));
  assert.not.ok(recs.some((x) => x.type === 'process' && (x.comm === 'sh' || x.path === '/bin/sh')), 'no sh');
  assert.not.ok(recs.some((x) => x.type === 'fd' && (/fdwatch-/.test(x.target ?? '') || x.syscall === 'dup2')), 'not strace\'s channel, nor the wrapper\'s dup2 of its stderr');
  assert.ok(recs.some((x) => x.type === 'fd' && x.op === 'open' && x.target === '/etc/hostname'), 'the command\'s own fds are');
  assert.not.match(r.err(), /\?\[\d+\] ATTACH|sh\[\d+\] EXEC/);
  assert.ok(recs.some((x) => x.type === 'process' && x.event === 'exit' && x.pid === first.pid), 'its exit');
});

test('SIGINT while attached to an idle process: back within 1 s, tracee neither traced nor stopped', async () => {
  const p = idle();
  try {
    const json = path.join(tmp, 'idle.ndjson');
    const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, String(p.pid)]);
    await r.waitFor(new RegExp(`attached to ${p.pid}`));
    assert.is(procState(p.pid).tracer > 0, true, 'strace is attached');
    const t0 = Date.now();
    r.child.kill('SIGINT');
    const e = await r.exit;
    assert.ok(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
    assert.is(e.code, 130, `128 + SIGINT, as shells report it: ${r.err()}`);
    const st = procState(p.pid);
    assert.is(st.tracer, 0);
    assert.not.ok(st.state === 'T' || st.state === 't', `state ${st.state}`);
    const recs = records(json);
    assert.ok(recs.some((x) => x.type === 'fd' && x.op === 'snapshot' && x.pid === p.pid), 'fd table from the attach snapshot');
    const s = recs.pop()!;
    assert.equal([s.type, s.type === 'summary' && s.cleanEnd], ['summary', true], 'a detach is a clean end');
  } finally { p.kill(); }
});

test('-p PID -- command: the command sets the lifetime and the exit status', async () => {
  const p = idle();
  try {
    const r = fdwatch(['--backend', 'strace', '--no-tui', '-p', String(p.pid), '--', 'sh', '-c', 'exit 3']);
    const e = await r.exit;
    assert.is(e.code, 3, r.err());
    assert.is(procState(p.pid).tracer, 0);
    assert.match(r.err(), /summary: /);
    assert.not.match(r.err(), /did not end cleanly/, 'the -p process was detached: a clean end');
  } finally { p.kill(); }
});

test('a command killed by a signal: fdwatch exits 128 + its number, and that is no error', async () => {
  const json = path.join(tmp, 'killed.ndjson');
  const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, '--', 'sh', '-c', 'kill -TERM $$']);
  const e = await r.exit;
  assert.is(e.code, 143, r.err());
  assert.not.match(r.err(), /^fdwatch: /m);
  const exit = records(json).find((x): x is ProcessRecord => x.type === 'process' && x.event === 'exit')!;
  assert.is(exit.signal, 'SIGTERM');
});

test('errors: one line with what to do, non-zero exit, nothing left traced', async () => {
  const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
  const cases: Array<[string[], RegExp]> = [
    [['--no-tui', gone], new RegExp(`^fdwatch: no such process: ${gone}$`)],
    [['--no-tui', '--', '/nonexistent/command'], /^fdwatch: command not found: \/nonexistent\/command$/],
    [['--no-tui'], /^fdwatch: name a process id or a command/],
  ];
  for (const [args, re] of cases) {
    const r = fdwatch(args);
    const e = await r.exit;
    assert.is(e.code, 1, `${args.join(' ')}: ${r.err()}`);
    assert.match(r.err().trim(), re);
    assert.is(r.err().trim().split('\n').length, 1);
  }
  // another tracer already attached: say which
  const p = idle();
  const other = spawn('strace', ['-o', '/dev/null', '-p', String(p.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    // strace says "Process N attached" once it is
    await new Promise<void>((resolve) => { other.stderr!.setEncoding('utf8').on('data', (d: string) => { if (d.includes('attached')) resolve(); }); });
    const r = fdwatch(['--backend', 'strace', '--no-tui', String(p.pid)]);
    const e = await r.exit;
    assert.is(e.code, 1);
    assert.match(r.err(), new RegExp(`^fdwatch: process ${p.pid} is already traced by ${other.pid} \\(strace\\)`));
  } finally { other.kill('SIGINT'); p.kill(); }
});

test.run();
