// The dashboard's state: the model it folds records into, plus what the user chose to see (focus, selection,
// filter, overlays, pause). Types and pure readers only; store.ts changes it, panels.ts and screen.ts draw it.
import type { FdwatchRecord } from '../model/records.js';
import { emptyModel, type Model } from '../view/model.js';

export interface DashboardStatus {
  source: string;
  strace: 'starting' | 'tracing' | 'detaching' | 'ended' | 'replay';
  traced: number;
  commandExit: { code: number | null; signal: string | null } | null;
  json: string | null;
  message?: string;
  /** the live tracer's name in the status bar (default strace) */
  tracer?: 'strace' | 'eBPF';
}

export interface ReplayState {
  position: number;
  total: number;
  playing: boolean;
  speed: number;
  done: boolean;
}

export type PanelId = 'processes' | 'fds' | 'transfers' | 'maps' | 'alerts';
export const PANELS: readonly PanelId[] = ['processes', 'fds', 'transfers', 'maps', 'alerts'];

/** What a row selects: a pid, an fd, "pid:fd" (both ends of a transfer), a transfer or alert seq, a map start. */
export type RowKey = string | number | null;

export type DashboardEvent =
  | { type: 'record'; record: FdwatchRecord }
  | { type: 'status'; status: Partial<DashboardStatus> }
  | { type: 'key'; key: string }
  | { type: 'mouse'; action: 'click' | 'wheelup' | 'wheeldown'; x: number; y: number }
  | { type: 'tick'; now: number }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'replay'; replay: ReplayState };

/** What the app must do after an event: the store itself never touches files, timers or the tracer. */
export type Effect =
  | { kind: 'quit' }
  | { kind: 'export' }
  | { kind: 'replay'; op: 'toggle' | 'step' | 'faster' | 'slower' };

export interface Overlay { kind: 'help' | 'details'; title: string; lines: string[]; offset: number }

export interface Selection {
  pid: number | null;
  fd: number | null;
  transfer: number | null;
  map: string | null;
  alert: number | null;
}

export interface State {
  model: Model;
  /** the frozen copy the view shows while paused; the model keeps taking records */
  frozen: Model | null;
  paused: boolean;
  /** records taken while paused */
  pendingWhilePaused: number;
  following: boolean;
  focus: PanelId;
  sel: Selection;
  /** the FD table shows the selected process, or both ends of the selected transfer */
  fdView: 'process' | 'transfer';
  /** first row shown per panel: a memo the renderer keeps so the selection stays in view */
  scroll: Record<PanelId, number>;
  /** keys of the rows the last frame drew, per panel, so a click selects what the user saw */
  shown: Record<PanelId, RowKey[]>;
  filter: string;
  /** the filter being typed after `/`; `prev` is restored by Escape */
  editing: { text: string; prev: string } | null;
  overlay: Overlay | null;
  unfolded: Set<number>;
  /** wall ms each process was seen to exit: exited ones fold away EXITED_FOLD_MS later */
  exitedAt: Map<number, number>;
  /** `x`: show the exited processes that folded away */
  showExited: boolean;
  cols: number;
  rows: number;
  now: number;
  rate: { value: number; at: number; count: number };
  status: DashboardStatus;
  replay: ReplayState | null;
  unicode: boolean;
  color: boolean;
  effects: Effect[];
  /** set on quit: the status bar says "detaching..." until the app is done */
  quitting: boolean;
  /** bumped on every change the screen can show */
  version: number;
}

export function initialState(opts: { title?: string; cols?: number; rows?: number; now?: number; unicode?: boolean; color?: boolean; replay?: boolean; json?: string | null } = {}): State {
  return {
    model: emptyModel(), frozen: null, paused: false, pendingWhilePaused: 0, following: true,
    focus: 'processes', fdView: 'process',
    sel: { pid: null, fd: null, transfer: null, map: null, alert: null },
    scroll: { processes: 0, fds: 0, transfers: 0, maps: 0, alerts: 0 },
    shown: { processes: [], fds: [], transfers: [], maps: [], alerts: [] },
    filter: '', editing: null, overlay: null, unfolded: new Set(), exitedAt: new Map(), showExited: false,
    cols: opts.cols ?? 80, rows: opts.rows ?? 24, now: opts.now ?? 0,
    rate: { value: 0, at: opts.now ?? 0, count: 0 },
    status: {
      source: opts.title ?? '', strace: opts.replay ? 'replay' : 'starting', traced: 0, commandExit: null, json: opts.json ?? null,
    },
    replay: null,
    unicode: opts.unicode ?? true, color: opts.color ?? true,
    effects: [], quitting: false, version: 0,
  };
}

/** The model the panels draw: the frozen copy while paused. */
export function viewModel(s: State): Model {
  return s.frozen ?? s.model;
}

/** The key of the selected row of a panel. */
export function selectedKey(s: State, panel: PanelId): RowKey {
  switch (panel) {
    case 'processes': return s.sel.pid;
    case 'fds': return s.fdView === 'transfer' && s.sel.transfer !== null ? `${s.sel.pid}:${s.sel.fd}` : s.sel.fd;
    case 'transfers': return s.sel.transfer;
    case 'maps': return s.sel.map;
    case 'alerts': return s.sel.alert;
  }
}
