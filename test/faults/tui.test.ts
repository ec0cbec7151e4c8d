// Faults under the live dashboard, in tmux: a --json file that cannot be written, a signal to fdwatch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, tmp, procStateOrNull, descendantsOf, until, untraced, killAll } from '../live/run.js';

const SOCK = `fdwatch-faults-${process.pid}`;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
let socketPath: string | null = null;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-u', '-L', SOCK, ...args], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' } });
}
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

let kept = false;

/** fdwatch in a tmux pane; its stderr and exit status land in files (their paths are returned). */
function start(name: string, args: string[]): { err: string; rc: string } {
  // a session that lives as long as the file, so the server never exits (and races the next new-session)
  if (!kept) { tmux('new-session', '-d', '-s', 'keep', 'sleep 600'); kept = true; }
  const err = path.join(tmp, `${name}.err`);
  const rc = path.join(tmp, `${name}.rc`);
  const cmd = `cd ${q(tmp)} && ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')} 2>${q(err)}; echo $? >${q(rc)}; sleep 60`;
  tmux('new-session', '-d', '-x', '100', '-y', '30', '-s', name, cmd);
  socketPath ??= tmux('display-message', '-p', '-t', name, '#{socket_path}').trim();
  return { err, rc };
}

function panePid(name: string): number {
  return Number(tmux('display-message', '-p', '-t', name, '#{pane_pid}').trim());
}

/** The fdwatch node process under the pane's shell. */
function fdwatchPid(name: string): number | null {
  for (const p of descendantsOf(panePid(name))) {
    try { if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(BIN)) return p; } catch { /* gone */ }
  }
  return null;
}

const capture = (name: string): string => tmux('capture-pane', '-p', '-t', name);

test.after(() => {
  spawnSync('tmux', ['-L', SOCK, 'kill-server'], { stdio: 'ignore' });
  // the server's socket file outlives it when nobody reaps the server (a container's pid 1 may not)
  if (socketPath) fs.rmSync(socketPath, { force: true });
});

test('dashboard, --json /dev/full: the tracee is freed within 1 s with no key sent, the error shows, q exits 1', async () => {
  assert.ok(haveTmux, 'tmux is needed (.ci/run installs it)');
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  const p = sleeper.pid!;
  const s = 'full';
  const f = start(s, ['--backend', 'strace', String(p), '--json', '/dev/full']);
  const all = new Set<number>([p]);
  try {
    await until('attached', () => (procStateOrNull(p)?.tracer ?? 0) > 0, 10_000);
    const fw = fdwatchPid(s)!;
    for (const d of descendantsOf(fw)) all.add(d);
    all.add(fw);
    // the first flush (250 ms after start) fails; detaching takes well under a second after that
    const ms = await until(`tracee ${p} freed`, () => untraced(p), 3000);
    assert.ok(ms < 1250, `freed ${ms} ms after attach (flush period 250 ms + 1 s)`);
    await until('the error on the dashboard', () => /cannot write \/dev\/full/.test(capture(s)), 3000);
    assert.not.ok(fs.existsSync(f.rc), 'the dashboard stays on the final state until q');
    tmux('send-keys', '-t', s, 'q');
    await until('fdwatch exited', () => fs.existsSync(f.rc) && fs.readFileSync(f.rc, 'utf8').trim() !== '', 5000);
    assert.is(fs.readFileSync(f.rc, 'utf8').trim(), '1');
    const err = fs.readFileSync(f.err, 'utf8');
    assert.is(err.split('\n').filter((l) => /cannot write/.test(l)).length, 1, err);
    assert.match(err, /^fdwatch: cannot write \/dev\/full: no space left on device \(ENOSPC\)/m);
    assert.not.match(err, /^\s+at |Error: /m);
  } finally {
    killAll(all);
    try { tmux('kill-session', '-t', s); } catch { /* gone */ }
  }
});

test('dashboard: SIGTERM to fdwatch detaches and exits 128 + 15, like line mode', async () => {
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  const p = sleeper.pid!;
  const s = 'term';
  const json = path.join(tmp, 'term.ndjson');
  const f = start(s, ['--backend', 'strace', String(p), '--json', json]);
  const all = new Set<number>([p]);
  try {
    await until('attached', () => (procStateOrNull(p)?.tracer ?? 0) > 0, 10_000);
    const fw = fdwatchPid(s)!;
    all.add(fw);
    process.kill(fw, 'SIGTERM');
    await until('fdwatch exited', () => fs.existsSync(f.rc) && fs.readFileSync(f.rc, 'utf8').trim() !== '', 5000);
    assert.is(fs.readFileSync(f.rc, 'utf8').trim(), '143');
    assert.ok(untraced(p));
    const last = JSON.parse(fs.readFileSync(json, 'utf8').trim().split('\n').pop()!) as { type: string };
    assert.is(last.type, 'summary');
  } finally {
    killAll(all);
    try { tmux('kill-session', '-t', s); } catch { /* gone */ }
  }
});

test.run();
