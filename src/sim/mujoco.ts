// Loads the MuJoCo WASM module once per thread and wraps name lookups with clear errors.
import type { MainModule, MjData, MjModel } from "@mujoco/mujoco";
import { InternvlaError } from "../tensor/errors.ts";

export type Mujoco = MainModule;
export type { MjData, MjModel };

/** A scene failed to compile or a name is missing from a compiled model. */
export class SimError extends InternvlaError {}

let loading: Promise<Mujoco> | undefined;

/**
 * The MuJoCo module of this thread (about 0.3-0.5 s the first time). One instance per worker thread: its
 * memory is private, so models and data never cross threads.
 */
export function loadMujoco(): Promise<Mujoco> {
  loading ??= import("@mujoco/mujoco").then((m) => m.default());
  return loading;
}

export type ObjKind = "body" | "joint" | "geom" | "site" | "camera" | "actuator";

const OBJ_FIELD: Record<ObjKind, string> = {
  body: "mjOBJ_BODY", joint: "mjOBJ_JOINT", geom: "mjOBJ_GEOM", site: "mjOBJ_SITE", camera: "mjOBJ_CAMERA", actuator: "mjOBJ_ACTUATOR",
};

/** The id of a named object; a missing name is a bug in scene construction, reported with the kind. */
export function nameId(mj: Mujoco, model: MjModel, kind: ObjKind, name: string): number {
  const objType = (mj.mjtObj as unknown as Record<string, { value: number }>)[OBJ_FIELD[kind]].value;
  const id = mj.mj_name2id(model, objType, name);
  if (id < 0) throw new SimError(`sim: no ${kind} named "${name}" in the compiled scene`, "internal: scene and robot names disagree");
  return id;
}

/** Compiles MJCF text, turning MuJoCo's exception into a SimError that shows the offending line. */
export function compileModel(mj: Mujoco, xml: string): MjModel {
  try {
    return mj.MjModel.from_xml_string(xml);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const line = /line (\d+)/.exec(msg);
    const context = line ? `\n  line ${line[1]}: ${xml.split("\n")[Number(line[1]) - 1]?.trim()}` : "";
    throw new SimError(`sim: MuJoCo could not compile the scene: ${msg}${context}`);
  }
}
