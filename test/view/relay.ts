// The relay fixture's ground truth: the pids its programs printed in each recording.
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../paths.js';

const OUT = path.join(root, 'fixtures', 'traces', 'relay', 'out');

/** The pids relay.c printed in this recording: "ready C <pid> D <pid>", "A <pid>", "B <pid>". */
export function relayPids(variant: string): { A: number; B: number; C: number; D: number } {
  const text = fs.readFileSync(path.join(OUT, `${variant}.txt`), 'utf8');
  const pid = (role: string): number => {
    const m = new RegExp(`\\b${role} (\\d+)`).exec(text);
    if (!m) throw new Error(`no pid of ${role} in out/${variant}.txt`);
    return Number(m[1]);
  };
  return { A: pid('A'), B: pid('B'), C: pid('C'), D: pid('D') };
}

