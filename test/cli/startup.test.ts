// Start-up: a command loads only what it uses. CommonJS packages (yargs' get-caller-file, blessed, koffi) show
// in require.cache once loaded, also when ESM imported them; nothing loads yargs any more.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from '../paths.js';

const MAIN = pathToFileURL(path.join(root, 'dist', 'src', 'cli', 'main.js')).href;

/** Runs the CLI with `args` in a node that prints, at exit, the packages it loaded from node_modules. */
function loaded(args: string[]): { code: number | null; out: string; packages: string[] } {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    process.argv = [process.argv[0], 'fdwatch', ...${JSON.stringify(args)}];
    process.on('exit', () => {
      const pk = new Set(Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean));
      process.stderr.write('LOADED ' + JSON.stringify([...pk].sort()) + '\\n');
    });
    await import(${JSON.stringify(MAIN)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: root });
  const m = /^LOADED (.*)$/m.exec(r.stderr);
  assert.ok(m, r.stderr);
  return { code: r.status, out: r.stdout, packages: JSON.parse(m[1]!) as string[] };
}

test('snapshot PID and --help load neither yargs nor blessed; --json - and --json=- agree', () => {
  const idle = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    const pid = String(idle.pid);
    const text = loaded(['snapshot', pid]);
    assert.is(text.code, 0);
    assert.match(text.out, new RegExp(`^PID ${pid} sleep`, 'm'));
    for (const args of [['snapshot', pid], ['--help'], ['replay', '--help'], ['snapshot', '--help']]) {
      const r = args[1] === pid ? text : loaded(args);
      assert.is(r.code, 0, args.join(' '));
      assert.not.ok(r.packages.includes('get-caller-file'), `yargs loaded by ${args.join(' ')}: ${r.packages.join(' ')}`);
      assert.not.ok(r.packages.includes('blessed'), r.packages.join(' '));
      assert.not.ok(r.packages.includes('koffi') && args.includes('--help'), 'koffi for --help');
    }
    const spaced = loaded(['snapshot', '--json', '-', pid]);
    const inline = loaded(['snapshot', pid, '--json=-', '--']);
    const kinds = (s: string): string[] => s.trim().split('\n').map((l) => { const r = JSON.parse(l) as { type: string; fd?: number }; return `${r.type}:${r.fd ?? ''}`; });
    assert.equal(kinds(spaced.out), kinds(inline.out));
    assert.ok(kinds(spaced.out).some((k) => k.startsWith('fd:')), spaced.out);
  } finally {
    idle.kill('SIGKILL');
  }
});

test('--help lists the commands; snapshot errors are one line', () => {
  const h = loaded(['--help']);
  assert.is(h.code, 0);
  assert.match(h.out, /^  snapshot /m);
  const bad = spawnSync(process.execPath, [path.join(root, 'bin', 'fdwatch.js'), 'snapshot', '99999999'], { encoding: 'utf8' });
  assert.equal([bad.status, bad.stderr], [1, 'fdwatch: no such process: 99999999\n']);
});

test('a snapshot exits once its output is written: through a pipe that fills, all of it arrives', () => {
  // a process holding 400 files of 200-character names: a text snapshot of it is over 64 KB, a pipe's capacity
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-exit-'));
  const fds = Array.from({ length: 400 }, (_, i) => fs.openSync(path.join(dir, `${String(i).padStart(4, '0')}-${'x'.repeat(195)}`), 'w'));
  const holder = spawn('sleep', ['1000'], { stdio: ['ignore', 'ignore', 'ignore', ...fds] });
  for (const fd of fds) fs.closeSync(fd);
  try {
    const bin = path.join(root, 'bin', 'fdwatch');
    const direct = spawnSync(bin, ['snapshot', String(holder.pid)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.is(direct.status, 0, direct.stderr);
    assert.ok(direct.stdout.length > 65536, `a snapshot larger than a pipe: ${direct.stdout.length} bytes`);
    assert.match(direct.stdout, /\n1 processes, 40\d fds, /);
    // a reader that takes nothing for a second: the pipe fills (node's write of the rest waits for the reader) before
    // the command is over and exits
    const out = path.join(dir, 'out');
    const slow = spawnSync('bash', ['-c', `set -o pipefail; "$0" snapshot ${holder.pid} | { sleep 1; cat; } > "$1"`, bin, out], { encoding: 'utf8' });
    assert.is(slow.status, 0, slow.stderr);
    assert.is(fs.readFileSync(out, 'utf8'), direct.stdout);
  } finally {
    holder.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Logs, in order, every module node loads (a loader hook) and every process fdwatch spawns (child_process.spawn,
// wrapped before fdwatch imports it)
const LOAD_HOOK = [
  "import fs from 'node:fs';",
  'export async function load(url, context, next) {',
  "  fs.appendFileSync(process.env.FDWATCH_ORDER_LOG, `load ${url}\\n`);",
  '  return next(url, context);',
  '}',
].join('\n');
const orderHook = (loadHook: string): string => [
  "import { register, syncBuiltinESMExports } from 'node:module';",
  "import cp from 'node:child_process';",
  "import fs from 'node:fs';",
  `register(${JSON.stringify(pathToFileURL(loadHook).href)});`,
  'const spawn = cp.spawn;',
  "cp.spawn = function (file, args, ...rest) { fs.appendFileSync(process.env.FDWATCH_ORDER_LOG, `spawn ${file} ${(args ?? []).join(' ')}\\n`); return spawn.call(this, file, args, ...rest); };",
  'syncBuiltinESMExports();',
].join('\n');

test('fdwatch -- CMD starts strace before it loads the trace pipeline, and never loads the eBPF backend for strace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-startup-'));
  try {
    const loadHook = path.join(dir, 'load.mjs');
    fs.writeFileSync(loadHook, LOAD_HOOK);
    const hook = path.join(dir, 'order.mjs');
    fs.writeFileSync(hook, orderHook(loadHook));
    const log = path.join(dir, 'order.log');
    const json = path.join(dir, 'out.ndjson');
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, path.join(root, 'bin', 'fdwatch.js'),
      '--backend', 'strace', '--no-tui', '--json', json, '--', '/bin/true'], { encoding: 'utf8', env: { ...process.env, FDWATCH_ORDER_LOG: log } });
    assert.is(r.status, 0, r.stderr);
    const order = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const strace = order.findIndex((l) => /^spawn \S*(setpriv|strace) /.test(l));
    const pipeline = order.findIndex((l) => /^load \S*\/dist\/src\/(correlate|tracer)\//.test(l));
    assert.ok(strace >= 0, `strace was spawned: ${order.join('\n')}`);
    assert.ok(pipeline >= 0, 'the pipeline was loaded');
    assert.ok(strace < pipeline, `strace spawned at ${strace}, the pipeline loaded from ${pipeline}:\n${order.slice(0, pipeline + 1).join('\n')}`);
    assert.equal(order.filter((l) => l.includes('/dist/src/bpf/')), [], 'no eBPF module');
    // and the trace is whole: the command's exec and exit, and the summary
    const recs = fs.readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; event?: string; path?: string });
    assert.ok(recs.some((x) => x.type === 'process' && x.event === 'exec' && x.path === '/bin/true'), 'the exec of /bin/true');
    assert.ok(recs.some((x) => x.type === 'process' && x.event === 'exit'), 'its exit');
    assert.is(recs[recs.length - 1]!.type, 'summary');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// bin/fdwatch (package.json's bin, what npm links) starts node without NODE_EXTRA_CA_CERTS, which node parses at every
// start, and with MALLOC_ARENA_MAX=1 where the user set none (a user's value stands), and gives the launched command
// both variables exactly as the user set them (set, set to '', or unset)
test('bin/fdwatch: its node runs without NODE_EXTRA_CA_CERTS and with one malloc arena, the launched command gets both back as given', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-wrapper-'));
  try {
    // as npm links it: a relative symlink in another folder, run from another cwd
    const linkDir = path.join(dir, '.bin');
    fs.mkdirSync(linkDir);
    fs.symlinkSync(path.relative(linkDir, path.join(root, 'bin', 'fdwatch')), path.join(linkDir, 'fdwatch'));
    for (const [given, arena] of [['/etc/ssl/certs/none-such.pem', null], ['', '2'], [null, '']] as const) {
      const env: NodeJS.ProcessEnv = { ...process.env, FDWATCH_NODE_EXTRA_CA_CERTS: 'stale', FDWATCH_MALLOC_ARENA: '1' };
      delete env['NODE_EXTRA_CA_CERTS'];
      delete env['MALLOC_ARENA_MAX'];
      if (given !== null) env['NODE_EXTRA_CA_CERTS'] = given;
      if (arena !== null) env['MALLOC_ARENA_MAX'] = arena;
      const fifo = path.join(dir, 'ready');
      fs.rmSync(fifo, { force: true });
      spawnSync('mkfifo', [fifo]);
      const out = path.join(dir, 'seen');
      // the command reports the variable, then blocks on the FIFO: fdwatch's node is alive while the test reads it
      const cmd = `printf '%s' "\${NODE_EXTRA_CA_CERTS-unset}|\${FDWATCH_NODE_EXTRA_CA_CERTS-unset}|\${MALLOC_ARENA_MAX-unset}|\${FDWATCH_MALLOC_ARENA-unset}" > ${out}; read x < ${fifo}`;
      const child = spawn(path.join(linkDir, 'fdwatch'), ['--backend', 'strace', '--no-tui', '--json', '/dev/null', '--', 'sh', '-c', cmd],
        { cwd: os.tmpdir(), env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // opening the FIFO's write end waits for the command's read: the readiness signal
      const w = await fs.promises.open(fifo, 'w');
      const nodeEnv = fs.readFileSync(`/proc/${child.pid}/environ`, 'latin1').split('\0');
      const comm = fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
      await w.write('go\n');
      await w.close();
      assert.is(await exited, 0, err);
      assert.is(comm, 'node', 'the wrapper execs node');
      assert.equal(nodeEnv.filter((e) => e.startsWith('NODE_EXTRA_CA_CERTS=')), [], 'node started without it');
      assert.equal(nodeEnv.filter((e) => e.startsWith('MALLOC_ARENA_MAX=')), [`MALLOC_ARENA_MAX=${arena ?? '1'}`], 'one arena unless the user chose');
      assert.is(fs.readFileSync(out, 'utf8'), `${given ?? 'unset'}|unset|${arena ?? 'unset'}|unset`, `given ${JSON.stringify([given, arena])}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
