// A grouped bar chart as a standalone SVG file: groups along the x axis, one
// bar per series in each group, an optional horizontal reference line (a
// target), and min-max whiskers where a bar has them.

export interface Bar {
  value: number;
  /** The spread of the repeats, drawn as a whisker. */
  min?: number;
  max?: number;
}

export interface BarChart {
  title: string;
  unit: string;
  groups: string[];
  /** One series per colour; values[g] is its bar in group g (undefined: no bar). */
  series: { name: string; values: (Bar | undefined)[] }[];
  reference?: { label: string; value: number };
}

const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];
const W = 760, H = 380, LEFT = 64, RIGHT = 16, TOP = 40, BOTTOM = 72;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** A round step for about five gridlines up to top. */
function gridStep(top: number): number {
  const raw = top / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

export function barChartSvg(c: BarChart): string {
  const values = c.series.flatMap((s) => s.values.flatMap((b) => (b ? [b.max ?? b.value] : [])));
  const top = Math.max(...values, c.reference?.value ?? 0, 1e-9) * 1.1;
  const step = gridStep(top);
  const yMax = Math.ceil(top / step) * step;
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const y = (v: number): number => TOP + plotH - (v / yMax) * plotH;
  const groupW = plotW / Math.max(c.groups.length, 1);
  const barW = (groupW * 0.8) / Math.max(c.series.length, 1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(c.title)}</text>`,
    `<text x="14" y="${TOP + plotH / 2}" transform="rotate(-90 14 ${TOP + plotH / 2})" text-anchor="middle">${esc(c.unit)}</text>`,
  ];
  for (let v = 0; v <= yMax + step / 2; v += step) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end">${num(v)}</text>`);
  }
  c.groups.forEach((g, gi) => {
    const x0 = LEFT + gi * groupW + groupW * 0.1;
    c.series.forEach((s, si) => {
      const b = s.values[gi];
      if (b === undefined) return;
      const x = x0 + si * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${y(b.value).toFixed(1)}" width="${(barW * 0.9).toFixed(1)}" height="${(y(0) - y(b.value)).toFixed(1)}" fill="${COLOURS[si % COLOURS.length]}"><title>${esc(`${s.name}, ${g}: ${num(b.value)} ${c.unit}`)}</title></rect>`);
      if (b.min !== undefined && b.max !== undefined) {
        const cx = (x + barW * 0.45).toFixed(1);
        out.push(`<line x1="${cx}" x2="${cx}" y1="${y(b.min).toFixed(1)}" y2="${y(b.max).toFixed(1)}" stroke="black"/>`);
      }
    });
    out.push(`<text x="${(LEFT + gi * groupW + groupW / 2).toFixed(1)}" y="${TOP + plotH + 16}" text-anchor="middle">${esc(g)}</text>`);
  });
  if (c.reference !== undefined) {
    const ry = y(c.reference.value).toFixed(1);
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${ry}" y2="${ry}" stroke="#c00" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${W - RIGHT - 4}" y="${Number(ry) - 4}" text-anchor="end" fill="#c00">${esc(c.reference.label)}</text>`);
  }
  c.series.forEach((s, si) => {
    const lx = LEFT + si * 150;
    out.push(`<rect x="${lx}" y="${H - 28}" width="12" height="12" fill="${COLOURS[si % COLOURS.length]}"/>`);
    out.push(`<text x="${lx + 16}" y="${H - 18}">${esc(s.name)}</text>`);
  });
  out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(0)}" y2="${y(0)}" stroke="black"/>`, '</svg>');
  return `${out.join('\n')}\n`;
}
