// `fdwatch --dot FILE -- CMD`: the live trace's graph, written and drawn at the end, holds exactly its transfers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { compile, fdwatch, records, tmp } from './run.js';
import type { TransferRecord } from '../../src/model/records.js';

test('live --dot: the graph of the seed program has its one delivered transfer, and dot draws it', async () => {
  const json = path.join(tmp, 'dot-live.ndjson');
  const dot = path.join(tmp, 'live.dot');
  const r = fdwatch(['--no-tui', '--json', json, '--dot', dot, '--', compile('seed')]);
  const ex = await r.exit;
  assert.is(ex.code, 0, r.err());
  const ts = records(json).filter((x): x is TransferRecord => x.type === 'transfer');
  assert.is(ts.length, 1);
  const t = ts[0]!;
  const text = fs.readFileSync(dot, 'utf8');
  const edges = [...text.matchAll(/^ {2}(p\d+) -> (p\d+) \[.*class="transfer"/gm)].map((m) => `${m[1]}->${m[2]}`);
  assert.equal(edges, [`p${t.from.pid}->p${t.to!.pid}`]);
  if (spawnSync('dot', ['-V']).status === 0) {
    assert.ok(fs.statSync(path.join(tmp, 'live.svg')).size > 0, 'FILE.svg drawn');
    assert.match(r.err(), /graph of 1 transfer in .*live\.dot, drawn in .*live\.svg/);
  }
});

test('live --dot with no file is a usage error', async () => {
  const r = fdwatch(['--no-tui', '--dot', '', '--', 'true']);
  const ex = await r.exit;
  assert.is(ex.code, 2);
  assert.is(r.err(), 'fdwatch: --dot needs a file name (graph.dot)\n');
});

test.run();
