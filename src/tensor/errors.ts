// Error types shared by every layer: "where: what; expected X, got Y" plus a hint when the fix is known.

/** Base class of every error internvla raises on purpose. */
export class InternvlaError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  hint: ${hint}` : message);
    this.name = new.target.name;
  }
}

/** A tensor had the wrong rank, size or dtype. */
export class ShapeError extends InternvlaError {}

/** A configuration value broke a rule. */
export class ConfigError extends InternvlaError {}

/** A checkpoint or safetensors file is missing, truncated, or does not match the model. */
export class CheckpointError extends InternvlaError {}

/** Formats a shape for messages: [2, 3, 4]. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Checks a shape against named axes (numbers must match exactly; names bind on first use and must agree).
 * Returns the bound sizes, e.g. assertShape(x.shape, ["B", "T", 64], "mot.layer") -> { B: 2, T: 7 }.
 */
export function assertShape(
  shape: readonly number[],
  axes: readonly (string | number)[],
  where: string,
  bound: Record<string, number> = {},
): Record<string, number> {
  const expected = `[${axes.join(", ")}]`;
  if (shape.length !== axes.length) {
    throw new ShapeError(`${where}: expected rank ${axes.length} ${expected}, got ${fmtShape(shape)}`);
  }
  axes.forEach((axis, i) => {
    const size = shape[i];
    if (typeof axis === "number") {
      if (size !== axis) throw new ShapeError(`${where}: axis ${i} must be ${axis} in ${expected}, got ${fmtShape(shape)}`);
    } else if (axis in bound) {
      if (bound[axis] !== size) {
        throw new ShapeError(`${where}: axis ${axis} must be ${bound[axis]} in ${expected}, got ${fmtShape(shape)}`);
      }
    } else {
      bound[axis] = size;
    }
  });
  return bound;
}
