// Start-up: a command loads only what it uses. CommonJS packages (yargs' get-caller-file, blessed, koffi) show
// in require.cache once loaded, also when ESM imported them; nothing loads yargs any more.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
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

test.run();
