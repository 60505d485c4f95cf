// Instructions: plain lowercase English under the token budget; held-out paraphrases and colours never leak into training.
import { describe, expect, it } from "vitest";
import { HELDOUT_COLOURS } from "../../src/sim/scene/colours.ts";
import { TEMPLATES } from "../../src/sim/tasks/instructions.ts";
import { TASKS } from "../../src/sim/tasks/index.ts";

/** A regex matching exactly the texts one template can produce. */
const pattern = (template: string): RegExp =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[a-z ]+")}$`);

describe("instructions", () => {
  const heldoutNames = Object.keys(HELDOUT_COLOURS);
  for (const task of TASKS) {
    it(`${task.name}: train and held-out splits use disjoint paraphrases; held-out colours only in held-out`, () => {
      const train = TEMPLATES[task.name].train.map(pattern);
      const heldout = TEMPLATES[task.name].heldout.map(pattern);
      for (let seed = 0; seed < 12; seed++) {
        const level = seed % 2 === 0 ? "clean" : "randomised";
        const a = task.generate(seed, level).instruction;
        const b = task.generate(seed, level, { split: "heldout" }).instruction;
        for (const text of [a, b]) {
          expect(text).toMatch(/^[a-z][a-z ,:']*$/);
          expect(text.split(" ").length).toBeLessThan(30);
        }
        expect(train.some((p) => p.test(a)) && !heldout.some((p) => p.test(a))).toBe(true);
        expect(heldout.some((p) => p.test(b)) && !train.some((p) => p.test(b))).toBe(true);
        expect(heldoutNames.some((c) => a.includes(c))).toBe(false);
        expect(heldoutNames.some((c) => b.includes(c))).toBe(true);
      }
    });
  }
});
