// Registers the toBeAllclose matcher for every test file.
import { expect } from "vitest";
import { compareAllclose, type Numeric, type Tolerance, TOL } from "./allclose.ts";

expect.extend({
  toBeAllclose(received: Numeric, expected: Numeric, tol: Tolerance = TOL.f32, label?: string) {
    const r = compareAllclose(received, expected, tol, label);
    return { pass: r.ok, message: () => r.message };
  },
});

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- must match vitest's declaration
  interface Matchers<T = any> {
    /** Elementwise |a - e| <= atol + rtol |e|, reporting the worst elements; default TOL.f32. */
    toBeAllclose(expected: Numeric, tol?: Tolerance, label?: string): T;
  }
}
