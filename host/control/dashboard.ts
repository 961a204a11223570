// The dashboard's files, served by the control server as they are (no build
// step, nothing from a CDN): host/dashboard/. They hold no data and need no
// token; the page asks the API for everything it shows, with the token it was
// opened with (/dashboard?token=...).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';

export const DASHBOARD_FILES: Record<string, { file: string; type: string }> = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export function dashboardFile(name: string): string {
  return readFileSync(join(PROJECT_ROOT, 'host', 'dashboard', name), 'utf8');
}
