// A tiny SVG line-chart generator for the benchmark results (no dependency): panels side by
// side, each with log or linear axes, a few series of (x, y) points, and a legend.

export interface Series {
  name: string;
  color: string;
  /** SVG stroke-dasharray, e.g. '6 4' for a dashed line. */
  dash?: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  series: Series[];
  /** A line of small print under the plot. */
  note?: string;
}

const W = 460;
const H = 380;
const M = { left: 70, right: 16, top: 34, bottom: 124 };

export function svgChart(title: string, panels: Panel[]): string {
  const width = W * panels.length;
  const body = panels.map((p, i) => `<g transform="translate(${i * W},24)">${panel(p)}</g>`).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 24}" viewBox="0 0 ${width} ${H + 24}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

function panel(p: Panel): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => (!p.logX || x > 0) && (!p.logY || y > 0));
  const xs = axis(pts.map(([x]) => x), p.logX === true);
  const ys = axis(pts.map(([, y]) => y), p.logY === true);
  const sx = (x: number): number => M.left + ((xs.f(x) - xs.lo) / (xs.hi - xs.lo || 1)) * pw;
  const sy = (y: number): number => M.top + ph - ((ys.f(y) - ys.lo) / (ys.hi - ys.lo || 1)) * ph;
  const out: string[] = [`<text x="${W / 2}" y="18" text-anchor="middle" font-size="12" font-weight="bold">${esc(p.title)}</text>`];
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const t of ys.ticks) {
    const y = sy(t);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`, `<text x="${M.left - 4}" y="${y + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xs.ticks) {
    const x = sx(t);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`, `<text x="${x}" y="${M.top + ph + 14}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<text x="${M.left + pw / 2}" y="${M.top + ph + 30}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(14,${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const valid = s.points.filter(([x, y]) => (!p.logX || x > 0) && (!p.logY || y > 0));
    const d = valid.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    if (valid.length > 0) out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const [x, y] of valid) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)}: ${fmt(y)}</title></circle>`);
    const ly = M.top + ph + 48 + i * 15;
    const lx = M.left;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`, `<text x="${lx + 22}" y="${ly}">${esc(s.name)}</text>`);
  });
  if (p.note) out.push(`<text x="${M.left}" y="${H - 4}" font-size="10" fill="#555">${esc(p.note)}</text>`);
  return out.join('\n');
}

/** Axis range and ticks: powers of ten on a log axis, about five round steps on a linear one. */
function axis(values: number[], log: boolean): { f: (v: number) => number; lo: number; hi: number; ticks: number[] } {
  if (values.length === 0) return { f: (v) => v, lo: 0, hi: 1, ticks: [0, 1] };
  if (log) {
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
    return { f: Math.log10, lo, hi, ticks };
  }
  const max = Math.max(...values, 0);
  const step = niceStep(max / 5 || 1);
  const hi = Math.ceil(max / step) * step || 1;
  const ticks: number[] = [];
  for (let t = 0; t <= hi + step / 2; t += step) ticks.push(t);
  return { f: (v) => v, lo: 0, hi, ticks };
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** 1200 → 1.2k, 3e6 → 3M, 5e9 → 5G. */
export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
