// An internal error (a bug in fdwatch) never ends a run with a stack trace or without its summary: live under
// strace (line mode, a launched command, the dashboard in tmux), under eBPF, and in replay. The errors are real
// exceptions in real callbacks; only their cause is the test hook FDWATCH_TEST_THROW (src/cli/crash.ts), since a
// bug cannot be caused on demand. One bad event is counted and skipped, the trace going on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { FdwatchRecord, ProcessRecord, SummaryRecord, TransferRecord } from '../../src/model/records.js';
import { TraceSession } from '../../src/correlate/session.js';
import { bpfUnavailable } from '../../src/bpf/session.js';
import { root } from '../paths.js';
import { BIN, fdwatch, records, compile, tmp, procStateOrNull, descendantsOf, until, untraced, killAll, type Running } from '../live/run.js';
import { q, tmuxServer } from '../tui/tmux.js';

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const LINE = /^fdwatch: internal error: /;
const STACK = /^\s+at |node:internal|^Node\.js v/m;

/** Everything a test starts, killed at the end whatever happened. */
const started = new Set<number>();
function track(c: ChildProcess): ChildProcess { if (c.pid) started.add(c.pid); return c; }
function cleanup(r?: Running): void {
  if (r?.child.pid) { for (const d of descendantsOf(r.child.pid)) started.add(d); started.add(r.child.pid); }
  killAll(started);
  started.clear();
}

/**
 * A python parent that, on a line on stdin, forks a child and passes it two fds of /etc/hostname in one message;
 * both then sleep (traced until fdwatch lets go). Prints its pid first, `child PID 2` once the child has them.
 */
const PASSER = [
  'import os, socket, sys, time',
  'print(os.getpid(), flush=True)',
  'sys.stdin.readline()',
  'a, b = socket.socketpair()',
  'pid = os.fork()',
  'if pid == 0:',
  '    a.close()',
  '    msg, fds, flags, addr = socket.recv_fds(b, 16, 2)',
  '    print("child", os.getpid(), len(fds), flush=True)',
  '    time.sleep(300)',
  '    os._exit(0)',
  'b.close()',
  'socket.send_fds(a, [b"x"], [os.open("/etc/hostname", os.O_RDONLY) for _ in range(2)])',
  'time.sleep(300)',
].join('\n') + '\n';

async function passer(): Promise<{ proc: ChildProcess; pid: number; go: () => Promise<number> }> {
  const file = path.join(tmp, 'passer.py');
  fs.writeFileSync(file, PASSER);
  const proc = track(spawn(PY, ['-u', file], { stdio: ['pipe', 'pipe', 'inherit'] }));
  let out = '';
  const waiters: Array<() => void> = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; for (const w of waiters.splice(0)) w(); });
  const seen = async (re: RegExp, ms = 10_000): Promise<RegExpExecArray> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`timed out waiting for ${re} from the passer: ${JSON.stringify(out)}`);
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, 200); waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  };
  const pid = Number((await seen(/^(\d+)$/m))[1]);
  return {
    proc, pid,
    go: async () => {
      proc.stdin!.write('go\n');
      const child = Number((await seen(/^child (\d+) 2$/m))[1]);
      started.add(child);
      return child;
    },
  };
}

/** The promise: exit 70, one line and no stack on stderr, the NDJSON ending with a summary that names the error. */
function assertInternalEnd(code: number | null, err: string, json: string, cause: RegExp): FdwatchRecord[] {
  assert.is(code, 70, err);
  const said = err.split('\n').filter((l) => LINE.test(l));
  assert.is(said.length, 1, err);
  assert.match(said[0]!, cause);
  assert.match(said[0]!, /\(FDWATCH_DEBUG=1 shows the stack\)$/);
  assert.not.match(err, STACK);
  return summaryNoted(json, cause);
}

/** The NDJSON's records; its last and only summary says the run ended on an internal error. */
function summaryNoted(json: string, cause: RegExp): FdwatchRecord[] {
  const recs = records(json);
  const last = recs[recs.length - 1] as SummaryRecord;
  assert.is(last.type, 'summary', 'the summary is last');
  assert.is(recs.filter((r) => r.type === 'summary').length, 1, 'one summary');
  assert.is(last.cleanEnd, false);
  assert.match(last.error ?? '', new RegExp(`^internal: ${cause.source}`));
  return recs;
}

const transfers = (rs: FdwatchRecord[]): TransferRecord[] => rs.filter((r): r is TransferRecord => r.type === 'transfer');

/** Neither traced nor stopped (gone counts as freed). */
function assertFreed(pids: number[]): void {
  for (const p of pids) assert.ok(untraced(p), `${p} freed: ${JSON.stringify(procStateOrNull(p))}`);
}

// ---------------------------------------------------------------- live, strace

test('strace, attached: an exception in a listener detaches both tracees, writes the summary, one line, exit 70', async () => {
  const p = await passer();
  const json = path.join(tmp, 'attach.ndjson');
  const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, String(p.pid)], { FDWATCH_TEST_THROW: 'usr2:throw' });
  try {
    await r.waitFor(new RegExp(`attached to ${p.pid}`));
    const child = await p.go();
    await r.waitFor(/--SCM_RIGHTS-->.*delivered/);
    assert.ok((procStateOrNull(child)?.tracer ?? 0) > 0, 'the child is traced before the fault');
    r.child.kill('SIGUSR2');
    const e = await Promise.race([r.exit, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
    assert.ok(e !== null, `fdwatch exits; stderr:\n${r.err()}`);
    const recs = assertInternalEnd(e!.code, r.err(), json, /test fault on SIGUSR2 \(FDWATCH_TEST_THROW\)/);
    // what was seen before the fault is all there, the transfer with it
    const t = transfers(recs);
    assert.is(t.length, 2);
    assert.ok(t.every((x) => x.state === 'delivered' && x.from.pid === p.pid && x.to?.pid === child), JSON.stringify(t));
    assert.ok(recs.some((x) => x.type === 'process' && x.event === 'fork' && x.pid === child));
    // both still run, and nobody traces them
    for (const pid of [p.pid, child]) {
      const st = procStateOrNull(pid);
      assert.ok(st !== null, `${pid} still runs`);
      assert.is(st!.tracer, 0, `${pid}: TracerPid 0`);
      assert.ok(st!.state !== 't' && st!.state !== 'T', `${pid} not stopped: ${st!.state}`);
    }
  } finally { cleanup(r); }
});

test('strace, --json FILE -- a command: a rejected promise nothing awaits ends the run the same way', async () => {
  const json = path.join(tmp, 'command.ndjson');
  const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, '--', compile('seed')], { SEED_HOLD: '1', FDWATCH_TEST_THROW: 'usr2:reject' });
  try {
    await r.waitFor(/--SCM_RIGHTS-->.*delivered/); // the child holds the fd until its stdin closes
    r.child.kill('SIGUSR2');
    const e = await Promise.race([r.exit, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
    assert.ok(e !== null, `fdwatch exits; stderr:\n${r.err()}`);
    const recs = assertInternalEnd(e!.code, r.err(), json, /test fault on SIGUSR2, rejected \(FDWATCH_TEST_THROW\)/);
    assert.is(transfers(recs).filter((t) => t.state === 'delivered').length, 1, 'the transfer seen before the fault');
    const procs = recs.filter((x): x is ProcessRecord => x.type === 'process').map((x) => x.pid);
    assert.ok(procs.length >= 2, 'the command and its child');
    assertFreed([...new Set(procs)]);
  } finally { r.child.stdin?.end(); cleanup(r); }
});

test('strace: an exception on one event is counted and skipped; the trace goes on to its normal end', async () => {
  const json = path.join(tmp, 'skip.ndjson');
  const r = fdwatch(['--backend', 'strace', '--no-tui', '--json', json, '--', compile('seed')], { FDWATCH_TEST_THROW: 'record:3' });
  try {
    const e = await r.exit;
    assert.is(e.code, 0, r.err());
    assert.not.match(r.err(), LINE);
    assert.not.match(r.err(), STACK);
    const recs = records(json);
    const s = recs[recs.length - 1] as SummaryRecord;
    assert.is(s.type, 'summary');
    assert.is(s.internalErrors, 1);
    assert.is(s.internalErrorSample, 'test fault at record 3 (FDWATCH_TEST_THROW)');
    assert.is(s.error, undefined);
    assert.is(s.cleanEnd, true);
    // the trace went on past it: the transfer, made after the loader's records, is there
    assert.is(transfers(recs).filter((t) => t.state === 'delivered').length, 1);
    assert.match(r.err(), /1 trace events skipped on an internal error \(the first: test fault at record 3/);
  } finally { cleanup(r); }
});

// ---------------------------------------------------------------- the dashboard, in tmux

const SOCK = `fdwatch-internal-${process.pid}`;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const { tmux, waitFor } = tmuxServer(SOCK);
let socketPath: string | null = null;
let kept = false;

test.after(() => {
  spawnSync('tmux', ['-L', SOCK, 'kill-server'], { stdio: 'ignore' });
  if (socketPath) fs.rmSync(socketPath, { force: true });
});

/** fdwatch's dashboard in a pane, its stderr on the terminal (the error line must be readable there). */
function startPane(name: string, args: string[], env: string): string {
  if (!kept) { tmux('new-session', '-d', '-s', 'keep', 'sleep 600'); kept = true; }
  const rc = path.join(tmp, `${name}.rc`);
  const cmd = `cd ${q(tmp)} && ${env} ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')}; echo $? >${q(rc)}; sleep 60`;
  tmux('new-session', '-d', '-x', '110', '-y', '30', '-s', name, cmd);
  socketPath ??= tmux('display-message', '-p', '-t', name, '#{socket_path}').trim();
  return rc;
}

function fdwatchIn(name: string): number | null {
  const pane = Number(tmux('display-message', '-p', '-t', name, '#{pane_pid}').trim());
  for (const p of descendantsOf(pane)) {
    try { if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(BIN)) return p; } catch { /* gone */ }
  }
  return null;
}

for (const how of ['throw', 'reject'] as const) {
  test(`dashboard: an internal error (${how === 'throw' ? 'an exception' : 'a rejected promise'}) restores the terminal, shows the one line, detaches, exit 70`, async () => {
    assert.ok(haveTmux, 'tmux is needed');
    const p = await passer();
    const name = `dash-${how}`;
    const json = path.join(tmp, `${name}.ndjson`);
    const rc = startPane(name, ['--backend', 'strace', String(p.pid), '--json', json], `FDWATCH_TEST_THROW=usr2:${how}`);
    try {
      await until('attached', () => (procStateOrNull(p.pid)?.tracer ?? 0) > 0, 10_000);
      const child = await p.go();
      await waitFor(name, 'the transfer on the dashboard', (s) => /SCM_RIGHTS/.test(s) && /\/etc\/hostname/.test(s), 10_000);
      assert.is(tmux('display-message', '-p', '-t', name, '#{alternate_on}').trim(), '1', 'the dashboard is on the alternate screen');
      const fw = fdwatchIn(name)!;
      process.kill(fw, 'SIGUSR2');
      await until('fdwatch exited', () => fs.existsSync(rc) && fs.readFileSync(rc, 'utf8').trim() !== '', 5000);
      assert.is(fs.readFileSync(rc, 'utf8').trim(), '70');
      // back on the normal screen, the line readable there, no stack
      assert.is(tmux('display-message', '-p', '-t', name, '#{alternate_on}').trim(), '0', 'the alternate screen is left');
      const screen = tmux('capture-pane', '-p', '-J', '-t', name);
      const said = screen.split('\n').filter((l) => LINE.test(l));
      assert.is(said.length, 1, screen);
      assert.match(said[0]!, /test fault on SIGUSR2/);
      assert.not.match(screen, STACK);
      const mode = execFileSync('stty', ['-a', '-F', paneTty(name)], { encoding: 'utf8', timeout: 5000 });
      assert.match(mode, /(^|\s)icanon(\s|$)/, 'the terminal is out of raw mode');
      assert.match(mode, /(^|\s)echo(\s|$)/);
      const recs = summaryNoted(json, /test fault on SIGUSR2/);
      assert.is(transfers(recs).length, 2);
      for (const pid of [p.pid, child]) assert.is(procStateOrNull(pid)?.tracer, 0, `${pid}: TracerPid 0`);
    } finally {
      cleanup();
      try { tmux('kill-session', '-t', name); } catch { /* gone */ }
    }
  });
}

function paneTty(name: string): string {
  return tmux('display-message', '-p', '-t', name, '#{pane_tty}').trim();
}

// ---------------------------------------------------------------- replay

const LOG = path.join(root, 'fixtures', 'traces', 'send_fds', 'f-yy.log');

function replayJson(name: string, env: NodeJS.ProcessEnv): { code: number | null; err: string; json: string } {
  const json = path.join(tmp, `${name}.ndjson`);
  const r = spawnSync(process.execPath, [BIN, 'replay', LOG, '--json', json], { encoding: 'utf8', cwd: tmp, env: { ...process.env, ...env }, timeout: 30_000 });
  return { code: r.status, err: r.stderr, json };
}

test('replay: an internal error at the end keeps every record, the summary last and noted, one line, exit 70', () => {
  const clean = replayJson('clean', {});
  assert.is(clean.code, 0, clean.err);
  const want = fs.readFileSync(clean.json, 'utf8').trim().split('\n');
  // the summary is the last record the output handles: the fault comes as the trace ends
  const cut = replayJson('at-end', { FDWATCH_TEST_THROW: `record:${want.length}` });
  const recs = assertInternalEnd(cut.code, cut.err, cut.json, /test fault at record \d+ \(FDWATCH_TEST_THROW\)/);
  const got = fs.readFileSync(cut.json, 'utf8').trim().split('\n');
  assert.equal(got.slice(0, -1), want.slice(0, -1), 'every record before the summary, as a clean replay writes them');
  const s = recs[recs.length - 1] as SummaryRecord;
  const cleanSummary = JSON.parse(want[want.length - 1]!) as SummaryRecord;
  assert.equal({ ...s, cleanEnd: true, error: undefined }, { ...cleanSummary, error: undefined }, 'the same counts');
});

test('replay: an exception on one event is counted and skipped, the replay goes on and exits 0', () => {
  const clean = replayJson('clean2', {});
  const want = records(clean.json);
  const r = replayJson('skip', { FDWATCH_TEST_THROW: 'record:5' });
  assert.is(r.code, 0, r.err);
  assert.not.match(r.err, LINE);
  assert.not.match(r.err, STACK);
  const recs = records(r.json);
  const s = recs[recs.length - 1] as SummaryRecord;
  assert.is(s.internalErrors, 1);
  assert.is(s.internalErrorSample, 'test fault at record 5 (FDWATCH_TEST_THROW)');
  assert.is(transfers(recs).length, transfers(want).length, 'every transfer still found');
  assert.match(r.err, /1 trace events skipped on an internal error/);
});

test('the end of a trace that throws still emits the summary (counts so far, error noted), then throws', () => {
  // the nscd trace ends with transfers still in flight: their records come out as the session ends
  const log = fs.readFileSync(path.join(root, 'fixtures', 'traces', 'nscd', 'f.log'), 'utf8').split('\n');
  const out: FdwatchRecord[] = [];
  const session = new TraceSession((r) => {
    if (r.type === 'transfer' && r.state === 'in-flight') throw new TypeError('a view that cannot take an fd in flight');
    out.push(r);
  }, { source: 'nscd' });
  const src = session.source(null);
  log.forEach((l, i) => { if (l) session.line(l, i + 1, src); });
  assert.throws(() => session.end(), /a view that cannot take an fd in flight/);
  const s = out[out.length - 1] as SummaryRecord;
  assert.is(s.type, 'summary');
  assert.is(s.cleanEnd, false);
  assert.is(s.error, 'internal: a view that cannot take an fd in flight');
  assert.ok(s.transfers.inFlight > 0 && s.lines === log.filter(Boolean).length, JSON.stringify(s));
});

// ---------------------------------------------------------------- live, eBPF

const why = bpfUnavailable();
if (why) console.log(`  eBPF internal-error test skipped: ${why}`);
(why ? test.skip : test)('eBPF, attached: an internal error ends bpftrace, writes the summary, one line, exit 70', async () => {
  const p = await passer();
  const json = path.join(tmp, 'bpf.ndjson');
  const r = fdwatch(['--backend', 'bpf', '--bpf-engine', 'bpftrace', '--no-tui', '--json', json, String(p.pid)], { FDWATCH_TEST_THROW: 'usr2:throw' });
  try {
    await r.waitFor(new RegExp(`attached to ${p.pid} .*via eBPF`), 30_000);
    await p.go();
    await r.waitFor(/--SCM_RIGHTS-->.*delivered/, 10_000);
    const bpftrace = descendantsOf(r.child.pid!).filter((d) => { try { return fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'bpftrace'; } catch { return false; } });
    assert.is(bpftrace.length, 1, 'bpftrace runs');
    r.child.kill('SIGUSR2');
    const e = await Promise.race([r.exit, new Promise<null>((res) => setTimeout(() => res(null), 8000))]);
    assert.ok(e !== null, `fdwatch exits; stderr:\n${r.err()}`);
    const recs = assertInternalEnd(e!.code, r.err(), json, /test fault on SIGUSR2/);
    assert.is(transfers(recs).filter((t) => t.state === 'delivered').length, 2);
    assert.equal((recs[recs.length - 1] as SummaryRecord).backend, 'bpf');
    // the kernel detaches each probe of the killed bpftrace as its files close: that may take seconds
    await until('bpftrace gone', () => { const s = procStateOrNull(bpftrace[0]!); return s === null || s.state === 'Z'; }, 15_000, 50);
  } finally { cleanup(r); }
});

test.run();
