// Triangle meshes of MuJoCo primitive geoms in their local frames (counter-clockwise seen from outside).

/** Vertices [x, y, z, ...] and triangles [a, b, c, ...] of one geom in its own frame. */
export interface Mesh {
  readonly vertices: Float32Array;
  readonly triangles: Uint32Array;
}

/** MuJoCo geom type codes (mjtGeom). */
export const GEOM = { plane: 0, sphere: 2, capsule: 3, ellipsoid: 4, cylinder: 5, box: 6 } as const;

class MeshBuilder {
  readonly v: number[] = [];
  readonly t: number[] = [];
  vertex(x: number, y: number, z: number): number {
    this.v.push(x, y, z);
    return this.v.length / 3 - 1;
  }
  tri(a: number, b: number, c: number): void {
    this.t.push(a, b, c);
  }
  quad(a: number, b: number, c: number, d: number): void {
    this.tri(a, b, c);
    this.tri(a, c, d);
  }
  build(): Mesh {
    return { vertices: new Float32Array(this.v), triangles: new Uint32Array(this.t) };
  }
}

/** A box with half extents (hx, hy, hz). */
export function boxMesh(hx: number, hy: number, hz: number): Mesh {
  const b = new MeshBuilder();
  for (let i = 0; i < 8; i++) b.vertex(i & 1 ? hx : -hx, i & 2 ? hy : -hy, i & 4 ? hz : -hz);
  // Faces as corner indices (bit 0 = +x, bit 1 = +y, bit 2 = +z), wound outward.
  b.quad(0, 2, 3, 1); // -z
  b.quad(4, 5, 7, 6); // +z
  b.quad(0, 1, 5, 4); // -y
  b.quad(2, 6, 7, 3); // +y
  b.quad(0, 4, 6, 2); // -x
  b.quad(1, 3, 7, 5); // +x
  return b.build();
}

/**
 * A surface of revolution about z from a profile of (radius, z) rings, bottom to top; rings of radius 0
 * become single pole vertices.
 */
function lathe(profile: readonly (readonly [number, number])[], segments: number): Mesh {
  const b = new MeshBuilder();
  const rings: number[][] = profile.map(([r, z]) => {
    if (r === 0) return [b.vertex(0, 0, z)];
    return Array.from({ length: segments }, (_, s) => {
      const a = (2 * Math.PI * s) / segments;
      return b.vertex(r * Math.cos(a), r * Math.sin(a), z);
    });
  });
  for (let k = 0; k + 1 < rings.length; k++) {
    const lo = rings[k];
    const hi = rings[k + 1];
    for (let s = 0; s < segments; s++) {
      const s1 = (s + 1) % segments;
      if (lo.length === 1) b.tri(lo[0], hi[s1], hi[s]);
      else if (hi.length === 1) b.tri(lo[s], lo[s1], hi[0]);
      else b.quad(lo[s], lo[s1], hi[s1], hi[s]);
    }
  }
  return b.build();
}

/** A cylinder of radius r and half length hz along z, with caps. */
export function cylinderMesh(r: number, hz: number, segments = 16): Mesh {
  return lathe([[0, -hz], [r, -hz], [r, hz], [0, hz]], segments);
}

/** A capsule: a cylinder of half length hz with hemispherical ends of radius r. */
export function capsuleMesh(r: number, hz: number, segments = 16, capRings = 4): Mesh {
  const profile: [number, number][] = [[0, -hz - r]];
  for (let i = 1; i <= capRings; i++) {
    const a = (Math.PI / 2) * (i / capRings);
    profile.push([r * Math.sin(a), -hz - r * Math.cos(a)]);
  }
  for (let i = capRings; i >= 1; i--) {
    const a = (Math.PI / 2) * (i / capRings);
    profile.push([r * Math.sin(a), hz + r * Math.cos(a)]);
  }
  profile.push([0, hz + r]);
  return lathe(profile, segments);
}

/** An ellipsoid with semi-axes (rx, ry, rz); a sphere when they are equal. */
export function ellipsoidMesh(rx: number, ry: number, rz: number, segments = 14, rings = 8): Mesh {
  const profile: [number, number][] = [];
  for (let i = 0; i <= rings; i++) {
    const a = Math.PI * (i / rings);
    profile.push([i === 0 || i === rings ? 0 : Math.sin(a), -Math.cos(a)]);
  }
  const unit = lathe(profile, segments);
  const v = unit.vertices;
  for (let i = 0; i < v.length; i += 3) {
    v[i] *= rx;
    v[i + 1] *= ry;
    v[i + 2] *= rz;
  }
  return unit;
}

/** A plane facing +z; MuJoCo's size 0 means infinite, drawn here as 10 m. */
export function planeMesh(hx: number, hy: number): Mesh {
  const b = new MeshBuilder();
  const x = hx > 0 ? hx : 10;
  const y = hy > 0 ? hy : 10;
  b.quad(b.vertex(-x, -y, 0), b.vertex(x, -y, 0), b.vertex(x, y, 0), b.vertex(-x, y, 0));
  return b.build();
}

/** The mesh of a geom from its MuJoCo type and size; undefined for types we do not draw (mesh, hfield, sdf). */
export function geomMesh(type: number, size: ArrayLike<number>): Mesh | undefined {
  switch (type) {
    case GEOM.plane:
      return planeMesh(size[0], size[1]);
    case GEOM.sphere:
      return ellipsoidMesh(size[0], size[0], size[0]);
    case GEOM.ellipsoid:
      return ellipsoidMesh(size[0], size[1], size[2]);
    case GEOM.capsule:
      return capsuleMesh(size[0], size[1]);
    case GEOM.cylinder:
      return cylinderMesh(size[0], size[1]);
    case GEOM.box:
      return boxMesh(size[0], size[1], size[2]);
    default:
      return undefined;
  }
}
