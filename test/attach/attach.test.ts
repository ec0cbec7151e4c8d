// `fdwatch PID` on a daemon that is already running, as users run it: a pre-forking server (master + workers made
// before the attach), the dashboard under tmux, deliveries to workers nobody traces, a worker killed with fds queued.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { AlertRecord, ProcessRecord, SummaryRecord, TransferRecord } from '../../src/model/records.js';
import { root } from '../paths.js';
import { BIN, fdwatch, records, tmp, type Running } from '../live/run.js';
import { bpfUnavailable } from '../../src/bpf/session.js';

/** Receivers nobody traces are found from /proc under either tracer: each such test runs under both (eBPF where it can). */
const BACKENDS: ReadonlyArray<'strace' | 'bpf'> = bpfUnavailable() === null ? ['strace', 'bpf'] : ['strace'];

/** eBPF's start-up (bpftrace compiling and loading its probes) takes seconds, more on a busy machine */
const ATTACH_MS = 60_000;
/** Every fdwatch a test starts: a test that fails midway must not leave one (and its tracer) running. */
const running: Running[] = [];
function watch(args: string[]): Running {
  const r = fdwatch(args);
  running.push(r);
  return r;
}
test.after(() => { for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL'); });

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SOCK = `fdwatch-attach-${process.pid}`;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;

interface Prefork { child: ChildProcess; master: number; workers: number[]; port: number; lines: () => string; kill: () => void }

/** Starts the pre-forking server and waits for its "ready" line: master and workers exist before any attach. */
async function prefork(env: NodeJS.ProcessEnv = {}): Promise<Prefork> {
  const child = spawn(PY, ['-I', path.join(root, 'fixtures', 'programs', 'prefork.py')], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const ready = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^ready .*$/m.exec(out);
      if (m) resolve(m[0]);
    });
    child.on('exit', () => reject(new Error(`prefork exited: ${out}`)));
  });
  const nums = ready.split(' ').slice(1).map(Number);
  const kill = (): void => {
    for (const w of nums.slice(1, -1)) { try { process.kill(w, 'SIGKILL'); } catch { /* gone */ } }
    child.kill('SIGKILL');
  };
  return { child, master: nums[0]!, workers: nums.slice(1, -1), port: nums[nums.length - 1]!, lines: () => out, kill };
}

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-u', '-L', SOCK, ...args], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' } });
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

test('dashboard (no --backend: eBPF where it can): an idle pre-forked master shows at once, with comm, uid, its fd table, mappings and threads; q is a clean end', async () => {
  assert.ok(haveTmux, 'tmux is needed for the dashboard tests (.ci/run installs it)');
  const srv = await prefork();
  const json = path.join(tmp, 'attach-tui.ndjson');
  const cmd = `cd ${q(tmp)} && env -u NO_COLOR LANG=C.UTF-8 ${q(process.execPath)} ${q(BIN)} --json ${q(json)} ${srv.master}; echo EXIT=$?; sleep 60`;
  tmux('new-session', '-d', '-x', '120', '-y', '40', '-s', 'a', cmd);
  const socketPath = tmux('display-message', '-p', '-t', 'a', '#{socket_path}').trim();
  try {
    let screen = '';
    // nothing happens in the master: everything shown comes from the attach snapshot
    await until('the master and its fds', () => {
      screen = tmux('capture-pane', '-p', '-t', 'a');
      return screen.includes(`attached to ${srv.master}`) && screen.includes(`TCP:[127.0.0.1:${srv.port}]`);
    }, 40_000).catch((e: Error) => { throw new Error(`${e.message}; screen:\n${screen}`); });
    // the comm cell may end with its folded threads (`+1…`)
    assert.match(screen, new RegExp(`${srv.master} +prefork-maste\\S*(?: \\+\\S+)? +0 +\\d+`), 'pid, comm, uid and fd count: ' + screen);
    assert.match(screen, /FD table: prefork-master\[\d+\] \d+ fds/);
    assert.match(screen, /open at attach/);
    assert.match(screen, /rw-s +- \/memfd:prefork-zone \(deleted\)/, 'its shared mapping');
    tmux('send-keys', '-t', 'a', 'q');
    await until('exit', () => /EXIT=\d+/.test(tmux('capture-pane', '-p', '-t', 'a')));
    assert.match(tmux('capture-pane', '-p', '-t', 'a'), /EXIT=0/);
    const recs = records(json);
    const threads = recs.filter((r): r is ProcessRecord => r.type === 'process' && r.event === 'attach' && r.pid === srv.master && r.tid !== undefined);
    assert.is(threads.length, 1, 'its second thread');
    const sum = recs[recs.length - 1] as SummaryRecord;
    assert.equal([sum.type, sum.cleanEnd], ['summary', true], 'q detaches: a clean end');
    // an attach without --backend goes through eBPF when this machine allows it: the daemon is never stopped
    assert.is(sum.backend, BACKENDS.includes('bpf') ? 'bpf' : 'strace', 'the default tracer of an attach');
  } finally {
    try { tmux('kill-server'); } catch { /* gone */ }
    fs.rmSync(socketPath, { force: true });
    srv.kill();
  }
});

const transfers = (f: string): TransferRecord[] => records(f).filter((r): r is TransferRecord => r.type === 'transfer');

for (const backend of BACKENDS) test(`${backend}: attached to the master only (nginx-style channels, both ends kept): deliveries to its untraced workers are named and delivered`, async () => {
  const srv = await prefork({ PREFORK_KEEP: '1' });
  try {
    const json = path.join(tmp, `attach-deliver-${backend}.ndjson`);
    const r = watch(['--backend', backend, '--no-tui', '--json', json, String(srv.master)]);
    await r.waitFor(new RegExp(`attached to ${srv.master}`), ATTACH_MS);
    srv.child.stdin!.write('send\n');
    for (const w of srv.workers) await r.waitFor(new RegExp(`prefork-worker\\[${w}\\] fd \\d+ +/etc/hostname +delivered`));
    r.child.kill('SIGINT');
    const e = await r.exit;
    assert.is(e.code, 130, r.err());
    assert.match(r.out(), new RegExp(`prefork-master\\[${srv.master}\\] ATTACH thread \\d+`), 'its thread, told apart from the process');
    const t = transfers(json);
    assert.is(t.length, 4, JSON.stringify(t));
    for (const x of t) {
      assert.is(x.state, 'delivered');
      assert.is(x.reason, undefined, 'no reason: nothing was lost');
      assert.ok(x.to !== null && x.to.fd !== null, 'the fd it became in the worker');
    }
    // each worker named after the channel it reads, the second one included
    const peerOf = (x: TransferRecord): string => /->(\d+)\]/.exec(x.from.socket ?? '')![1]!;
    const byWorker = new Map<number, Set<string>>();
    for (const x of t) { const s = byWorker.get(x.to!.pid!) ?? new Set(); s.add(peerOf(x)); byWorker.set(x.to!.pid!, s); }
    assert.equal([...byWorker.keys()].sort(), [...srv.workers].sort());
    assert.ok([...byWorker.values()].every((s) => s.size === 1), 'one channel per worker');
    for (const x of t) assert.is(x.to!.socket, `UNIX-STREAM:[${peerOf(x)}->${/\[(\d+)->/.exec(x.from.socket!)![1]}]`);
    assert.ok(t.filter((x) => x.kind === 'socket').every((x) => x.confirmed === true), 'kcmp: the listening socket is one open file');
    const recs = records(json);
    assert.not.ok(recs.some((x) => x.type === 'alert'), 'no alerts');
    assert.equal((recs[recs.length - 1] as SummaryRecord).transfers, { delivered: 4, inFlight: 0, lost: 0 });
  } finally { srv.kill(); }
});

for (const backend of BACKENDS) test(`${backend}: a worker stopped, then killed with fds queued on its socket: lost (socket-closed-with-fds), named as the receiver`, async () => {
  const srv = await prefork();
  const [w1, w2] = srv.workers as [number, number];
  try {
    const json = path.join(tmp, `attach-lost-${backend}.ndjson`);
    const r = watch(['--backend', backend, '--no-tui', '--json', json, String(srv.master)]);
    await r.waitFor(new RegExp(`attached to ${srv.master}`), ATTACH_MS);
    process.kill(w2, 'SIGSTOP');
    srv.child.stdin!.write('send\n');
    // fdwatch says when it sees fds wait on an untraced receiver's socket: w2 is named now, while it still holds it
    await r.waitFor(new RegExp(`fdwatch: 2 fds sent to prefork-worker\\[${w2}\\] \\(not traced\\) still queued on its socket`));
    await r.waitFor(new RegExp(`prefork-worker\\[${w1}\\] fd \\d+ +/etc/hostname +delivered`));
    process.kill(w2, 'SIGKILL');
    await r.waitFor(/ALERT socket-closed-with-fds/);
    r.child.kill('SIGINT');
    await r.exit;
    const lost = transfers(json).filter((x) => x.state === 'lost');
    assert.is(lost.length, 2);
    for (const x of lost) {
      assert.equal([x.to?.pid, x.to?.comm, x.to?.fd], [w2, 'prefork-worker', null]);
      assert.is(x.reason, 'receiving socket closed with the fd still queued');
    }
    const a = records(json).filter((x): x is AlertRecord => x.type === 'alert');
    assert.equal(a.map((x) => [x.kind, x.pid]), [['socket-closed-with-fds', w2]]);
    assert.not.ok(transfers(json).some((x) => x.state === 'in-flight'));
  } finally { srv.kill(); }
});

test('choosing as pgrep/lsof do: by comm with --tree (master and workers), --only transfer,alert; by --port; by --path', async () => {
  const srv = await prefork();
  try {
    const json = path.join(tmp, 'attach-tree.ndjson');
    const r = watch(['--no-tui', '--json', json, '--only', 'transfer,alert', 'prefork-master', '--tree']);
    for (const p of [srv.master, ...srv.workers]) await r.waitFor(new RegExp(`attached to ${p}`), ATTACH_MS);
    assert.match(r.err(), new RegExp(`tracing ${srv.master} \\(prefork-master\\): named prefork-master`));
    for (const w of srv.workers) assert.match(r.err(), new RegExp(`tracing ${w} \\(prefork-worker\\): child of ${srv.master}`));
    srv.child.stdin!.write('send\n');
    await until('both workers got their fds', () => (srv.lines().match(/^got /gm) ?? []).length === 2);
    for (const w of srv.workers) await r.waitFor(new RegExp(`prefork-worker\\[${w}\\] fd \\d+ +/etc/hostname +delivered`));
    r.child.kill('SIGINT');
    await r.exit;
    const recs = records(json);
    assert.equal([...new Set(recs.map((x) => x.type))].sort(), ['summary', 'transfer'], 'only transfers (no alerts happened) and the summary');
    const t = recs.filter((x): x is TransferRecord => x.type === 'transfer');
    assert.equal(t.map((x) => x.state), ['delivered', 'delivered', 'delivered', 'delivered']);
    assert.ok(t.every((x) => x.to !== null && x.to.fd !== null && x.to.tid !== null), 'traced receivers: their own receive');
    assert.not.match(r.out(), /ATTACH|OPEN|CLOSE/, 'line mode shows only what --only asks for');
  } finally { srv.kill(); }
  // the holders of a port: the master and the workers that inherited its listening socket
  const srv2 = await prefork();
  try {
    const r = watch(['--no-tui', '--port', String(srv2.port)]);
    for (const p of [srv2.master, ...srv2.workers]) await r.waitFor(new RegExp(`attached to ${p}`), ATTACH_MS);
    assert.match(r.err(), new RegExp(`tracing ${srv2.master} \\(prefork-master\\): holds port ${srv2.port}`));
    r.child.kill('SIGINT');
    assert.is((await r.exit).code, 130);
  } finally { srv2.kill(); }
  // the holders of a file
  const file = path.join(tmp, 'held-file');
  fs.writeFileSync(file, 'x');
  const held = fs.openSync(file, 'r');
  const holder = spawn('sleep', ['100'], { stdio: [held, 'ignore', 'ignore'] });
  fs.closeSync(held);
  try {
    const r = watch(['--no-tui', '--path', file]);
    await r.waitFor(new RegExp(`attached to ${holder.pid}`), ATTACH_MS);
    assert.match(r.err(), new RegExp(`tracing ${holder.pid} \\(sleep\\): holds ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    r.child.kill('SIGINT');
    await r.exit;
  } finally { holder.kill('SIGKILL'); }
  const none = watch(['--no-tui', '--port', '1']);
  assert.is((await none.exit).code, 1);
  assert.is(none.err(), 'fdwatch: no process holds port 1\n');
});

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p)) ?? null;

for (const backend of BACKENDS) test(`${backend}: a real nginx master attached alone, then reloaded: channels passed to its old workers (not traced) are delivered to them`, async () => {
  if (!NGINX) { console.log('  (nginx not installed: apt-get install nginx-light; skipped)'); return; }
  const prefix = fs.mkdtempSync(path.join(tmp, `nginx-${backend}-`));
  const port = await new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), [
    'worker_processes 2;', `pid ${prefix}/nginx.pid;`, `error_log ${prefix}/error.log;`, 'events { worker_connections 64; }',
    `http { access_log off; client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;`,
    `  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } } }`,
  ].join('\n'));
  const ngx = spawn(NGINX, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  const master = ngx.pid!;
  const kids = (): number[] => { try { return fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; } };
  try {
    await until('two workers', () => kids().length === 2);
    const old = kids();
    const json = path.join(tmp, `nginx-${backend}.ndjson`);
    const r = watch(['--backend', backend, '--no-tui', '--json', json, String(master)]);
    await r.waitFor(new RegExp(`attached to ${master}`), ATTACH_MS);
    process.kill(master, 'SIGHUP'); // reload: new workers, whose channels the master passes to every other worker
    for (const w of old) await r.waitFor(new RegExp(`nginx\\[${master}\\] fd \\d+ +--SCM_RIGHTS--> +nginx\\[${w}\\] fd \\S+ +UNIX-STREAM\\S* +delivered`));
    await until('the old workers gone', () => old.every((w) => !fs.existsSync(`/proc/${w}`) || /State:\s+Z/.test(fs.readFileSync(`/proc/${w}/status`, 'utf8'))));
    r.child.kill('SIGINT');
    await r.exit;
    const t = transfers(json);
    const toOld = t.filter((x) => x.to !== null && old.includes(x.to.pid ?? -1));
    assert.ok(toOld.length >= 2, JSON.stringify(t));
    assert.ok(toOld.every((x) => x.state === 'delivered' && x.kind === 'socket' && x.to!.comm === 'nginx'), JSON.stringify(toOld));
    assert.not.ok(t.some((x) => x.state !== 'delivered'), 'nothing in flight or lost: ' + JSON.stringify(t.filter((x) => x.state !== 'delivered')));
    const alerts = records(json).filter((x): x is AlertRecord => x.type === 'alert');
    // the root master's channels reach unprivileged workers: a uid crossing (info), nothing never received
    assert.equal(alerts.filter((a) => a.kind !== 'uid-crossing'), [], 'no "never received" alerts');
    assert.ok(alerts.every((a) => a.fromUid === 0 && a.toUid !== 0 && a.file === null), JSON.stringify(alerts));
    assert.is((records(json).pop() as SummaryRecord).cleanEnd, true);
  } finally {
    const left = kids(); // read before the master goes: then its workers are nobody's children
    ngx.kill('SIGKILL');
    for (const k of left) { try { process.kill(k, 'SIGKILL'); } catch { /* gone */ } }
  }
});

test.run();
