// The start-up snapshots (npm run build: dist/blob/fdwatch.blob and snapshot.blob, scripts/blob-entry.cjs): bin/fdwatch starts from
// it when it is usable and takes the ESM path (bin/fdwatch.js) otherwise; both give the same output, errors and
// exit statuses. Which path ran is read from strace's record of the wrapper's exec.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

const BLOB_DIR = path.join(root, 'dist', 'blob');
const LOG = path.join(root, 'fixtures', 'traces', 'send_fds', 'f-yy.log');

interface Run { code: number | null; out: string; err: string; blob: boolean; execs: string[] }

/** Runs `bin` (a bin/fdwatch) under strace -f -e execve: its output, the node processes it started (their execve
 * lines) and whether the first, fdwatch's, started from a blob. */
function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const trace = path.join(tmp, `exec.${process.hrtime.bigint()}`);
  const r = spawnSync('strace', ['-qq', '-f', '-s', '512', '-e', 'trace=execve', '-e', 'signal=none', '-o', trace, bin, ...args],
    { encoding: 'utf8', cwd: tmp, env: { ...process.env, ...env }, timeout: 60_000 });
  const execs = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => / = 0$/.test(l) && /execve\("[^"]*node"/.test(l));
  fs.rmSync(trace);
  assert.ok(execs.length >= 1, `node ran: ${r.stderr}`);
  return { code: r.status, out: r.stdout, err: r.stderr, blob: execs[0]!.includes('"--snapshot-blob"'), execs };
}

const BIN = path.join(root, 'bin', 'fdwatch');
const both = (args: string[], env: NodeJS.ProcessEnv = {}): [Run, Run] => [run(BIN, args, env), run(BIN, args, { ...env, FDWATCH_BLOB: 'off' })];
/** NDJSON with its times taken out (they are the run's) */
const untimed = (s: string): string => s.replace(/"ts":[\d.]+/g, '"ts":0');

let tmp = '';
test.before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-blob-')); });
test.after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

test('npm run build made a blob for this node; bin/fdwatch starts from it, FDWATCH_BLOB=off does not', () => {
  assert.ok(fs.existsSync(path.join(BLOB_DIR, 'fdwatch.blob')), 'dist/blob/fdwatch.blob');
  assert.is(fs.readFileSync(path.join(BLOB_DIR, 'node-path'), 'utf8').trim(), process.execPath);
  const [blob, esm] = both(['--version']);
  assert.ok(blob.blob, 'from the blob');
  assert.not.ok(esm.blob, 'the ESM path');
  assert.equal([blob.code, blob.out, blob.err], [0, esm.out, '']);
  assert.match(blob.out, /^\d+\.\d+\.\d+\n$/);
});

test('snapshot, --help and --version start from the smaller blob of the snapshot command; the other commands from the whole one', () => {
  const small = path.join(BLOB_DIR, 'snapshot.blob');
  assert.ok(fs.existsSync(small), 'dist/blob/snapshot.blob');
  assert.ok(fs.statSync(small).size < fs.statSync(path.join(BLOB_DIR, 'fdwatch.blob')).size, 'smaller than the whole');
  const idle = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    const blobOf = (args: string[]): string | null => /"--snapshot-blob", "[^"]*\/([\w.]+\.blob)"/.exec(run(BIN, args).execs[0]!)?.[1] ?? null;
    for (const args of [['snapshot', String(idle.pid)], ['snapshot', '--json', '-', String(idle.pid)], ['--help'], ['--version']]) assert.is(blobOf(args), 'snapshot.blob', args.join(' '));
    for (const args of [['replay', LOG], ['replay', '--help']]) assert.is(blobOf(args), 'fdwatch.blob', args.join(' '));
  } finally {
    idle.kill('SIGKILL');
  }
});

test('a command whose modules the snapshot blob lacks compiles them from dist/blob/cjs: the output of the ESM path', () => {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const r = spawnSync(process.execPath, ['--snapshot-blob', path.join(BLOB_DIR, 'snapshot.blob'), '--', 'replay', '--json', '-', LOG], { encoding: 'utf8', env, cwd: tmp });
  const want = run(BIN, ['replay', '--json', '-', LOG], { FDWATCH_BLOB: 'off' });
  assert.ok(want.out.includes('"type":"transfer"'), 'the replay writes transfers');
  assert.equal([r.status, untimed(r.stdout), r.stderr], [0, untimed(want.out), '']);
});

test('NODE_OPTIONS (V8 flags the blob was not built with) takes the ESM path: the command runs, not exit 14', () => {
  const r = run(BIN, ['--version'], { NODE_OPTIONS: '--max-old-space-size=4096' });
  assert.not.ok(r.blob, 'the ESM path');
  assert.equal([r.code, r.err], [0, '']);
  assert.match(r.out, /^\d+\.\d+\.\d+\n$/);
});

test('the blob and the ESM path: the same help, snapshot, replay, errors and exit statuses', () => {
  const idle = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    const pid = String(idle.pid);
    const cases: [string[], number][] = [
      [['--help'], 0],
      [['snapshot', '--help'], 0],
      [['snapshot', pid], 0],
      [['snapshot', '--json', '-', pid], 0],
      [['replay', LOG], 0],
      [['replay', '--json', '-', LOG], 0],
      [['snapshot', '99999999'], 1],
      [['replay', path.join(tmp, 'none-such.log')], 1],
      [['--no-such-option'], 2],
      [['replay'], 2],
    ];
    for (const [args, code] of cases) {
      const [blob, esm] = both(args);
      const what = args.join(' ');
      assert.ok(blob.blob && !esm.blob, what);
      assert.is(blob.code, code, `${what}: ${blob.err}`);
      assert.is(esm.code, code, `${what}: ${esm.err}`);
      assert.is(untimed(blob.out), untimed(esm.out), what);
      assert.is(blob.err, esm.err, what);
    }
  } finally {
    idle.kill('SIGKILL');
  }
});

test('an internal error from the blob: one line, exit 70, the records before it as the ESM path writes them', () => {
  const clean = path.join(tmp, 'clean.ndjson');
  assert.is(run(BIN, ['replay', LOG, '--json', clean]).code, 0);
  const n = fs.readFileSync(clean, 'utf8').trim().split('\n').length;
  const out = (name: string): string => path.join(tmp, `${name}.ndjson`);
  const [blob, esm] = [run(BIN, ['replay', LOG, '--json', out('b')], { FDWATCH_TEST_THROW: `record:${n}` }),
    run(BIN, ['replay', LOG, '--json', out('e')], { FDWATCH_TEST_THROW: `record:${n}`, FDWATCH_BLOB: 'off' })];
  assert.ok(blob.blob && !esm.blob);
  assert.equal([blob.code, blob.err], [70, `fdwatch: internal error: test fault at record ${n} (FDWATCH_TEST_THROW) (FDWATCH_DEBUG=1 shows the stack)\n`]);
  assert.equal([esm.code, esm.err], [blob.code, blob.err]);
  assert.is(fs.readFileSync(out('b'), 'utf8'), fs.readFileSync(out('e'), 'utf8'));
});

test('a moved package starts from its blob (paths are found at run time); a stale or foreign blob is not used', () => {
  // a copy of the package's start: bin/ and the blob copied, the rest linked
  const pkg = path.join(tmp, 'moved');
  fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'dist', 'blob'), { recursive: true });
  for (const f of ['fdwatch', 'fdwatch.js']) fs.copyFileSync(path.join(root, 'bin', f), path.join(pkg, 'bin', f));
  fs.chmodSync(path.join(pkg, 'bin', 'fdwatch'), 0o755);
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  fs.symlinkSync(path.join(root, 'dist', 'src'), path.join(pkg, 'dist', 'src'));
  fs.symlinkSync(path.join(root, 'src'), path.join(pkg, 'src'));
  const blob = path.join(pkg, 'dist', 'blob', 'fdwatch.blob');
  fs.copyFileSync(path.join(BLOB_DIR, 'fdwatch.blob'), blob);
  fs.copyFileSync(path.join(BLOB_DIR, 'node-path'), path.join(pkg, 'dist', 'blob', 'node-path'));
  // node-mtime is a file with the node binary's mtime
  const ref = path.join(pkg, 'dist', 'blob', 'node-mtime');
  assert.is(spawnSync('touch', ['-r', path.join(BLOB_DIR, 'node-mtime'), ref]).status, 0);
  const bin = path.join(pkg, 'bin', 'fdwatch');
  const idle = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    const pid = String(idle.pid);
    const want = run(BIN, ['snapshot', '--json', '-', pid], { FDWATCH_BLOB: 'off' });
    const moved = run(bin, ['snapshot', '--json', '-', pid]);
    assert.ok(moved.blob, moved.err);
    assert.equal([moved.code, untimed(moved.out), moved.err], [0, untimed(want.out), '']);
    // the helper process of src/procfs/scan.ts, spawned by its path (import.meta.url: the moved package's)
    const all = run(bin, ['snapshot', '--json', '/dev/null'], { FDWATCH_SNAPSHOT_THREADS: '2' });
    assert.ok(all.blob);
    assert.is(all.code, 0, all.err);
    const helper = path.join(fs.realpathSync(pkg), 'dist', 'src', 'procfs', 'scan-child.js');
    assert.ok(all.execs.slice(1).some((l) => l.includes(`"${helper}"`)), `the helper from ${helper}: ${all.execs.join('\n')}`);
    const version = run(bin, ['--version']);
    assert.equal([version.blob, version.out], [true, `${JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version}\n`]);

    // not used: dist/src newer than the blob (tsc ran after it), another node binary's mtime, no blob
    const past = new Date(Date.now() - 86_400_000);
    fs.utimesSync(blob, past, past);
    const stale = run(bin, ['snapshot', '--json', '-', pid]);
    assert.not.ok(stale.blob, 'a blob older than dist/src');
    assert.equal([stale.code, untimed(stale.out)], [0, untimed(want.out)]);
    fs.utimesSync(blob, new Date(), new Date());
    assert.ok(run(bin, ['--version']).blob, 'newer again');
    fs.utimesSync(ref, past, past);
    assert.not.ok(run(bin, ['--version']).blob, 'a node binary with another mtime');
    assert.is(spawnSync('touch', ['-r', path.join(BLOB_DIR, 'node-mtime'), ref]).status, 0);
    fs.writeFileSync(path.join(pkg, 'dist', 'blob', 'node-path'), '/usr/local/bin/none-such-node\n');
    assert.not.ok(run(bin, ['--version']).blob, 'another node binary');
    fs.copyFileSync(path.join(BLOB_DIR, 'node-path'), path.join(pkg, 'dist', 'blob', 'node-path'));
    fs.rmSync(blob);
    const none = run(bin, ['snapshot', pid]);
    assert.not.ok(none.blob, 'no blob');
    assert.is(none.code, 0, none.err);
  } finally {
    idle.kill('SIGKILL');
  }
});

test.run();
