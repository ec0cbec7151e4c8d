// The replay bench's measure, in one process: TraceSession over a log to an NDJSON file against bare line splitting
// of the same file, interleaved rounds, medians (bench/run.ts: a make log; bench/browser.ts: a Chromium log).
import fs from 'node:fs';
import { TraceSession } from '../src/correlate/session.js';
import { openNdjson } from '../src/export/ndjson.js';
import { readFileBytes, readFileChunks } from '../src/tracer/read.js';
import { localMidnight } from '../src/tracer/joiner.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Bare line splitting: latin1 text, indexOf, one string per line. */
function lineSplitter(sink: (line: string) => void): { push(chunk: Buffer): void; end(): number } {
  let rest = '';
  let n = 0;
  return {
    push(chunk) {
      const text = rest + chunk.toString('latin1');
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        sink(text.slice(start, nl));
        n++;
        start = nl + 1;
      }
      rest = start === 0 ? text : text.slice(start);
    },
    end() {
      if (rest.length > 0) { sink(rest); n++; }
      return n;
    },
  };
}

/** The baseline's chunk size: 4 MB, as it was when replay read 4 MB chunks (replay now reads 512 KB ones). */
const BASELINE_CHUNK = 1 << 22;

/** The baseline, the usual idiom: bare line splitting over a plain fs stream of 4 MB chunks. */
function splitStream(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const split = lineSplitter(() => {});
    const stream = fs.createReadStream(file, { highWaterMark: BASELINE_CHUNK });
    stream.on('data', (chunk: Buffer | string) => split.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(split.end()));
  });
}

/** A stricter baseline: the same splitting over replay's own reader (512 KB chunks read with readSync). */
async function splitOwnReader(file: string): Promise<number> {
  const split = lineSplitter(() => {});
  await readFileChunks(file, (chunk) => split.push(chunk));
  return split.end();
}

export interface InProcessReplay {
  /** medians, ms: replay, bare splitting over a 4 MB fs stream, the same splitting over replay's own reader */
  full: number;
  split: number;
  ownReader: number;
  /** medians of user+system CPU, ms (V8's compiler threads included) */
  fullCpu: number;
  splitCpu: number;
  lines: number;
  /** what the last replay's summary says */
  summary: string;
}

/** `rounds` interleaved rounds of the splitting baselines and the replay of `log` to `out`. */
export async function inProcessReplay(log: string, out: string, rounds: number): Promise<InProcessReplay> {
  const split: number[] = [];
  const ownReader: number[] = [];
  const full: number[] = [];
  // user+system CPU of this process (V8's compiler threads included): steadier than wall time on a loaded machine
  const splitCpu: number[] = [];
  const fullCpu: number[] = [];
  const cpuMs = (since: NodeJS.CpuUsage): number => { const u = process.cpuUsage(since); return (u.user + u.system) / 1000; };
  let lines = 0;
  let summary = '';
  // the day `fdwatch replay` counts -tt times of day from: the log's (its mtime's local midnight); records then carry
  // epoch stamps as the command writes them (from day 0, 1970's, the writer took its slower path for every stamp:
  // 11-20% of a make log's replay)
  const baseDay = localMidnight(fs.statSync(log).mtime);
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    let c = process.cpuUsage();
    lines = await splitStream(log);
    split.push(performance.now() - t);
    splitCpu.push(cpuMs(c));
    t = performance.now();
    await splitOwnReader(log);
    ownReader.push(performance.now() - t);
    t = performance.now();
    c = process.cpuUsage();
    const w = openNdjson(out);
    const s = new TraceSession((r) => w.write(r), { baseDay });
    const src = s.source(null);
    await readFileBytes(log, (x, a, b, n) => s.bytes(x, a, b, n, src));
    const sum = s.end();
    w.close();
    full.push(performance.now() - t);
    fullCpu.push(cpuMs(c));
    summary = `${sum.processes} processes, ${sum.syscalls} syscalls, ${sum.transfers.delivered} transfers, ${sum.parseErrors} parse errors`;
  }
  return { full: median(full), split: median(split), ownReader: median(ownReader), fullCpu: median(fullCpu), splitCpu: median(splitCpu), lines, summary };
}
