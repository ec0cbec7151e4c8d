// Playing a recorded trace's records into the dashboard: when each record is due (pure), and a player with
// play/pause, step and speed that the dashboard's replay keys drive.
import type { FdwatchRecord } from '../model/records.js';
import type { ReplayState } from './state.js';

export interface ReplayControls {
  state(): ReplayState;
  /** play/pause */
  toggle(): void;
  /** pause, and play the next record */
  step(): void;
  faster(): void;
  slower(): void;
}

export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16, 64, 256, 1024] as const;
/** records per second at 1x when the trace has no timestamps */
export const UNTIMED_RATE = 200;
/** idle gaps in a timed trace are shortened to this many seconds */
export const MAX_GAP = 1;

/** Seconds after the start at which each record is due at 1x. */
export function playTimes(records: readonly FdwatchRecord[]): Float64Array {
  const due = new Float64Array(records.length);
  const timed = records.some((r) => r.ts !== null && r.type !== 'summary');
  let t = 0;
  let last: number | null = null;
  for (let i = 0; i < records.length; i++) {
    const ts = records[i]!.ts;
    if (!timed) t = i / UNTIMED_RATE;
    else if (ts !== null) {
      if (last !== null && ts > last) t += Math.min(ts - last, MAX_GAP);
      if (last === null || ts > last) last = ts;
    }
    due[i] = t;
  }
  return due;
}

export interface PlayerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

const realClock: PlayerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Most records pushed in one wake-up, so keys and frames get their turn on huge traces at high speed. */
const BATCH = 5000;

export class ReplayPlayer implements ReplayControls {
  private pos = 0;
  private playing = false;
  private speedIdx = SPEEDS.indexOf(1);
  /** virtual seconds played */
  private vt = 0;
  private lastWall = 0;
  private timer: unknown = null;
  private readonly due: Float64Array;

  constructor(private readonly records: readonly FdwatchRecord[], private readonly sink: (r: FdwatchRecord) => void, private readonly clock: PlayerClock = realClock) {
    this.due = playTimes(records);
  }

  state(): ReplayState {
    return { position: this.pos, total: this.records.length, playing: this.playing, speed: SPEEDS[this.speedIdx]!, done: this.pos >= this.records.length };
  }

  play(): void {
    if (this.playing || this.pos >= this.records.length) return;
    this.playing = true;
    this.lastWall = this.clock.now();
    this.schedule(0);
  }

  pause(): void {
    if (!this.playing) return;
    this.advanceClock();
    this.playing = false;
    this.cancel();
  }

  toggle(): void {
    if (this.playing) this.pause(); else this.play();
  }

  step(): void {
    this.pause();
    if (this.pos >= this.records.length) return;
    this.vt = this.due[this.pos]!;
    this.sink(this.records[this.pos++]!);
  }

  faster(): void {
    this.advanceClock();
    this.speedIdx = Math.min(SPEEDS.length - 1, this.speedIdx + 1);
  }

  slower(): void {
    this.advanceClock();
    this.speedIdx = Math.max(0, this.speedIdx - 1);
  }

  /** Stops the timer for good (the dashboard closed). */
  stop(): void {
    this.playing = false;
    this.cancel();
  }

  private advanceClock(): void {
    if (!this.playing) return;
    const now = this.clock.now();
    this.vt += ((now - this.lastWall) / 1000) * SPEEDS[this.speedIdx]!;
    this.lastWall = now;
  }

  private cancel(): void {
    if (this.timer !== null) { this.clock.clearTimeout(this.timer); this.timer = null; }
  }

  private schedule(ms: number): void {
    this.cancel();
    this.timer = this.clock.setTimeout(() => { this.timer = null; this.wake(); }, ms);
  }

  private wake(): void {
    if (!this.playing) return;
    this.advanceClock();
    let n = 0;
    while (this.pos < this.records.length && this.due[this.pos]! <= this.vt && n < BATCH) {
      this.sink(this.records[this.pos++]!);
      n++;
    }
    if (this.pos >= this.records.length) { this.playing = false; return; }
    if (n === BATCH) { this.schedule(0); return; }
    const wait = ((this.due[this.pos]! - this.vt) / SPEEDS[this.speedIdx]!) * 1000;
    this.schedule(Math.max(1, Math.min(50, wait)));
  }
}
