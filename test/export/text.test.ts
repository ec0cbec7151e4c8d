// Line mode as a user reads it: every line at the time of the event it reports, in order; a transfer line names
// the other end's time too. Real strace on the real seed and nscd-style programs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-text-'));
const TIME = /^(\d\d):(\d\d):(\d\d)\.(\d{6})  /;
const seconds = (l: string): number => {
  const m = TIME.exec(l)!;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1e6;
};

/** Lines with a time, checked to be in order; returns them. */
function inOrder(text: string): string[] {
  const lines = text.split('\n').filter((l) => TIME.test(l));
  assert.ok(lines.length > 5, text);
  for (let i = 1; i < lines.length; i++) {
    assert.ok(seconds(lines[i]!) >= seconds(lines[i - 1]!), `line ${i} goes back in time:\n${lines[i - 1]}\n${lines[i]}`);
  }
  return lines;
}

function transferLine(lines: string[]): { at: number; sent: number } {
  const l = lines.find((x) => x.includes('--SCM_RIGHTS-->'))!;
  const m = / delivered {2}sent (\d\d):(\d\d):(\d\d)\.(\d{6})/.exec(l);
  assert.ok(m, l);
  return { at: seconds(l), sent: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1e6 };
}

test('--no-tui on the seed program: lines in time order, the transfer at its receive with its send time inside', () => {
  const exe = path.join(tmp, 'seed');
  execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'fixtures', 'programs', 'seed.c')]);
  const r = spawnSync(process.execPath, [BIN, '--no-tui', '--', exe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(r.status, 0, r.stderr);
  const lines = inOrder(r.stderr);
  const t = transferLine(lines);
  assert.ok(t.sent <= t.at);
  // the receiver's RECEIVE fd line and the transfer share the receive's time
  const recv = lines.find((l) => / fd \d+ RECEIVE /.test(l))!;
  assert.is(seconds(recv), t.at);
});

test('recorded -tt -T fixtures: a transfer at its receive with the send time inside; none shown for an unseen send', () => {
  const report = (name: string): string[] => {
    const r = spawnSync(process.execPath, [BIN, 'replay', path.join(root, 'fixtures', 'traces', name, 'tt-T.log'),
      '--date', '2026-01-01'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l.includes('--SCM_RIGHTS-->')).map((l) => l.trim());
  };
  const seed = report('seed');
  assert.is(seed.length, 1);
  const t = transferLine(seed);
  assert.ok(t.sent < t.at, seed[0]); // the child's recvmsg comes after the parent's sendmsg
  // nscd: the broker's sends happened before the trace began (? fd ?), or were never received
  const nscd = report('nscd');
  assert.ok(nscd.length >= 2);
  for (const l of nscd) assert.not.match(l, / (sent|received) \d/);
  assert.ok(nscd.some((l) => / {2}\? fd \? {2}--SCM_RIGHTS-->.* delivered$/.test(l)), nscd.join('\n'));
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
