// A tmux server of the test file's own (-L SOCK), for the dashboard tests: run tmux commands, quote for its shell,
// and poll a pane until what the test waits for is on screen (bounded by a deadline, not a fixed sleep).
import { execFileSync } from 'node:child_process';

export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Tmux {
  tmux: (...args: string[]) => string;
  waitFor: (name: string, what: string, pred: (screen: string) => boolean, ms?: number) => Promise<string>;
}

export function tmuxServer(sock: string): Tmux {
  const tmux = (...args: string[]): string =>
    execFileSync('tmux', ['-u', '-L', sock, ...args], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8' } });
  const waitFor = async (name: string, what: string, pred: (screen: string) => boolean, ms = 20_000): Promise<string> => {
    const end = Date.now() + ms;
    let screen = '';
    while (Date.now() < end) {
      screen = tmux('capture-pane', '-p', '-t', name);
      if (pred(screen)) return screen;
      await sleep(40);
    }
    throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
  };
  return { tmux, waitFor };
}
