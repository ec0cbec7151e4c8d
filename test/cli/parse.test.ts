// The command line parser (src/cli/help.ts) on its own, then a few of its errors through the real CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { helpText, parseCommandLine, type Parsed } from '../../src/cli/help.js';
import { UsageError, LiveError } from '../../src/model/errors.js';
import { askedBackend, chooseBackend, setBpfEngine } from '../../src/cli/backend.js';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');

function run(argv: string[]): Extract<Parsed, { kind: 'run' }> {
  const p = parseCommandLine(argv);
  if (p.kind !== 'run') throw new Error(`not a run: ${JSON.stringify(p)}`);
  return p;
}

/** The usage error `argv` gives (its one line), or a failure when it parses. */
function usage(argv: string[]): string {
  try { parseCommandLine(argv); } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    assert.is((e as UsageError).exitCode, 2);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

test('the default command is watch; positionals, repeatable -p/--path/--port, -- and what follows it', () => {
  const p = run(['1', 'nginx', '-p', '2', '-p3', '--pid=4', '--path', '/a', '--path=/b', '--port', '80', '--port', '443', '--', 'ls', '-l', '--json', 'x']);
  assert.is(p.command, 'watch');
  assert.equal(p.positionals, ['1', 'nginx']);
  assert.equal(p.values.pid, ['2', '3', '4']);
  assert.equal(p.values.path, ['/a', '/b']);
  assert.equal(p.values.port, ['80', '443']);
  assert.equal(p.rest, ['ls', '-l', '--json', 'x'], 'options after -- belong to the command');
  assert.is(p.values.json, undefined);
  assert.equal(run(['watch', '5']).positionals, ['5'], 'watch by name');
  assert.is(run(['5']).rest, null, 'no -- no command');
  assert.equal(run(['--', 'true']).rest, ['true']);
});

test('booleans: --no-tui, --tui=false, --tree, --all; a value on a boolean is an error', () => {
  assert.is(run(['--no-tui', '1']).values.tui, false);
  assert.is(run(['--tui', '1']).values.tui, true);
  assert.is(run(['--tui=false', '1']).values.tui, false);
  assert.is(run(['--no-tui=false', '1']).values.tui, true);
  assert.is(run(['1']).values.tui, undefined, 'the runner picks the default');
  assert.equal([run(['--tree', '--all']).values.tree, run(['--tree', '--all']).values.all], [true, true]);
  assert.is(run(['replay', 't', '--tui']).values.tui, true);
  assert.is(usage(['--tui=3']), '--tui takes no value: --tui=3');
  assert.is(usage(['--no-json', 'x']), 'Unknown argument: no-json (see --help)', 'only booleans have a --no- form');
});

test('values: separate, inline, - for stdout; a missing one is the option\'s own line', () => {
  assert.is(run(['snapshot', '--json', '-', '1']).values.json, '-');
  assert.equal(run(['snapshot', '--json', '-', '1']).positionals, ['1']);
  assert.is(run(['snapshot', '--json=out.ndjson']).values.json, 'out.ndjson');
  assert.is(run(['replay', '-']).positionals[0], '-', 'a lone - is the trace (stdin)');
  assert.is(usage(['replay', 't', '--json']), '--json needs a file name (or - for stdout)');
  assert.is(usage(['replay', 't', '--json=']), '--json needs a file name (or - for stdout)');
  assert.is(usage(['--json', '--tui', '1']), '--json needs a file name (or - for stdout)', 'an option is not a value');
  assert.is(usage(['1', '--dot']), '--dot needs a file name (graph.dot)');
  assert.is(usage(['-p']), '--pid needs a value (PID)');
  assert.equal(run(['-p', '']).values.pid, [''], 'an empty pid reaches the pid check');
  assert.is(run(['replay', 't', '--date=']).values.date, '', 'and an empty day the day check');
  assert.is(usage(['replay', 't', '--follow']), '--follow needs a value (PID:FD)');
});

test('choices, unknown options and stray positionals are usage errors', () => {
  assert.is(usage(['--backend', 'foo', '1']), '--backend must be one of auto, bpf, strace, got foo');
  assert.is(run(['--backend', 'bpf', '1']).values.backend, 'bpf');
  assert.is(usage(['--bogus']), 'Unknown argument: bogus (see --help)');
  assert.is(usage(['-x', '1']), 'Unknown argument: x (see --help)');
  assert.is(usage(['replay', '--bogus', 't']), 'Unknown argument: bogus (see --help)');
  assert.is(usage(['snapshot', '--port', '80']), 'Unknown argument: port (see --help)', 'options belong to their command');
  assert.is(usage(['demo', 'x']), 'Unknown argument: x (see --help)');
  assert.is(usage(['replay', 'a', 'b']), 'Unknown argument: b (see --help)');
  assert.is(usage(['snapshot', '1', '--', 'ls']), 'snapshot launches no command: remove -- ls');
  assert.equal(run(['snapshot', '1', '--']).positionals, ['1'], 'a bare -- is harmless');
});

test('the options other commands add are declared: --diff, --follow, --leak-threshold', () => {
  assert.is(run(['snapshot', '--diff', 'old.ndjson']).values.diff, 'old.ndjson');
  assert.is(run(['replay', 't', '--follow', '12:3']).values.follow, '12:3');
  assert.is(run(['replay', 't', '--leak-threshold', '8']).values['leak-threshold'], '8');
  assert.is(run(['1', '--leak-threshold=8']).values['leak-threshold'], '8');
  assert.is(run(['demo', '--rounds', '-1']).values.rounds, '-1', 'a negative number reaches the range check');
  assert.is(usage(['demo', '--follow', '1:2']), 'Unknown argument: follow (see --help)');
});

test('--help and --version anywhere before --, for the command named', () => {
  assert.equal(parseCommandLine(['--help']), { kind: 'help', command: null });
  assert.equal(parseCommandLine(['-h']), { kind: 'help', command: null });
  assert.equal(parseCommandLine(['replay', '--help']), { kind: 'help', command: 'replay' });
  assert.equal(parseCommandLine(['snapshot', '1', '-h']), { kind: 'help', command: 'snapshot' });
  assert.equal(parseCommandLine(['--version']), { kind: 'version' });
  assert.is(parseCommandLine(['--', 'ls', '--help']).kind, 'run', 'a launched command\'s --help is its own');
});

test('help text: every option of the command, its choices and defaults, and the options declared for others', () => {
  const top = helpText(null);
  for (const c of ['watch', 'replay', 'demo', 'snapshot']) assert.match(top, new RegExp(`^  ${c}\\b`, 'm'));
  for (const o of ['-p, --pid PID', '--json FILE', '--tui', '--path PATH', '--port PORT', '--tree', '--only LIST', '--dot FILE',
    '--backend NAME', '--all', '--leak-threshold N', '-h, --help', '--version']) assert.ok(top.includes(o), o);
  assert.match(top.replace(/\s+/g, ' '), /one of auto, bpf, strace/);
  assert.match(top, /Exit status: /);
  assert.match(top, /fdwatch -p 1234 -- getent passwd/);
  const replay = helpText('replay').replace(/\s+/g, ' ');
  for (const s of ['--date DAY', '--follow PID:FD print the history of one fd across processes', '--leak-threshold N fd-leak alert when a process holds N received fds it never used or closed, or N it sent and never closed (default 64)',
    "strace -f -yy -o '|fdwatch replay -' CMD"]) assert.ok(replay.includes(s), s);
  const snap = helpText('snapshot').replace(/\s+/g, ' ');
  assert.ok(snap.includes('--diff OLD.ndjson compare with an earlier snapshot --json file: fds opened, closed, changed per process'), snap);
  assert.ok(helpText('demo').replace(/\s+/g, ' ').includes('--rounds N rounds of the three workloads (0: until you quit) (default 0)'));
  for (const t of [top, helpText('replay'), helpText('snapshot'), helpText('demo')]) {
    for (const l of t.split('\n')) assert.ok(l.length <= 80, `longer than 80: ${l}`);
  }
});

test('through the CLI: one line, exit 2; --version is package.json\'s; --help exits 0', () => {
  const cli = (args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  for (const [args, line] of [
    [['-p', 'abc'], 'fdwatch: not a process id: abc'],
    [['--backend', 'foo', '1'], 'fdwatch: --backend must be one of auto, bpf, strace, got foo'],
    [['--port', '99999'], 'fdwatch: not a port: 99999'],
    [['demo', '--rounds', '-1'], 'fdwatch: --rounds must be a whole number >= 0, got -1'],
    [['1', '--leak-threshold', 'many'], 'fdwatch: --leak-threshold must be a whole number >= 2, got many'],
    [['snapshot', 'abc'], 'fdwatch: not a process id: abc'],
  ] as Array<[string[], string]>) {
    const r = cli(args);
    assert.equal([r.code, r.err, r.out], [2, `${line}\n`, ''], args.join(' '));
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal([cli(['--version']).out, cli(['--version']).code], [`${pkg.version}\n`, 0]);
  const h = cli(['snapshot', '--help']);
  assert.equal([h.code, h.err], [0, '']);
  assert.match(h.out, /^Usage: fdwatch snapshot/);
});

test('the default tracer: eBPF for an attach or a launch when it can (else strace, saying why), strace for a launch with --bpf-engine bpftrace, eBPF for --all', () => {
  const can = (): null => null;
  const cannot = (): string => 'bpftrace is not installed: install the bpftrace package (apt-get install bpftrace)';
  assert.equal(chooseBackend(undefined, false, can, false), { use: 'bpf', why: 'eBPF is available' });
  assert.equal(chooseBackend(undefined, false, cannot, false), { use: 'strace', why: `eBPF unavailable: ${cannot()}` });
  assert.equal(chooseBackend(undefined, false, can, true), { use: 'bpf', why: 'eBPF is available' });
  assert.equal(chooseBackend(undefined, false, cannot, true), { use: 'strace', why: `eBPF unavailable: ${cannot()}` });
  assert.equal([askedBackend(undefined, false, true, 'bpftrace'), askedBackend(undefined, false, true, 'native'), askedBackend(undefined, false, false, 'bpftrace')], ['strace', 'auto', 'auto']);
  setBpfEngine('bpftrace');
  try {
    assert.equal(chooseBackend(undefined, false, can, true), { use: 'strace', why: null });
    assert.equal(chooseBackend('bpf', false, can, true), { use: 'bpf', why: '--backend bpf' });
  } finally {
    setBpfEngine('auto');
  }
  assert.equal(chooseBackend('bpf', false, can, true), { use: 'bpf', why: '--backend bpf' });
  assert.equal(chooseBackend('strace', false, can, false), { use: 'strace', why: null });
  assert.equal(chooseBackend(undefined, true, can, false), { use: 'bpf', why: '--all' });
  assert.throws(() => chooseBackend('bpf', false, cannot, false), (e: unknown) => e instanceof LiveError && e.message === cannot());
  assert.throws(() => chooseBackend('strace', true, can, false), (e: unknown) => e instanceof LiveError && /--all needs the eBPF backend/.test(e.message));
});

test.run();
