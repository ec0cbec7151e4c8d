// The transfer graph (`replay LOG --dot FILE`) on recorded fixtures: Graphviz parses it, and it holds exactly the
// fixture's transfers (one labelled edge each, between the right processes) and its fork tree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-dot-'));
const haveDot = spawnSync('dot', ['-V']).status === 0;

interface Expect { transfers: Array<{ fromComm: string; toComm: string; target: string; state: string }> }
interface Edge { from: string; to: string; fds: string; target: string; state: string }

function parse(dot: string): { nodes: Map<string, string>; transfers: Edge[]; forks: string[] } {
  const nodes = new Map<string, string>();
  for (const m of dot.matchAll(/^ {2}(p\d+) \[label="([^"\\]*)[\\"]/gm)) nodes.set(m[1]!, m[2]!);
  const transfers: Edge[] = [];
  for (const m of dot.matchAll(/^ {2}(\S+) -> (\S+) \[label="((?:[^"\\]|\\.)*)".*class="transfer"/gm)) {
    const [fds, target, state] = m[3]!.split('\\n');
    transfers.push({ from: m[1]!, to: m[2]!, fds: fds!, target: target!, state: state! });
  }
  const forks = [...dot.matchAll(/^ {2}(p\d+) -> (p\d+) \[style=dashed.*class="fork"/gm)].map((m) => `${m[1]}->${m[2]}`);
  return { nodes, transfers, forks };
}

for (const name of ['seed', 'nscd']) {
  test(`${name} fixture: dot -Tsvg draws the graph; it holds exactly the fixture's transfers and its forks`, () => {
    assert.ok(haveDot, 'graphviz (dot) is installed');
    const log = path.join(root, 'fixtures', 'traces', name, 'f-yy.log');
    const file = path.join(tmp, `${name}.dot`);
    const json = path.join(tmp, `${name}.ndjson`);
    const r = spawnSync(process.execPath, [BIN, 'replay', log, '--dot', file, '--json', json], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`fdwatch: graph of \\d+ transfers? in .*${name}\\.dot, drawn in .*${name}\\.svg`));
    const svg = fs.readFileSync(path.join(tmp, `${name}.svg`), 'utf8');
    assert.match(svg, /<svg[\s\S]*class="edge transfer"/);
    const parsed = spawnSync('dot', ['-Tsvg', file], { encoding: 'utf8' });
    assert.is(parsed.status, 0, parsed.stderr);

    const g = parse(fs.readFileSync(file, 'utf8'));
    const expect = JSON.parse(fs.readFileSync(path.join(root, 'fixtures', 'traces', name, 'expect.json'), 'utf8')) as Expect;
    // what the fixture says it holds (its expect.json: the program's own account), target and state
    assert.equal(g.transfers.map((e) => `${e.target} ${e.state}`).sort(), expect.transfers.map((t) => `${t.target} ${t.state}`).sort());
    // every edge between process nodes the graph declares, named comm[pid]
    for (const e of g.transfers) for (const id of [e.from, e.to]) assert.match(g.nodes.get(id) ?? '', new RegExp(`\\[${id.slice(1)}\\]$`));
    // and the same pids and fds as the NDJSON records
    const recs = fs.readFileSync(json, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ts = recs.filter((x) => x['type'] === 'transfer') as Array<{ from: { pid: number; fd: number }; to: { pid: number; fd: number } }>;
    assert.equal(g.transfers.map((e) => `p${e.from.slice(1)} ${e.fds} p${e.to.slice(1)}`).sort(),
      ts.map((t) => `p${t.from.pid} SCM_RIGHTS fd ${t.from.fd} -> fd ${t.to.fd} p${t.to.pid}`).sort());
    const forks = recs.filter((x) => x['type'] === 'process' && x['event'] === 'fork').map((x) => `p${String(x['ppid'])}->p${String(x['pid'])}`);
    assert.equal(g.forks.sort(), forks.sort());
    if (name === 'seed') assert.is(forks.length, 1); // nscd's processes were all attached to, none forked in the trace
  });
}

test('--dot without a file, or one that cannot be written: one line, what to do', () => {
  const log = path.join(root, 'fixtures', 'traces', 'seed', 'f-yy.log');
  const r = spawnSync(process.execPath, [BIN, 'replay', log, '--dot'], { encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.is(r.stderr.trim(), 'fdwatch: --dot needs a file name (graph.dot)');
  const t = spawnSync(process.execPath, [BIN, 'replay', '--tui', log, '--dot', path.join(tmp, 'tui.dot')], { encoding: 'utf8' });
  assert.equal([t.status, t.stderr.trim()], [2, 'fdwatch: --dot goes with the report or --json, not --tui']);
  const w = spawnSync(process.execPath, [BIN, 'replay', log, '--dot', path.join(tmp, 'no', 'g.dot')], { encoding: 'utf8' });
  assert.is(w.status, 1);
  assert.match(w.stderr.trim(), /^fdwatch: cannot write .*\/no\/g\.dot: no such file or directory \(ENOENT\): give --dot a file in a folder you can write$/);
});

test('traced text cannot break out of a label: quotes, backslashes and control characters are escaped', () => {
  const log = path.join(tmp, 'odd.log');
  const P = '/tmp/\\33]0;pwned\\7"q\\\\uote';
  fs.writeFileSync(log, [
    `10  openat(AT_FDCWD, "${P.replace('"', '\\"')}", O_RDONLY) = 3<${P}>`,
    '10  socketpair(AF_UNIX, SOCK_STREAM, 0, [4<UNIX-STREAM:[1->2]>, 5<UNIX-STREAM:[2->1]>]) = 0',
    `10  sendmsg(4<UNIX-STREAM:[1->2]>, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[3<${P}>]}], msg_flags=0}, 0) = 1`,
    `10  recvmsg(5<UNIX-STREAM:[2->1]>, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[6<${P}>]}], msg_flags=0}, 0) = 1`,
    '',
  ].join('\n'));
  const file = path.join(tmp, 'odd.dot');
  const r = spawnSync(process.execPath, [BIN, 'replay', log, '--dot', file], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const text = fs.readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  assert.not.match(text, /[\x00-\x08\x0b-\x1f\x7f]/);
  const t = parse(text).transfers;
  assert.is(t.length, 1, text);
  assert.is(t[0]!.target, '/tmp/\\\\x1b]0;pwned\\\\x07\\"q\\\\\\\\uote', text); // escaped, then quoted for dot
  if (haveDot) assert.is(spawnSync('dot', ['-Tsvg', file]).status, 0);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
