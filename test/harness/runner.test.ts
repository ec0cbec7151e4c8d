// The test runner itself (test/run.ts), run for real on a folder of small test files that pass, fail, crash,
// hang, and declare nothing: every file runs whatever another one does, and the closing line adds them up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from '../paths.js';

const RUN = path.join(root, 'dist', 'test', 'run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-runner-'));
const HEAD = [
  `import { test } from ${JSON.stringify(pathToFileURL(path.join(root, 'node_modules', 'uvu', 'dist', 'index.mjs')).href)};`,
  `import * as assert from ${JSON.stringify(pathToFileURL(path.join(root, 'node_modules', 'uvu', 'assert', 'index.mjs')).href)};`,
  `import { spawn } from 'node:child_process';`,
  `import fs from 'node:fs';`,
].join('\n');
// main/: one file of each kind; hang/: a file that never ends, run on its own with a short timeout
const FILES: Record<string, string> = {
  'main/a/pass.test.js': `
    test('adds', () => { assert.is(1 + 1, 2); });
    test('waits', async () => { await new Promise((r) => setTimeout(r, 10)); });
    test.skip('not today', () => {});
    test.run();`,
  // dies of an uncaught exception in its second test, while uvu awaits it
  'main/b/crash.test.js': `
    test('comes first', () => {});
    test('dies mid-test', async () => {
      setImmediate(() => { throw new Error('boom from crash.test.js'); });
      await new Promise(() => {});
    });
    test('never runs', () => {});
    test.run();`,
  'main/c/fail.test.js': `
    test('passes', () => {});
    test('fails on purpose', () => { assert.is(1, 2, 'one is not two'); });
    test('throws on purpose', () => { throw new TypeError('not a function, on purpose'); });
    test.run();`,
  // declared after test.run(): uvu alone would never run it
  'main/c/late.test.js': `
    test('early', () => {});
    test.run();
    test('late', () => { assert.ok(false, 'the late test ran'); });`,
  'main/d/empty.test.js': '// no test at all',
  'main/e/import.test.js': `
    await import('./no-such-module.js');
    test('unreachable', () => {});
    test.run();`,
  // a child in the file's process group, then a wait that never ends
  'hang/h/hang.test.js': `
    test('waits forever', async () => {
      const c = spawn('sleep', ['1000'], { stdio: 'ignore' });
      fs.writeFileSync(process.env.FDWATCH_RUNNER_PIDFILE, String(c.pid));
      await new Promise(() => { setInterval(() => {}, 1000); });
    });
    test.run();`,
};
fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}\n');
for (const [f, body] of Object.entries(FILES)) {
  fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
  fs.writeFileSync(path.join(dir, f), `${HEAD}\n${body}\n`);
}
const PIDFILE = path.join(dir, 'hang.pid');
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(sub: string, ...args: string[]): { code: number | null; out: string; last: string } {
  const r = spawnSync(process.execPath, [RUN, '--dir', path.join(dir, sub), ...args], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, FDWATCH_RUNNER_PIDFILE: PIDFILE },
  });
  return { code: r.status, out: r.stdout + r.stderr, last: r.stdout.trimEnd().split('\n').pop() ?? '' };
}

/** Running (not gone, not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('a crash, a failure, a late test and an empty file are each reported by name; every file still runs', () => {
  const r = run('main', '--jobs', '2');
  assert.is(r.code, 1, r.out);
  assert.is(r.last, '5 passed, 6 failed, 1 skipped', r.out);
  for (const want of [
    'ok    a/pass.test.js  (2/2, 1 skipped)',
    // the crashed file: the test it died in, and its stderr
    'b/crash.test.js: exited with code 1 during test "dies mid-test"\n      Error: boom from crash.test.js',
    '    | Error: boom from crash.test.js\n    |     at Immediate.<anonymous>',
    // the files after it ran, and each failure shows its name and its error
    'c/fail.test.js › fails on purpose\n      one is not two  (is)',
    'c/fail.test.js › throws on purpose\n      not a function, on purpose',
    'c/late.test.js › late\n      the late test ran',
    'd/empty.test.js: ran no tests',
    `e/import.test.js: exited with code 1 before its first test\n      Error [ERR_MODULE_NOT_FOUND]: Cannot find module '${path.join(dir, 'main', 'e', 'no-such-module.js')}'`,
  ]) assert.ok(r.out.includes(want), `missing ${JSON.stringify(want)} in:\n${r.out}`);
  assert.not.ok(r.out.includes('never runs'), 'a test after the crash did not run');
});

test('FILTER runs the matching files only; no match is a failure, not a pass', () => {
  const a = run('main', 'a/');
  assert.is(a.code, 0, a.out);
  assert.is(a.last, '2 passed, 0 failed, 1 skipped', a.out);
  assert.not.ok(a.out.includes('crash.test.js'), a.out);
  const none = run('main', 'no-such-test');
  assert.is(none.code, 1, none.out);
  assert.is(none.last, '0 passed, 0 failed', none.out);
  assert.ok(none.out.includes('matches "no-such-test"'), none.out);
});

test('a file that hangs is killed at --timeout with what it started, and named with its test', () => {
  fs.rmSync(PIDFILE, { force: true });
  // long enough for node to reach the test on a loaded machine
  const r = run('hang', '--timeout', '3');
  assert.ok(fs.existsSync(PIDFILE), `the hanging test never started:\n${r.out}`);
  const pid = Number(fs.readFileSync(PIDFILE, 'utf8'));
  try {
    assert.is(r.code, 1, r.out);
    assert.is(r.last, '0 passed, 1 failed', r.out);
    assert.ok(r.out.includes('h/hang.test.js: timed out after 3 s and was killed during test "waits forever"'), r.out);
    assert.not.ok(alive(pid), `sleep ${pid} outlived its test file`);
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test('bad options: one line naming the problem, exit 2', () => {
  const r = spawnSync(process.execPath, [RUN, '--jobs', 'zero'], { encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /^run: --jobs takes a whole number >= 1, not zero\n/);
});

test.run();
