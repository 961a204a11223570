// The dashboard's files, served by the control server as they are (no build
// step, nothing from a CDN): host/dashboard/, and the chart library (uPlot)
// from its npm package. They hold no data and need no token; the page asks the
// API for everything it shows, with the token it was opened with
// (/dashboard?token=...).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';

const PAGE = join(PROJECT_ROOT, 'host', 'dashboard');
const UPLOT = join(PROJECT_ROOT, 'node_modules', 'uplot', 'dist');

export const DASHBOARD_FILES: Record<string, { file: string; type: string }> = {
  '/dashboard': { file: join(PAGE, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: join(PAGE, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: join(PAGE, 'style.css'), type: 'text/css; charset=utf-8' },
  '/dashboard/uplot.js': { file: join(UPLOT, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/uplot.css': { file: join(UPLOT, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export function dashboardFile(file: string): string {
  return readFileSync(file, 'utf8');
}
