// Bench: recorded fixture records (every fixtures/traces/*/f-yy.log through the real pipeline), replayed over and
// over with shifted pids, fed as fast as possible into (1) the store alone, (2) the real dashboard (store, panels,
// blessed) on a 200x60 dummy terminal with its render loop at 20 frames/s. Reports the sustained event rate and the
// heap every 250k events up to 1M. Goal: 50k events/s with rendering, memory flat.
// Run alone with: node dist/bench/tui.js

import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { TraceSession } from '../src/correlate/session.js';
import type { FdwatchRecord, TransferEnd } from '../src/model/records.js';
import { initialState, type DashboardEvent } from '../src/tui/state.js';
import { reduce } from '../src/tui/store.js';
import { openDashboard, FRAME_MS } from '../src/tui/app.js';

const TOTAL = 1_000_000;
const CHUNK = 2000;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function recorded(): FdwatchRecord[] {
  const dir = path.join(root, 'fixtures', 'traces');
  const out: FdwatchRecord[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name, 'f-yy.log');
    if (!fs.existsSync(file)) continue;
    const session = new TraceSession((r) => { if (r.type !== 'summary') out.push(r); }, { baseDay: 0 });
    const src = session.source(null);
    const lines = fs.readFileSync(file, 'latin1').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    lines.forEach((l, i) => session.line(l, i + 1, src));
    session.end();
  }
  return out;
}

function shiftEnd(e: TransferEnd | null, off: number): TransferEnd | null {
  if (!e) return null;
  return { ...e, pid: e.pid === null ? null : e.pid + off, tid: e.tid === null ? null : e.tid + off };
}

/** The same record for another run of the program: every pid and tid moved by `off`. */
function shift(r: FdwatchRecord, off: number): FdwatchRecord {
  switch (r.type) {
    case 'process': return { ...r, pid: r.pid + off, ppid: r.ppid === null ? null : r.ppid + off, ...(r.tid !== undefined ? { tid: r.tid + off } : {}) };
    case 'fd': return { ...r, pid: r.pid + off, ...(r.tid !== undefined ? { tid: r.tid + off } : {}), ...(r.fromPid != null ? { fromPid: r.fromPid + off } : {}) };
    case 'transfer': return { ...r, from: shiftEnd(r.from, off)!, to: shiftEnd(r.to, off) };
    case 'map': return { ...r, pid: r.pid + off };
    case 'alert': return { ...r, pid: r.pid === null ? null : r.pid + off };
    case 'summary': return r;
  }
}

class Feed {
  private i = 0;
  private round = 0;
  constructor(private readonly base: FdwatchRecord[]) {}
  next(): FdwatchRecord {
    if (this.i === this.base.length) { this.i = 0; this.round++; }
    // pids stay below pid_max (2^22): rounds wrap, as pids do
    return shift(this.base[this.i++]!, ((this.round * 100_003) % 4_000_000));
  }
}

function gcFn(): () => void {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
}

const mb = (n: number): string => (n / 1048576).toFixed(1);

function storeOnly(base: FdwatchRecord[]): number {
  const s = initialState({ now: Date.now(), cols: 200, rows: 60 });
  const feed = new Feed(base);
  const ev: DashboardEvent = { type: 'record', record: base[0]! };
  const t0 = performance.now();
  for (let i = 0; i < TOTAL; i++) {
    (ev as { record: FdwatchRecord }).record = feed.next();
    reduce(s, ev);
  }
  return TOTAL / ((performance.now() - t0) / 1000);
}

class NullTerminal extends Writable {
  columns = 200;
  rows = 60;
  isTTY = true;
  bytes = 0;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    cb();
  }
}

async function dashboard(base: FdwatchRecord[], gc: () => void): Promise<{ rate: number; fps: number; frameP50: number; frameMax: number; heaps: number[]; bytes: number }> {
  const output = new NullTerminal();
  const input = new PassThrough();
  const frames: number[] = [];
  const dash = openDashboard({
    title: 'bench', json: null, onQuit: () => {},
    io: { input, output, terminal: 'xterm-256color', signals: false },
    onFrame: (ms) => frames.push(ms),
  });
  dash.status({ strace: 'tracing', traced: 1 });
  const feed = new Feed(base);
  const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, FRAME_MS * 2));
  gc();
  const heaps = [process.memoryUsage().heapUsed];
  const t0 = performance.now();
  const frames0 = frames.length;
  let pauseMs = 0;
  for (let n = 0; n < TOTAL; n += CHUNK) {
    for (let i = 0; i < CHUNK; i++) dash.push(feed.next());
    await yieldNow(); // the render loop and ticks get their turn, as with a live pipe
    if ((n + CHUNK) % 250_000 === 0) {
      const p0 = performance.now();
      gc();
      heaps.push(process.memoryUsage().heapUsed);
      pauseMs += performance.now() - p0;
    }
  }
  const secs = (performance.now() - t0 - pauseMs) / 1000;
  const drawn = frames.slice(frames0).sort((a, b) => a - b);
  dash.destroy();
  input.destroy();
  return {
    rate: TOTAL / secs,
    fps: drawn.length / secs,
    frameP50: drawn[Math.floor(drawn.length / 2)] ?? 0,
    frameMax: drawn[drawn.length - 1] ?? 0,
    heaps,
    bytes: output.bytes,
  };
}

export async function benchTui(): Promise<{ name: string; lines: string[] }> {
  const gc = gcFn();
  const base = recorded();
  const store = storeOnly(base);
  const d = await dashboard(base, gc);
  const growth = d.heaps[d.heaps.length - 1]! - d.heaps[1]!;
  return {
    name: 'tui',
    lines: [
      `dashboard (store + panels + blessed, 200x60 dummy terminal, ${d.fps.toFixed(1)} frames/s): ${Math.round(d.rate).toLocaleString('en')} events/s sustained (goal 50,000)`,
      `  store alone: ${Math.round(store).toLocaleString('en')} events/s; frame time p50 ${d.frameP50.toFixed(1)} ms, max ${d.frameMax.toFixed(1)} ms; ${mb(d.bytes)} MB written to the terminal`,
      `  heap after 0/250k/500k/750k/1M events: ${d.heaps.map(mb).join(' / ')} MB (250k -> 1M: ${growth >= 0 ? '+' : ''}${mb(growth)} MB)`,
      `  input: ${base.length} recorded records from fixtures/traces/*/f-yy.log, replayed with shifted pids`,
    ],
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchTui().then(
    (r) => { console.log(`${r.name}\n${r.lines.join('\n')}`); process.exit(0); },
    (e: unknown) => {
      console.error(`bench failed: ${e instanceof Error ? e.stack : String(e)}`);
      process.exitCode = 1;
    },
  );
}
