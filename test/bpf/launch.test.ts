// A command launched under eBPF (`fdwatch -- CMD`) waits in a held sh until the probes are live; that sh's own fd
// juggling (fdwatch's gate pipe, its stdio dup2s, the fds it holds from fdwatch) is not the command's. Its records
// start, as under strace, with the command's exec; its fd table is still known (a later close names its target).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { bpfUnavailable } from '../../src/bpf/session.js';
import { loadNative } from '../../src/bpf/native/load.js';
import type { FdRecord, FdwatchRecord, ProcessRecord, SummaryRecord } from '../../src/model/records.js';
import { fdwatch, records, tmp } from '../live/run.js';
import { root as repo } from '../paths.js';

const why = bpfUnavailable({ engine: 'native' }) ?? ((): string | null => {
  const h = loadNative({ follow: [process.pid], self: process.pid, tracefs: '/sys/kernel/tracing', btf: '/sys/kernel/btf/vmlinux' });
  if ('error' in h) return h.error;
  h.close();
  return null;
})();

test('launch under the native engine: the first record of the command is its exec, none is the held sh\'s; its stdio is known', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const json = path.join(tmp, 'launch-native.ndjson');
  // sh closes its stdout (inherited from the held sh: the command's fd 1) and then cats a file
  const r = fdwatch(['--backend', 'bpf', '--bpf-engine', 'native', '--no-tui', '--json', json, '--', 'sh', '-c', 'cat /etc/hostname; exec 1>&-'], {});
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const rs = records(json);
  const s = rs[rs.length - 1] as SummaryRecord;
  assert.equal([s.type, s.engine, s.lostEvents], ['summary', 'native', 0]);
  const first = rs[0] as FdwatchRecord;
  assert.is(first.type, 'process', JSON.stringify(first));
  const root = (first as ProcessRecord).pid;
  assert.equal([(first as ProcessRecord).event, (first as ProcessRecord).comm], ['exec', 'sh'], JSON.stringify(first));
  assert.not.ok(rs.some((x) => x.type === 'process' && x.pid === root && x.event === 'attach'), 'an attach record of the held sh');
  assert.not.ok(rs.some((x) => x.type === 'fd' && x.pid === root && x.op === 'snapshot'), 'snapshot records of the held sh');
  // the command's own close of its fd 1, named from the table the held sh's snapshot built
  const close1 = rs.find((x): x is FdRecord => x.type === 'fd' && x.pid === root && x.fd === 1 && x.op === 'close');
  assert.ok(close1, 'the close of fd 1');
  assert.is.not(close1!.kind, 'unknown', JSON.stringify(close1));
  assert.ok(rs.some((x) => x.type === 'process' && x.event === 'exec' && x.comm === 'cat'), 'the cat it ran');
});

test('launch under the native engine: a burst of 12,000 fds passed by 8 processes in a fraction of a second loses nothing', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  // bench/workload.c: every event the ring could not hold would be a lost one (a 4 MB ring lost a third to a half)
  const exe = path.join(tmp, 'workload');
  execFileSync('cc', ['-O1', '-o', exe, path.join(repo, 'bench', 'workload.c')]);
  const json = path.join(tmp, 'burst-native.ndjson');
  const r = fdwatch(['--backend', 'bpf', '--bpf-engine', 'native', '--no-tui', '--json', json, '--', exe], {});
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const rs = records(json);
  const s = rs[rs.length - 1] as SummaryRecord;
  assert.equal([s.type, s.engine, s.lostEvents], ['summary', 'native', 0]);
  assert.is(s.transfers.delivered, 12000);
});

test.run();
