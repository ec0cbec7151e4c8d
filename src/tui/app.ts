// The dashboard on a terminal (I/O edge): blessed screen, keys and mouse -> store events, one throttled render loop
// (at most 20 frames/s), effects (quit, export, replay), and terminal restore on every exit path.
import fs from 'node:fs';
import path from 'node:path';
import blessed from 'blessed';
import type { FdwatchRecord } from '../model/records.js';
import { initialState, type DashboardEvent, type DashboardStatus, type Effect, type State } from './state.js';
import { reduce } from './store.js';
import { renderScreen, type Frame, type Seg, type SegStyle } from './screen.js';
import { colorWanted, localeIsUnicode } from './text.js';
import { stateRecords, exportName } from './export.js';
import { DotGraph } from '../export/dot.js';
import type { ReplayControls } from './replay.js';

export type { ReplayControls } from './replay.js';

export interface DashboardHandle {
  push(r: FdwatchRecord): void;
  status(s: Partial<DashboardStatus>): void;
  closed: Promise<'quit' | 'signal'>;
  destroy(): void;
}

/** Frames are drawn at most this often (ms): 20 frames/s. */
export const FRAME_MS = 50;
const TICK_MS = 250;
/** how long a quit waits for onQuit (detaching strace) after a signal before restoring anyway */
const SIGNAL_QUIT_MS = 5000;

export interface DashboardOptions {
  title: string;
  replay?: ReplayControls;
  json: string | null;
  onQuit: () => Promise<void> | void;
  /** tests and the bench: another terminal than stdin/stdout (and its TERM), and no process signal hooks */
  io?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; terminal?: string; signals?: boolean };
  /** called after each frame with the time it took (ms) and what was drawn: the bench and tests watch frames */
  onFrame?: (ms: number, frame: Frame) => void;
  /** where `e` writes (default: the current directory) */
  exportDir?: string;
}

// ------------------------------------------------------------------ frame -> blessed tags

const COLOR_TAGS: Record<SegStyle, string> = {
  normal: '', dim: '{gray-fg}', new: '{green-fg}{bold}', closed: '{red-fg}', alert: '{red-fg}{bold}', warn: '{yellow-fg}',
  mark: '{magenta-fg}{bold}', head: '{bold}', title: '{white-fg}{blue-bg}', titleFocus: '{black-fg}{cyan-bg}{bold}',
  bar: '{black-fg}{white-bg}', colhead: '{bold}', sep: '{blue-fg}', overlay: '{white-fg}{black-bg}{bold}',
};

// NO_COLOR: attributes only; meanings that colour carried are also in the text (+ - * > ~ ! marks)
const MONO_TAGS: Record<SegStyle, string> = {
  normal: '', dim: '', new: '{bold}', closed: '', alert: '{bold}', warn: '', mark: '{bold}', head: '{bold}',
  title: '{underline}', titleFocus: '{inverse}{bold}', bar: '{inverse}', colhead: '{bold}', sep: '', overlay: '{bold}',
};

function escTags(t: string): string {
  return t.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

export function segTags(seg: Seg, color: boolean): string {
  let open = (color ? COLOR_TAGS : MONO_TAGS)[seg.style];
  if (seg.sel === 1) open += '{inverse}';
  else if (seg.sel === 2) open += '{underline}';
  const text = escTags(seg.text);
  return open ? `${open}${text}{/}` : text;
}

export function frameTags(f: Frame, color: boolean): string {
  return f.lines.map((l) => l.map((s) => segTags(s, color)).join('')).join('\n');
}

// ------------------------------------------------------------------ keys

/** The named keys keyName() passes on (besides S-tab, C-<name> and printable characters). */
export const NAMED_KEYS: ReadonlySet<string> = new Set(['up', 'down', 'left', 'right', 'pageup', 'pagedown', 'home', 'end', 'tab', 'escape', 'backspace', 'enter']);

export function keyName(ch: string | undefined, key: { name?: string; full?: string; ctrl?: boolean; shift?: boolean; meta?: boolean } | undefined): string | null {
  const name = key?.name;
  if (name === 'return' || name === 'linefeed') return null; // blessed also sends the same key as 'enter'
  if (name && NAMED_KEYS.has(name)) return name === 'tab' && key?.shift ? 'S-tab' : name;
  if (key?.ctrl && name) return `C-${name}`;
  if (key?.meta) return null;
  if (ch && ch.length === 1 && ch >= ' ' && ch <= '~') return ch;
  return null;
}

// ------------------------------------------------------------------ the dashboard

export function openDashboard(opts: DashboardOptions): DashboardHandle {
  const env = process.env;
  const unicode = localeIsUnicode(env);
  const color = colorWanted(env);
  const input = opts.io?.input ?? process.stdin;
  const output = opts.io?.output ?? process.stdout;
  const hookSignals = opts.io?.signals ?? opts.io === undefined;

  const screen = blessed.screen({
    input: input as NodeJS.ReadStream,
    output: output as NodeJS.WriteStream,
    smartCSR: true,
    fullUnicode: false,
    forceUnicode: unicode,
    autoPadding: false,
    warnings: false,
    title: 'fdwatch',
    dockBorders: false,
    ignoreLocked: ['C-c'],
    ...(opts.io?.terminal ? { terminal: opts.io.terminal } : {}),
  });
  // blessed would draw box characters through the terminal's alternate charset (ACS); write them as UTF-8 instead
  (screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
  try {
    return wire(screen, opts, { unicode, color, input, hookSignals });
  } catch (e) {
    // a failure while setting up must not leave the terminal in raw mode on the alternate screen
    try { screen.destroy(); } catch { /* already gone */ }
    throw e;
  }
}

function wire(screen: blessed.Widgets.Screen, opts: DashboardOptions, env: { unicode: boolean; color: boolean; input: NodeJS.ReadableStream; hookSignals: boolean }): DashboardHandle {
  const { unicode, color, input, hookSignals } = env;
  const box = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', tags: true, wrap: false });

  const state: State = initialState({
    title: opts.title, cols: Number(screen.width) || 80, rows: Number(screen.height) || 24, now: Date.now(), unicode, color,
    replay: opts.replay !== undefined, json: opts.json,
  });
  if (opts.replay) state.replay = opts.replay.state();

  let closedResolve!: (v: 'quit' | 'signal') => void;
  const closed = new Promise<'quit' | 'signal'>((r) => { closedResolve = r; });
  let torn = false;
  let quitting: Promise<void> | null = null;
  let frameTimer: NodeJS.Timeout | null = null;
  let lastFrame = 0;
  let drawnVersion = -1;

  const draw = (): void => {
    if (torn) return;
    const t0 = performance.now();
    lastFrame = Date.now();
    drawnVersion = state.version;
    const frame = renderScreen(state);
    box.setContent(frameTags(frame, state.color));
    screen.render();
    opts.onFrame?.(performance.now() - t0, frame);
  };
  const requestRender = (): void => {
    if (torn || frameTimer !== null) return;
    frameTimer = setTimeout(() => {
      frameTimer = null;
      if (state.version !== drawnVersion) draw();
    }, Math.max(0, lastFrame + FRAME_MS - Date.now()));
  };

  const dispatch = (e: DashboardEvent): void => {
    if (torn) return;
    reduce(state, e);
    if (state.effects.length > 0) runEffects();
    requestRender();
  };

  const runEffects = (): void => {
    const effects = state.effects.splice(0);
    for (const ef of effects) runEffect(ef);
  };

  const runEffect = (ef: Effect): void => {
    switch (ef.kind) {
      case 'quit': void quit('quit'); return;
      case 'export': exportState(); return;
      case 'replay': {
        const c = opts.replay;
        if (!c) return;
        if (ef.op === 'toggle') c.toggle(); else if (ef.op === 'step') c.step(); else if (ef.op === 'faster') c.faster(); else c.slower();
        reduce(state, { type: 'replay', replay: c.state() });
        return;
      }
    }
  };

  const exportState = (): void => {
    const dir = opts.exportDir ?? process.cwd();
    const base = exportName(new Date());
    let file = path.join(dir, base);
    for (let i = 2; fs.existsSync(file) || fs.existsSync(file.replace(/\.ndjson$/, '.dot')); i++) file = path.join(dir, base.replace(/\.ndjson$/, `-${i}.ndjson`));
    const recs = stateRecords(state.model, state.status.source);
    try {
      fs.writeFileSync(file, recs.map((r) => JSON.stringify(r)).join('\n') + '\n', { flag: 'wx' });
      // the same records as a Graphviz graph beside it (dot -Tsvg FILE.dot draws it)
      const graph = new DotGraph();
      for (const r of recs) graph.push(r);
      const dot = file.replace(/\.ndjson$/, '.dot');
      fs.writeFileSync(dot, graph.render(state.status.source), { flag: 'wx' });
      const procs = recs.filter((r) => r.type === 'process').length;
      const fds = recs.filter((r) => r.type === 'fd').length;
      const shown = path.resolve(dir) === process.cwd() ? './' + path.basename(file) : file;
      state.status = { ...state.status, message: `state written to ${shown} (${procs} processes, ${fds} open fds; graph in .dot beside it)` };
    } catch (e) {
      state.status = { ...state.status, message: `export failed: ${(e as Error).message}` };
    }
    state.version++;
  };

  const teardown = (): void => {
    if (torn) return;
    torn = true;
    if (frameTimer) clearTimeout(frameTimer);
    clearInterval(ticker);
    unhook();
    try { screen.destroy(); } catch { /* the terminal is gone */ }
    // blessed leaves stdin flowing; let the process exit
    if (input === process.stdin) { try { process.stdin.pause(); if (process.stdin.isTTY) process.stdin.setRawMode(false); } catch { /* not a tty */ } }
  };

  const quit = (how: 'quit' | 'signal', timeoutMs?: number): Promise<void> => {
    if (quitting) return quitting;
    state.quitting = true;
    state.version++;
    if (!torn) draw(); // show "detaching..." now
    const done = Promise.resolve().then(() => opts.onQuit());
    const bounded = timeoutMs === undefined ? done : Promise.race([done, new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
    quitting = bounded.then(
      () => undefined,
      (e: unknown) => { state.status = { ...state.status, message: `detach failed: ${e instanceof Error ? e.message : String(e)}` }; },
    ).then(() => {
      teardown();
      closedResolve(how);
    });
    return quitting;
  };

  // ---- input
  screen.on('keypress', (ch: string | undefined, key: { name?: string; full?: string; ctrl?: boolean; shift?: boolean; meta?: boolean } | undefined) => {
    const k = keyName(ch, key);
    if (k !== null) dispatch({ type: 'key', key: k });
  });
  screen.enableMouse();
  screen.on('mouse', (d: { action: string; x: number; y: number }) => {
    const action = d.action === 'mousedown' ? 'click' : d.action === 'wheelup' ? 'wheelup' : d.action === 'wheeldown' ? 'wheeldown' : null;
    if (action) dispatch({ type: 'mouse', action, x: d.x, y: d.y });
  });
  screen.on('resize', () => {
    dispatch({ type: 'resize', cols: Number(screen.width) || 80, rows: Number(screen.height) || 24 });
  });
  const ticker = setInterval(() => {
    if (opts.replay) reduce(state, { type: 'replay', replay: opts.replay.state() });
    dispatch({ type: 'tick', now: Date.now() });
  }, TICK_MS);

  // ---- every exit path restores the terminal
  const onExit = (): void => teardown();
  // runs before Node prints an uncaught error, so the error lands on the normal screen; Node then exits as usual
  const onCrash = (): void => teardown();
  let signalled = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled++;
    if (signalled > 1 || torn) {
      teardown();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
    }
    state.status = { ...state.status, message: `${sig}: quitting` };
    void quit('signal', SIGNAL_QUIT_MS);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  const unhook = (): void => {
    process.removeListener('exit', onExit);
    process.removeListener('uncaughtExceptionMonitor', onCrash);
    if (hookSignals) for (const s of signals) process.removeListener(s, onSignal);
  };
  process.on('exit', onExit);
  process.on('uncaughtExceptionMonitor', onCrash);
  if (hookSignals) for (const s of signals) process.on(s, onSignal);

  draw();

  return {
    push(r) {
      dispatch({ type: 'record', record: r });
    },
    status(s) {
      dispatch({ type: 'status', status: s });
    },
    closed,
    destroy() {
      teardown();
      closedResolve('quit');
    },
  };
}

