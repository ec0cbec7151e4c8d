// `fdwatch PID` on a daemon that is already running, as users run it: a pre-forking server (master + workers made
// before the attach), the dashboard under tmux, deliveries to workers nobody traces, a worker killed with fds queued.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ProcessRecord, SummaryRecord } from '../../src/model/records.js';
import { root } from '../paths.js';
import { BIN, records, tmp } from '../live/run.js';

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

test('dashboard: an idle pre-forked master shows at once, with comm, uid, its fd table, mappings and threads; q is a clean end', async () => {
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
    }).catch((e: Error) => { throw new Error(`${e.message}; screen:\n${screen}`); });
    assert.match(screen, new RegExp(`${srv.master} +prefork-maste\\S* +0 +\\d+`), 'pid, comm, uid and fd count');
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
  } finally {
    try { tmux('kill-server'); } catch { /* gone */ }
    fs.rmSync(socketPath, { force: true });
    srv.kill();
  }
});

test.run();
