// Signals that end fdwatch (SIGINT, SIGTERM, SIGHUP) and the exit status after one: 128 + its number, as shells do.
import os from 'node:os';

export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function signalNumber(sig: string): number {
  return (os.constants.signals as Record<string, number>)[sig] ?? 1;
}

/** The exit status of a process that ended because of `sig`. */
export function signalExit(sig: string): number {
  return 128 + signalNumber(sig);
}

export interface SignalWatch {
  /** the first stop signal received, or null */
  readonly first: NodeJS.Signals | null;
  dispose(): void;
}

/**
 * Catches the stop signals from now on (so none can kill fdwatch by default action once a child exists) and
 * calls `on` with each and how many have arrived so far.
 */
export function watchSignals(on: (sig: NodeJS.Signals, count: number) => void): SignalWatch {
  let first: NodeJS.Signals | null = null;
  let count = 0;
  const handler = (sig: NodeJS.Signals): void => {
    first ??= sig;
    on(sig, ++count);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return {
    get first() { return first; },
    dispose() { for (const s of STOP_SIGNALS) process.removeListener(s, handler); },
  };
}
