// A z-buffer triangle rasterizer over a MuJoCo model's geoms: RGB, depth and geom-id images from its cameras.
import { type MjData, type MjModel } from "../mujoco.ts";
import { type SceneStyle } from "../scene/colours.ts";
import { geomMesh, type Mesh } from "./mesh.ts";

/** One rendered view: RGB uint8 [H, W, 3]; on request depth (metres along the view axis, Infinity = sky) and geom ids (-1 = sky). */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly depth?: Float32Array;
  readonly segmentation?: Int32Array;
}

/** Optional outputs of a render. */
export interface RenderExtras {
  readonly depth?: boolean;
  readonly segmentation?: boolean;
}

interface DrawGeom {
  readonly id: number;
  readonly mesh: Mesh;
  readonly rgb: readonly [number, number, number];
  readonly radius: number;
}

const NEAR = 0.01;
/** Geoms in groups >= 3 are collision-only or markers and are not drawn (MuJoCo's default visibility). */
const MAX_VISIBLE_GROUP = 2;

/**
 * Draws the geoms of one compiled model. Meshes are built once from the model (sizes and colours as
 * compiled); poses are read from MjData at every call, so one Rasterizer serves a whole episode.
 */
export class Rasterizer {
  readonly #geoms: DrawGeom[] = [];
  readonly #style: SceneStyle;
  #cam = new Float64Array(12); // camera-space transform of the current geom: 3x3 rotation + translation
  #verts = new Float64Array(0); // camera-space vertices of the current geom
  #clip = new Float64Array(3 * 9);
  #inv = new Float32Array(0); // 1 / depth per pixel, 0 = nothing drawn yet
  #seg = new Int32Array(0);
  #background = new Uint8Array(0);

  constructor(model: MjModel, style: SceneStyle) {
    this.#style = style;
    const types: Int32Array = model.geom_type;
    const sizes: Float64Array = model.geom_size;
    const rgba: Float32Array = model.geom_rgba;
    const groups: Int32Array = model.geom_group;
    const rbound: Float64Array = model.geom_rbound;
    let maxVerts = 0;
    for (let g = 0; g < model.ngeom; g++) {
      if (groups[g] > MAX_VISIBLE_GROUP || rgba[4 * g + 3] === 0) continue;
      const mesh = geomMesh(types[g], sizes.subarray(3 * g, 3 * g + 3));
      if (!mesh) continue;
      maxVerts = Math.max(maxVerts, mesh.vertices.length / 3);
      this.#geoms.push({ id: g, mesh, rgb: [rgba[4 * g], rgba[4 * g + 1], rgba[4 * g + 2]], radius: rbound[g] > 0 ? rbound[g] : Infinity });
    }
    this.#verts = new Float64Array(3 * maxVerts);
  }

  /** Renders camera `cameraId` at width x height from the poses in `data`. */
  render(model: MjModel, data: MjData, cameraId: number, width: number, height: number, extras: RenderExtras = {}): Frame {
    const n = width * height;
    if (this.#inv.length !== n) {
      this.#inv = new Float32Array(n);
      this.#seg = new Int32Array(n);
      this.#background = new Uint8Array(3 * n);
      const sky = this.#style.sky.map((c) => Math.round(c * 255));
      for (let i = 0; i < n; i++) this.#background.set(sky, 3 * i);
    }
    const rgb = Uint8Array.from(this.#background);
    this.#inv.fill(0);
    this.#seg.fill(-1);
    const camPos: Float64Array = data.cam_xpos.subarray(3 * cameraId, 3 * cameraId + 3);
    const camMat: Float64Array = data.cam_xmat.subarray(9 * cameraId, 9 * cameraId + 9);
    const fovy: number = model.cam_fovy[cameraId];
    const focal = height / 2 / Math.tan((fovy * Math.PI) / 360);
    const light = this.#style.lightDir;
    // The light direction in camera coordinates (camera axes are the columns of camMat).
    const lc = [0, 1, 2].map((k) => camMat[k] * light[0] + camMat[3 + k] * light[1] + camMat[6 + k] * light[2]);
    const xpos: Float64Array = data.geom_xpos;
    const xmat: Float64Array = data.geom_xmat;
    const view: View = { width, height, focal, rgb, inv: this.#inv, seg: this.#seg, light: lc };
    for (const geom of this.#geoms) {
      if (!this.#placeGeom(geom, xpos, xmat, camPos, camMat, view)) continue;
      this.#drawGeom(geom, view);
    }
    const frame: { width: number; height: number; rgb: Uint8Array; depth?: Float32Array; segmentation?: Int32Array } = { width, height, rgb };
    if (extras.depth) frame.depth = Float32Array.from(this.#inv, (w) => (w > 0 ? 1 / w : Infinity));
    if (extras.segmentation) frame.segmentation = Int32Array.from(this.#seg);
    return frame;
  }

  /** Computes the geom-to-camera transform; false when the geom's bounding sphere is outside the view. */
  #placeGeom(geom: DrawGeom, xpos: Float64Array, xmat: Float64Array, camPos: Float64Array, camMat: Float64Array, view: View): boolean {
    const g = geom.id;
    const dx = xpos[3 * g] - camPos[0];
    const dy = xpos[3 * g + 1] - camPos[1];
    const dz = xpos[3 * g + 2] - camPos[2];
    const m = this.#cam;
    // Translation: the geom centre in camera coordinates.
    m[9] = camMat[0] * dx + camMat[3] * dy + camMat[6] * dz;
    m[10] = camMat[1] * dx + camMat[4] * dy + camMat[7] * dz;
    m[11] = camMat[2] * dx + camMat[5] * dy + camMat[8] * dz;
    const depth = -m[11];
    const r = geom.radius;
    if (depth + r < NEAR) return false;
    const tanX = view.width / 2 / view.focal;
    const tanY = view.height / 2 / view.focal;
    if (Math.abs(m[9]) - r * Math.hypot(1, tanX) > depth * tanX) return false;
    if (Math.abs(m[10]) - r * Math.hypot(1, tanY) > depth * tanY) return false;
    // Rotation: camMat^T * geomMat (row-major 3x3).
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        m[3 * i + j] = camMat[i] * xmat[9 * g + j] + camMat[3 + i] * xmat[9 * g + 3 + j] + camMat[6 + i] * xmat[9 * g + 6 + j];
      }
    }
    return true;
  }

  #drawGeom(geom: DrawGeom, view: View): void {
    const m = this.#cam;
    const src = geom.mesh.vertices;
    const v = this.#verts;
    for (let i = 0; i < src.length; i += 3) {
      const x = src[i];
      const y = src[i + 1];
      const z = src[i + 2];
      v[i] = m[0] * x + m[1] * y + m[2] * z + m[9];
      v[i + 1] = m[3] * x + m[4] * y + m[5] * z + m[10];
      v[i + 2] = m[6] * x + m[7] * y + m[8] * z + m[11];
    }
    const tris = geom.mesh.triangles;
    const poly = this.#clip;
    for (let t = 0; t < tris.length; t += 3) {
      const a = 3 * tris[t];
      const b = 3 * tris[t + 1];
      const c = 3 * tris[t + 2];
      // Face normal in camera space, for culling and Lambert shading.
      const e1x = v[b] - v[a], e1y = v[b + 1] - v[a + 1], e1z = v[b + 2] - v[a + 2];
      const e2x = v[c] - v[a], e2y = v[c + 1] - v[a + 1], e2z = v[c + 2] - v[a + 2];
      let nx = e1y * e2z - e1z * e2y;
      let ny = e1z * e2x - e1x * e2z;
      let nz = e1x * e2y - e1y * e2x;
      // Back face: the normal points away from the eye (the eye is at the camera-space origin).
      if (nx * v[a] + ny * v[a + 1] + nz * v[a + 2] >= 0) continue;
      const nl = Math.hypot(nx, ny, nz) || 1;
      nx /= nl;
      ny /= nl;
      nz /= nl;
      const shade = this.#shade(nx, ny, nz, view.light);
      const n = clipNear(v, a, b, c, poly);
      for (let k = 1; k + 1 < n; k++) rasterTriangle(poly, 0, 3 * k, 3 * (k + 1), geom, shade, view);
    }
  }

  #shade(nx: number, ny: number, nz: number, light: readonly number[]): number {
    const s = this.#style;
    const lambert = Math.max(0, nx * light[0] + ny * light[1] + nz * light[2]);
    // A weak headlight term (|n . view axis|) keeps faces turned away from the light readable.
    return s.ambient + s.diffuse * lambert + 0.12 * Math.abs(nz);
  }
}

interface View {
  readonly width: number;
  readonly height: number;
  readonly focal: number;
  readonly rgb: Uint8Array;
  readonly inv: Float32Array;
  readonly seg: Int32Array;
  readonly light: readonly number[];
}

/** Clips triangle (a, b, c) of `v` against depth >= NEAR into `out` (a convex polygon); returns its vertex count. */
function clipNear(v: Float64Array, a: number, b: number, c: number, out: Float64Array): number {
  let n = 0;
  for (let i = 0; i < 3; i++) {
    const p = i === 0 ? a : i === 1 ? b : c;
    const q = i === 0 ? b : i === 1 ? c : a;
    const dp = -v[p + 2] - NEAR;
    const dq = -v[q + 2] - NEAR;
    if (dp >= 0) {
      out[3 * n] = v[p];
      out[3 * n + 1] = v[p + 1];
      out[3 * n + 2] = v[p + 2];
      n++;
    }
    if ((dp >= 0) !== (dq >= 0)) {
      const t = dp / (dp - dq);
      out[3 * n] = v[p] + t * (v[q] - v[p]);
      out[3 * n + 1] = v[p + 1] + t * (v[q + 1] - v[p + 1]);
      out[3 * n + 2] = v[p + 2] + t * (v[q + 2] - v[p + 2]);
      n++;
    }
  }
  return n;
}

/** Fills one camera-space triangle (all vertices in front of the near plane) with a flat colour, row span by span. */
function rasterTriangle(p: Float64Array, a: number, b: number, c: number, geom: DrawGeom, shade: number, view: View): void {
  const { width, height, focal, rgb, inv, seg } = view;
  const cx = width / 2;
  const cy = height / 2;
  const wa = 1 / -p[a + 2], wb = 1 / -p[b + 2], wc = 1 / -p[c + 2];
  const xa = cx + focal * p[a] * wa, ya = cy - focal * p[a + 1] * wa;
  const xb = cx + focal * p[b] * wb, yb = cy - focal * p[b + 1] * wb;
  const xc = cx + focal * p[c] * wc, yc = cy - focal * p[c + 1] * wc;
  const area = (xb - xa) * (yc - ya) - (yb - ya) * (xc - xa);
  if (area === 0 || !Number.isFinite(area)) return;
  const y0 = Math.max(0, Math.ceil(Math.min(ya, yb, yc) - 0.5));
  const y1 = Math.min(height - 1, Math.floor(Math.max(ya, yb, yc) - 0.5));
  if (y0 > y1) return;
  // Barycentric weights are affine in the pixel centre: l_i = a_i + b_i px + c_i py (l2 = 1 - l0 - l1).
  const k = 1 / area;
  const a0 = (xb * yc - yb * xc) * k, b0 = (yb - yc) * k, c0 = (xc - xb) * k;
  const a1 = (xc * ya - yc * xa) * k, b1 = (yc - ya) * k, c1 = (xa - xc) * k;
  const b2 = -b0 - b1;
  // 1/depth is affine in screen space too (perspective-correct depth): w = wc + (wa - wc) l0 + (wb - wc) l1.
  const wx = (wa - wc) * b0 + (wb - wc) * b1;
  const r = Math.min(255, Math.round(geom.rgb[0] * shade * 255));
  const g = Math.min(255, Math.round(geom.rgb[1] * shade * 255));
  const bl = Math.min(255, Math.round(geom.rgb[2] * shade * 255));
  const id = geom.id;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5;
    const r0 = a0 + c0 * py;
    const r1 = a1 + c1 * py;
    const r2 = 1 - r0 - r1;
    // The span of px where r_i + b_i px >= 0 for all three edges.
    let lo = 0.5;
    let hi = width - 0.5;
    if (b0 > 0) lo = Math.max(lo, -r0 / b0); else if (b0 < 0) hi = Math.min(hi, -r0 / b0); else if (r0 < 0) continue;
    if (b1 > 0) lo = Math.max(lo, -r1 / b1); else if (b1 < 0) hi = Math.min(hi, -r1 / b1); else if (r1 < 0) continue;
    if (b2 > 0) lo = Math.max(lo, -r2 / b2); else if (b2 < 0) hi = Math.min(hi, -r2 / b2); else if (r2 < 0) continue;
    const xs = Math.ceil(lo - 0.5);
    const xe = Math.floor(hi - 0.5);
    if (xs > xe) continue;
    let w = wc + (wa - wc) * (r0 + b0 * (xs + 0.5)) + (wb - wc) * (r1 + b1 * (xs + 0.5));
    let i = y * width + xs;
    for (let x = xs; x <= xe; x++, i++, w += wx) {
      if (w <= inv[i]) continue;
      inv[i] = w;
      seg[i] = id;
      const o = 3 * i;
      rgb[o] = r;
      rgb[o + 1] = g;
      rgb[o + 2] = bl;
    }
  }
}
