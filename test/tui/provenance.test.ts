// The real dashboard in tmux over the relay fixture (three hops of one open file): Enter on D's fd 7 shows its
// history, every hop with the pids the programs printed, in order; Esc closes it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';
import { q, tmuxServer } from './tmux.js';
import { relayPids } from '../view/relay.js';

const SOCK = `fdwatch-prov-${process.pid}`;
const { tmux, waitFor } = tmuxServer(SOCK);
const ENTRY = path.join(root, 'dist', 'test', 'tui', 'entry.js');
const TRACE = path.join(root, 'fixtures', 'traces', 'relay', 'f-yy.log');
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-tui-prov-'));



test('Enter on D\'s fd 7: the history from A\'s open through B, C and D to the dup and the r--s mapping; Esc closes it', async () => {
  assert.ok(haveTmux, 'tmux is needed for the dashboard tests (.ci/run installs it)');
  const { A, B, C, D } = relayPids('f-yy');
  const s = 'prov';
  // a session that outlives the test's own, so the server does not exit under it (as in e2e.test.ts)
  tmux('new-session', '-d', '-s', 'keep', 'sleep 600');
  const cmd = `cd ${q(tmp)} && env -u NO_COLOR -u LC_ALL LANG=C.UTF-8 ${q(process.execPath)} ${q(ENTRY)} ${q(TRACE)}; echo EXIT=$?; sleep 120`;
  tmux('new-session', '-d', '-x', '120', '-y', '50', '-s', s, cmd);
  try {
    await waitFor(s, 'the replay to finish', (x) => /\bdone\b/.test(x) && x.includes('Transfers 2'));
    tmux('send-keys', '-t', s, 'x', '/');
    tmux('send-keys', '-t', s, '-l', String(D));
    tmux('send-keys', '-t', s, 'Enter', 'G');
    await waitFor(s, `D's fd table`, (x) => x.includes(`FD table: relay[${D}]`));
    tmux('send-keys', '-t', s, 'Tab', 'G', 'Enter');
    const screen = await waitFor(s, 'the history overlay', (x) => x.includes('history of ofd:') && x.includes('mapped fd 7'));
    const body = screen.split('\n').map((l) => l.replace(/^.*?│ {1,3}/, '').replace(/ *│.*$/, '')).join('\n');
    const hops = [
      `relay[${A}] opened /tmp/fdwatch-fx/relay.data as fd 3 (openat)`,
      `relay[${B}] inherited fd 3 from relay[${A}] at fork (clone)`,
      `relay[${C}] received it as fd 6 from relay[${B}] fd 3 over UNIX-STREAM:[`,
      `relay[${D}] received it as fd 3 from relay[${C}] fd 6 over UNIX-STREAM:[`,
      `relay[${D}] dup'ed fd 3 to fd 7 (dup2)`,
      `relay[${D}] mapped fd 7 r--s 0x`,
    ];
    const at = hops.map((h) => body.indexOf(h));
    assert.ok(at.every((i) => i >= 0), `${at}\n${screen}`);
    assert.equal(at, [...at].sort((a, b) => a - b), 'in order');
    assert.match(body, /relay\.sock"\] \(SCM_RIGHTS, recvmsg\)/, 'B -> C over the socket C listens on, by path (wrapped)');
    tmux('send-keys', '-t', s, 'Escape');
    await waitFor(s, 'the overlay to close', (x) => !x.includes('history of ofd:') && x.includes(`FD table: relay[${D}]`));
    tmux('send-keys', '-t', s, 'q');
    await waitFor(s, 'exit', (x) => x.includes('EXIT=0'));
  } finally {
    try { tmux('kill-server'); } catch { /* gone */ }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
