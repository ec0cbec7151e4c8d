// The text report of `fdwatch replay` stays bounded: a fold of the records into the view model, which keeps
// LIMITS.processes processes (exited ones leave first), and a line for the rest.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LIMITS } from '../../src/view/model.js';
import { root } from '../paths.js';

test('text report: running processes and the last exited ones; how many were left out', () => {
  // made and removed here: an after-hook does not run when another test file crashes uvu
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-report-'));
  try { report(tmp); } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
});

function report(tmp: string): void {
  const n = LIMITS.processes + 25;
  const lines = ['100  execve("/bin/sh", ["sh"], 0x7ffd /* 3 vars */) = 0'];
  for (let i = 0; i < n; i++) {
    const pid = 1000 + i;
    lines.push(
      `100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f3c) = ${pid}`,
      `${pid}  openat(AT_FDCWD, "/etc/p${i}", O_RDONLY) = 3</etc/p${i}>`,
      `${pid}  exit_group(0) = ?`,
      `${pid}  +++ exited with 0 +++`,
    );
  }
  const log = path.join(tmp, 'many.log');
  fs.writeFileSync(log, lines.join('\n') + '\n');
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'fdwatch.js'), 'replay', log], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout;
  // the running shell stays; of the exited ones the first 26 leave (26 + the shell's room), the last ones stay
  assert.match(out, /^  sh\[100\] /m);
  assert.not.match(out, /\/etc\/p25\b/);
  assert.match(out, /\/etc\/p26\b/);
  assert.match(out, new RegExp(`/etc/p${n - 1}\\b`));
  assert.match(out, new RegExp(`\\(26 earlier processes left out: the report keeps ${LIMITS.processes}, exited ones go first; --json has every record\\)`));
  assert.match(out, new RegExp(`${n + 1} processes`), 'the summary counts every process');
}

test.run();
