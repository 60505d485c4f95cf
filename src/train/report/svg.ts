// Line plots as inline SVG (no scripts, no external files): axes with round ticks, optional log scale, a legend.

export interface Series {
  readonly name: string;
  /** [x, y] points; non-finite y (and y <= 0 on a log axis) are left out. */
  readonly points: readonly (readonly [number, number])[];
}

export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel?: string;
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const MARGIN = { left: 58, right: 12, top: 26, bottom: 40 };

/** Escapes text for HTML/SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** About `count` round tick values (1, 2, 5 x 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmtTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(0) : String(Number(v.toPrecision(3)));
}

/** The y range and ticks in plot units (log10 of the values on a log axis). */
function yAxis(values: number[], logY: boolean): { lo: number; hi: number; ticks: { at: number; label: string }[] } {
  if (logY) {
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
    const ticks = [];
    for (let k = lo; k <= hi; k++) ticks.push({ at: k, label: fmtTick(10 ** k) });
    return { lo, hi, ticks };
  }
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
  const ticks = niceTicks(lo, hi);
  return { lo: Math.min(lo, ticks[0]), hi: Math.max(hi, ticks[ticks.length - 1]), ticks: ticks.map((t) => ({ at: t, label: fmtTick(t) })) };
}

/**
 * An SVG line plot of one or more series. Returns an <svg class="plot"> element whose lines are
 * <path class="series">; with no plottable point it says so inside the frame.
 */
export function linePlot(series: readonly Series[], opts: PlotOptions): string {
  const W = opts.width ?? 420;
  const H = opts.height ?? 240;
  const logY = opts.logY ?? false;
  const clean = series.map((s) => ({ name: s.name, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) }));
  const all = clean.flatMap((s) => s.points);
  const head = `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(opts.title)}">`;
  const title = `<text x="${W / 2}" y="16" text-anchor="middle" class="title">${escapeXml(opts.title)}</text>`;
  const [x0, x1, y0, y1] = [MARGIN.left, W - MARGIN.right, MARGIN.top, H - MARGIN.bottom];
  const frame = `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#999"/>`;
  if (all.length === 0) {
    return `${head}${title}${frame}<text x="${(x0 + x1) / 2}" y="${(y0 + y1) / 2}" text-anchor="middle">no data</text></svg>`;
  }
  const xs = all.map((p) => p[0]);
  let [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  if (xhi === xlo) [xlo, xhi] = [xlo - 1, xhi + 1];
  const ya = yAxis(all.map((p) => p[1]), logY);
  const sx = (x: number) => x0 + ((x - xlo) / (xhi - xlo)) * (x1 - x0);
  const sy = (y: number) => y1 - (((logY ? Math.log10(y) : y) - ya.lo) / (ya.hi - ya.lo)) * (y1 - y0);
  const syTick = (at: number) => y1 - ((at - ya.lo) / (ya.hi - ya.lo)) * (y1 - y0);
  const parts = [head, title, frame];
  for (const t of niceTicks(xlo, xhi)) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${y1}" y2="${y1 + 4}" stroke="#999"/><text x="${sx(t)}" y="${y1 + 15}" text-anchor="middle" class="tick">${fmtTick(t)}</text>`);
  }
  for (const t of ya.ticks) {
    const y = syTick(t.at).toFixed(1);
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${x0 - 5}" y="${y}" dy="4" text-anchor="end" class="tick">${t.label}</text>`);
  }
  parts.push(`<text x="${(x0 + x1) / 2}" y="${H - 6}" text-anchor="middle" class="axis">${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) parts.push(`<text transform="translate(12 ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeXml(opts.yLabel + (logY ? " (log)" : ""))}</text>`);
  clean.forEach((s, i) => {
    if (s.points.length === 0) return;
    const colour = COLOURS[i % COLOURS.length];
    const d = s.points.map(([x, y], k) => `${k === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    parts.push(`<path class="series" data-name="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    parts.push(`<rect x="${x1 - 120}" y="${y0 + 6 + 14 * i}" width="10" height="3" fill="${colour}"/><text x="${x1 - 106}" y="${y0 + 11 + 14 * i}" class="legend">${escapeXml(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}
