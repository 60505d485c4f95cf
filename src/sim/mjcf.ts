// A tiny MJCF (MuJoCo XML) builder: elements as plain objects, numbers printed with fixed precision.

export type Vec3 = readonly [number, number, number];
export type AttrValue = string | number | readonly number[] | undefined;

/** One XML element; undefined attributes are left out. */
export interface XmlNode {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly children: readonly XmlNode[];
}

/** Builds an element: el("geom", { type: "box", size: [0.1, 0.1, 0.1] }). */
export function el(tag: string, attrs: Record<string, AttrValue> = {}, children: readonly (XmlNode | null | undefined)[] = []): XmlNode {
  return { tag, attrs, children: children.filter((c): c is XmlNode => c != null) };
}

/** Prints a number with at most 6 decimals and no trailing zeros (stable across runs and platforms). */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`mjcf: non-finite number ${n}`);
  const s = n.toFixed(6).replace(/\.?0+$/, "");
  return s === "-0" ? "0" : s;
}

function attrText(v: AttrValue): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return fmt(v);
  if (typeof v === "string") return v.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  return v.map(fmt).join(" ");
}

/** Serialises an element tree to XML text. */
export function toXml(node: XmlNode, indent = ""): string {
  const attrs = Object.entries(node.attrs)
    .map(([k, v]) => [k, attrText(v)] as const)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join("");
  if (node.children.length === 0) return `${indent}<${node.tag}${attrs}/>`;
  const inner = node.children.map((c) => toXml(c, indent + "  ")).join("\n");
  return `${indent}<${node.tag}${attrs}>\n${inner}\n${indent}</${node.tag}>`;
}

/** Camera axes (MJCF `xyaxes`) for a camera at `pos` looking at `target` with world z up. */
export function lookAtAxes(pos: Vec3, target: Vec3): number[] {
  const f = normalize([target[0] - pos[0], target[1] - pos[1], target[2] - pos[2]]);
  let r = cross(f, [0, 0, 1]);
  if (Math.hypot(...r) < 1e-6) r = [0, -1, 0];
  r = normalize(r);
  const u = cross(r, f);
  return [...r, ...u];
}

export function cross(a: Vec3, b: Vec3): [number, number, number] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function normalize(a: Vec3): [number, number, number] {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
}

/** Quaternion (w, x, y, z) of a rotation by `angle` about world z. */
export function yawQuat(angle: number): number[] {
  return [Math.cos(angle / 2), 0, 0, Math.sin(angle / 2)];
}
