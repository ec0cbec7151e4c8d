// Where each panel sits on a cols x rows terminal (pure geometry): the renderer draws into these rects,
// and the store hit-tests clicks and sizes page moves with them.
import type { PanelId } from './state.js';

export interface Rect { x: number; y: number; w: number; h: number }
export type Layout = Record<PanelId | 'title' | 'status', Rect>;

/**
 * Title bar, then Processes | FD table, Transfers across, Maps | Alerts, and the status bar.
 * Each panel rect includes its own title line; side-by-side panels have one separator column between them.
 */
export function layout(cols: number, rows: number): Layout {
  const H = Math.max(0, rows - 2);
  const topH = Math.max(Math.min(H, 3), Math.round(H * 0.48));
  const transH = Math.max(Math.min(H - topH, 3), Math.round(H * 0.3));
  const botH = Math.max(0, H - topH - transH);
  const leftW = Math.min(cols, Math.max(32, Math.min(90, Math.round(cols * 0.36))));
  const rightW = Math.max(0, cols - leftW - 1);
  const mapsW = Math.max(0, Math.round(cols * 0.5));
  const alertsW = Math.max(0, cols - mapsW - 1);
  const y0 = 1;
  return {
    title: { x: 0, y: 0, w: cols, h: 1 },
    processes: { x: 0, y: y0, w: leftW, h: topH },
    fds: { x: leftW + 1, y: y0, w: rightW, h: topH },
    transfers: { x: 0, y: y0 + topH, w: cols, h: transH },
    maps: { x: 0, y: y0 + topH + transH, w: mapsW, h: botH },
    alerts: { x: mapsW + 1, y: y0 + topH + transH, w: alertsW, h: botH },
    status: { x: 0, y: Math.max(0, rows - 1), w: cols, h: 1 },
  };
}
