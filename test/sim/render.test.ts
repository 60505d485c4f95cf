// The rasterizer against MuJoCo's own ray caster (mj_ray): per-pixel depth and geom ids must agree.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExpertContext } from "../../src/sim/control/motion.ts";
import { loadMujoco, nameId, type Mujoco } from "../../src/sim/mujoco.ts";
import { GEOM } from "../../src/sim/render/mesh.ts";
import { getTask } from "../../src/sim/tasks/index.ts";
import { World } from "../../src/sim/world.ts";

let mj: Mujoco;
beforeAll(async () => {
  mj = await loadMujoco();
});

/** Depth (along the view axis) and geom id of every pixel centre, by casting one MuJoCo ray per pixel. */
function rayCast(world: World, camera: string, width: number, height: number): { depth: Float64Array; geom: Int32Array } {
  const cam = nameId(mj, world.model, "camera", camera);
  const pos: Float64Array = world.data.cam_xpos.subarray(3 * cam, 3 * cam + 3);
  const R: Float64Array = world.data.cam_xmat.subarray(9 * cam, 9 * cam + 9);
  const focal = height / 2 / Math.tan((world.model.cam_fovy[cam] * Math.PI) / 360);
  const depth = new Float64Array(width * height).fill(Infinity);
  const geom = new Int32Array(width * height).fill(-1);
  const id = new mj.IntBuffer(1);
  try {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const c = [(x + 0.5 - width / 2) / focal, -(y + 0.5 - height / 2) / focal, -1];
        const dir = [0, 1, 2].map((r) => R[3 * r] * c[0] + R[3 * r + 1] * c[1] + R[3 * r + 2] * c[2]);
        const dist = mj.mj_ray(world.model, world.data, Array.from(pos), dir, [1, 1, 1, 1, 1, 1], true, -1, id, null);
        // dir has length |c|, so the ray parameter is already the distance along the view axis (c_z = -1).
        if (dist >= 0) {
          depth[y * width + x] = dist;
          geom[y * width + x] = id.GetView()[0];
        }
      }
    }
  } finally {
    id.delete();
  }
  return { depth, geom };
}

const CASES = [
  { task: "pick_place", robot: "arm5", camera: "top", steps: 25 },
  { task: "conveyor_sort", robot: "arm7", camera: "top", steps: 40 },
  { task: "conveyor_sort", robot: "arm7", camera: "wrist", steps: 40 },
  { task: "handover", robot: "dual_arm", camera: "left_wrist", steps: 30 },
  { task: "lift_box", robot: "dual_arm", camera: "top", steps: 30 },
] as const;

describe("rasterizer vs mj_ray", () => {
  const worlds: World[] = [];
  afterAll(() => worlds.forEach((w) => w.delete()));

  it.each(CASES)("$task/$robot camera $camera: geom ids and depth agree", ({ task, robot, camera, steps }) => {
    const instance = getTask(task).generate(1, "clean", { robot });
    const world = new World(mj, instance.scene);
    worlds.push(world);
    const ctx = new ExpertContext(world);
    const motion = instance.expert(ctx);
    for (let t = 0; t < steps && !motion.next().done; t++) world.step(ctx.command);
    ctx.delete();
    const [w, h] = [64, 48];
    const frame = world.render(camera, w, h, { depth: true, segmentation: true });
    const truth = rayCast(world, camera, w, h);
    const types: Int32Array = world.model.geom_type;
    const sizes: Float64Array = world.model.geom_size;
    let same = 0;
    let worstFlat = 0;
    const curved: { err: number; radius: number }[] = [];
    for (let i = 0; i < w * h; i++) {
      const g = truth.geom[i];
      if (frame.segmentation![i] !== g) continue;
      same++;
      if (g < 0) continue;
      const err = Math.abs(frame.depth![i] - truth.depth[i]);
      if (types[g] === GEOM.box || types[g] === GEOM.plane) worstFlat = Math.max(worstFlat, err / truth.depth[i]);
      else curved.push({ err, radius: sizes[3 * g] });
    }
    // Curved geoms are tessellated (12-16 sides), so a few silhouette pixels may see the geom behind instead.
    expect(same / (w * h)).toBeGreaterThan(0.97);
    // Flat faces are exact up to float32 depth storage.
    expect(worstFlat).toBeLessThan(1e-5);
    // Inscribed facets: the sagitta is r(1 - cos 15deg) ~ 1 mm, more where a ray grazes a capsule cap (measured <= 0.3 r).
    expect(curved.filter((c) => c.err < 0.003).length).toBeGreaterThanOrEqual(0.9 * curved.length);
    for (const c of curved) expect(c.err).toBeLessThan(0.35 * c.radius);
  });
});

describe("rasterizer output", () => {
  it("returns RGB [H, W, 3] at any size, with sky where nothing is hit", () => {
    const instance = getTask("stack").generate(0, "clean");
    const world = new World(mj, instance.scene);
    try {
      for (const [w, h] of [[64, 64], [224, 224], [96, 64]]) {
        const f = world.render("top", w, h, { depth: true, segmentation: true });
        expect(f.rgb.length).toBe(w * h * 3);
        expect(f.depth!.length).toBe(w * h);
        const skyPixels = f.segmentation!.filter((g) => g < 0).length;
        expect(f.depth!.filter((d) => !Number.isFinite(d)).length).toBe(skyPixels);
      }
    } finally {
      world.delete();
    }
  });

  it("adds pixel noise only on the randomised level, with the scene's standard deviation", async () => {
    const { makeRng } = await import("../../src/sim/rng.ts");
    for (const level of ["clean", "randomised"] as const) {
      const instance = getTask("stack").generate(3, level);
      const world = new World(mj, instance.scene);
      try {
        const plain = world.render("top", 64, 64).rgb;
        const noisy = world.render("top", 64, 64, { noise: makeRng(7) }).rgb;
        let sum = 0;
        let sq = 0;
        let n = 0;
        plain.forEach((v, i) => {
          // Skip saturated channels, where clipping shrinks the noise.
          if (v < 20 || v > 235) return;
          const d = noisy[i] - v;
          sum += d;
          sq += d * d;
          n++;
        });
        const std = Math.sqrt(sq / n - (sum / n) ** 2);
        if (level === "clean") expect(std).toBe(0);
        else expect(Math.abs(std - instance.scene.style.pixelNoise)).toBeLessThan(0.35);
      } finally {
        world.delete();
      }
    }
  });
});
