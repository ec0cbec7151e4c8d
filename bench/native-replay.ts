// Bench harness: a recording of the native eBPF engine's ring (FDWATCH_NATIVE_RECORD=FILE on a live run, see
// src/bpf/native/recording.ts) replayed in-process through the live --all path: RecordDecoder -> BpfParser
// (reorder window, released as the recorded rounds said) -> Correlator -> the NDJSON writer. No /proc, no kernel:
// repeatable, so callgrind's instruction counts compare builds; and the NDJSON it writes compares their records.
//
//   node dist/bench/native-replay.js REC [--out FILE] [--root DIST] [--limit N] [--repeat N] [--heap-sample FILE]
// --root: another build's dist/ (its modules are imported instead: an A/B of two builds on one recording);
// --out: the NDJSON (default /dev/null); --limit: the first N records only; --repeat: N passes (each a fresh
// pipeline), the CPU time and the bytes allocated (V8's heap, from its GCs: v8.GCProfiler) of each printed;
// --heap-sample: the last pass's allocations sampled (every 16 KB, the collected ones too) as a .heapprofile.
import fs from 'node:fs';
import inspector from 'node:inspector';
import v8 from 'node:v8';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FdwatchRecord } from '../src/model/records.js';
import type { FdOp } from '../src/model/fdop.js';
import { replayRecording } from '../src/bpf/native/recording.js';

type ParserMod = typeof import('../src/bpf/parse.js');
type DecodeMod = typeof import('../src/bpf/native/decode.js');
type CorrelatorMod = typeof import('../src/correlate/correlator.js');
type NdjsonMod = typeof import('../src/export/ndjson.js');

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Mount points by mount id, as the session reads /proc/self/mountinfo (field 5). */
function mountinfo(): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) m.set(Number(f[0]), f[4]!.replace(/\\(\d{3})/g, (_x, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return m;
}

async function main(): Promise<void> {
  const rec = process.argv[2];
  if (!rec || rec.startsWith('--')) { process.stderr.write('usage: native-replay REC [--out FILE] [--root DIST] [--limit N] [--repeat N]\n'); process.exit(2); }
  const root = path.resolve(arg('--root') ?? here);
  const out = arg('--out') ?? '/dev/null';
  const limit = Number(arg('--limit') ?? Infinity);
  const repeat = Number(arg('--repeat') ?? 1);
  const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(root, rel)).href)) as T;
  const { BpfParser } = await load<ParserMod>('src/bpf/parse.js');
  const { RecordDecoder } = await load<DecodeMod>('src/bpf/native/decode.js');
  const { Correlator } = await load<CorrelatorMod>('src/correlate/correlator.js');
  const { openNdjson } = await load<NdjsonMod>('src/export/ndjson.js');
  const bytes = fs.readFileSync(rec);
  const mounts = mountinfo();
  // a fixed epoch: the records' times are the same from run to run
  const epoch = 1_700_000_000;

  const heapSample = arg('--heap-sample');
  const session = heapSample ? new inspector.Session() : null;
  const post = (method: string, params?: object): Promise<unknown> => new Promise((resolve, reject) => {
    session!.post(method, params ?? {}, (e, res) => (e ? reject(e) : resolve(res)));
  });
  if (session) session.connect();

  for (let r = 0; r < repeat; r++) {
    const sampled = session !== null && r === repeat - 1;
    if (sampled) await post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    const gcs = new v8.GCProfiler();
    gcs.start();
    const used0 = v8.getHeapStatistics().used_heap_size;
    const writer = openNdjson(out);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const correlator = new Correlator((rc: FdwatchRecord) => writer.write(rc), {
      resolveTgid: (tid) => parser.tgidOf(tid) ?? tid,
      resolveProcess: (pid) => ({ uid: parser.euidOf(pid) }),
    });
    const parser = new BpfParser((op: FdOp) => { correlator.push(op); }, {
      clock: (ns) => epoch + ns / 1e9, windowNs: Number(arg('--window-ms') ?? 100) * 1e6, ordered: true,
      mountPoint: (id) => mounts.get(id) ?? null,
      resolveFd: () => null,
      privateMapsMatter: (tid, ts) => correlator.privateMapsMatter(tid, ts),
    });
    const decoder = new RecordDecoder(parser);
    const n = replayRecording(bytes, {
      record: (v, off, len) => decoder.record(v, off, len),
      readBefore: (ns) => parser.readBefore(ns),
      pumped: (ns) => parser.flush(ns),
    }, limit);
    parser.end();
    correlator.detachAll();
    correlator.finish();
    const s = parser.stats;
    const summary = correlator.summary({ lines: s.lines, events: s.events, syscalls: s.syscalls, parseErrors: s.malformed, parseErrorSamples: parser.samples }, true);
    writer.write(summary);
    writer.close();
    const cpu = process.cpuUsage(c0);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const used1 = v8.getHeapStatistics().used_heap_size;
    // allocated: what the heap grew by between collections (each GC's "before" less the last one's "after")
    let allocated = 0;
    let at = used0;
    let gcMs = 0;
    for (const g of gcs.stop().statistics) {
      allocated += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - at);
      at = g.afterGC.heapStatistics.usedHeapSize;
      gcMs += g.cost / 1000;
    }
    allocated += Math.max(0, used1 - at);
    if (sampled) {
      const { profile } = await post('HeapProfiler.stopSampling') as { profile: unknown };
      fs.writeFileSync(heapSample!, JSON.stringify(profile));
    }
    const us = (cpu.user + cpu.system) / s.events;
    process.stdout.write(`pass ${r + 1}: ${n} records, ${s.events} events, ${s.malformed} malformed: ${ms.toFixed(0)} ms wall, CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, ${us.toFixed(2)} µs per event;` +
      ` ${(allocated / 1024 / s.events).toFixed(2)} KB allocated per event, GC pauses ${gcMs.toFixed(0)} ms\n`);
  }
  session?.disconnect();
}

void main();
