// The fd-leak alert in the real dashboard, in tmux: fdwatch launches fixtures/programs/fdleak.c under strace and
// the alerts panel names the leaking receiver and sender; the tidy run's panel stays empty.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';
import { q, tmuxServer } from './tmux.js';

const SOCK = `fdwatch-leak-${process.pid}`;
const { tmux, waitFor } = tmuxServer(SOCK);
const BIN = path.join(root, 'bin', 'fdwatch.js');
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-tui-leak-'));
const EXE = path.join(tmp, 'fdleak');


let kept = false;

function start(name: string, args: string[]): void {
  // a session that lives as long as the file, so the server never exits between tests
  if (!kept) { tmux('new-session', '-d', '-s', 'keep', 'sleep 600'); kept = true; }
  const cmd = `cd ${q(tmp)} && env -u NO_COLOR LANG=C.UTF-8 ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')}; echo EXIT=$?; sleep 120`;
  tmux('new-session', '-d', '-x', '130', '-y', '36', '-s', name, cmd);
}



test('dashboard: fd-leak alerts of the leaking receiver and sender show in the alerts panel; none for the tidy run', async () => {
  assert.ok(haveTmux, 'tmux is needed for the dashboard tests (.ci/run installs it)');
  execFileSync('cc', ['-O1', '-o', EXE, path.join(root, 'fixtures', 'programs', 'fdleak.c')]);
  start('leak', ['--leak-threshold', '16', '--', EXE, 'leak', '40']);
  start('tidy', ['--leak-threshold', '16', '--', EXE, 'tidy', '40']);
  try {
    const leak = await waitFor('leak', 'the command to end with its alerts shown', (x) => x.includes('command exited with status 0') && x.includes('Alerts 4'));
    const rows = leak.split('\n').filter((l) => l.includes('fd-leak'));
    assert.is(rows.length, 4, leak);
    const pidOf = (re: RegExp): string => { const l = rows.find((x) => re.test(x)); assert.ok(l, rows.join('\n')); return /fd-leak +(\d+)/.exec(l!)![1]!; };
    const child = pidOf(/fd-leak +\d+ 16 received, never used\/closed: fd 3 \//);
    const parent = pidOf(/fd-leak +\d+ 16 sent, never closed: fd 4 \//);
    assert.ok(rows.some((l) => new RegExp(`fd-leak +${child} 32 received, never used/closed`).test(l)), rows.join('\n'));
    assert.ok(rows.some((l) => new RegExp(`fd-leak +${parent} 32 sent, never closed`).test(l)), rows.join('\n'));
    assert.match(leak, new RegExp(`\n${parent} +fdleak[^\n]*\n\u2514\u2500${child} +fdleak`), 'the receiver is the child of the sender');
    const tidy = await waitFor('tidy', 'the tidy command to end', (x) => x.includes('command exited with status 0') && x.includes('Transfers 40'));
    assert.match(tidy, /Alerts 0/);
    assert.not.ok(tidy.includes('fd-leak'), tidy);
    tmux('send-keys', '-t', 'leak', 'q');
    tmux('send-keys', '-t', 'tidy', 'q');
    await waitFor('leak', 'the exit status', (x) => x.includes('EXIT=0'));
    await waitFor('tidy', 'the exit status', (x) => x.includes('EXIT=0'));
  } finally {
    try { tmux('kill-server'); } catch { /* already gone */ }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
