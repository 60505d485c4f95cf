// Instruction paraphrase templates per task, with a held-out set of paraphrases for generalisation tests.
import { type Rng } from "../rng.ts";
import { type Split } from "../scene/colours.ts";

/** Templates use {slot} placeholders filled from the task's values; all text is plain lowercase English. */
interface TemplateSet {
  readonly train: readonly string[];
  readonly heldout: readonly string[];
}

/** pick_place and pick_cube (the same instruction without distractors). */
const CUBE_ON_PAD: TemplateSet = {
  train: [
    "put the {object} on the {zone}",
    "pick up the {object} and place it on the {zone}",
    "move the {object} onto the {zone}",
    "place the {object} on the {zone}",
  ],
  heldout: ["set the {object} down on the {zone}", "could you transfer the {object} to the {zone}"],
};

export const TEMPLATES: Readonly<Record<string, TemplateSet>> = {
  pick_place: CUBE_ON_PAD,
  pick_cube: CUBE_ON_PAD,
  stack: {
    train: ["stack the {top} on the {bottom}", "put the {top} on top of the {bottom}", "place the {top} onto the {bottom}"],
    heldout: ["build a tower with the {top} above the {bottom}", "set the {top} on the {bottom}"],
  },
  sort_by_colour: {
    train: ["put the {colour} blocks in the {bin}", "sort the {colour} blocks into the {bin}", "move all {colour} blocks to the {bin}"],
    heldout: ["collect every {colour} block in the {bin}", "the {colour} blocks belong in the {bin}, put them there"],
  },
  conveyor_sort: {
    train: [
      "sort the parcels: {a} ones go in the {binA}, {b} ones in the {binB}",
      "put {a} parcels in the {binA} and {b} parcels in the {binB}",
      "pick the parcels off the belt, {a} to the {binA} and {b} to the {binB}",
    ],
    heldout: ["route each {a} parcel to the {binA} and each {b} parcel to the {binB}", "{a} parcels belong in the {binA}, {b} parcels in the {binB}"],
  },
  moving_pick: {
    train: ["pick the {object} from the moving belt and put it in the {tray}", "grab the {object} off the conveyor and drop it in the {tray}", "take the {object} from the belt into the {tray}"],
    heldout: ["catch the {object} on the belt and place it in the {tray}", "while the belt runs, move the {object} to the {tray}"],
  },
  handover: {
    train: ["hand the {object} from the left arm to the right arm and put it on the {zone}", "pass the {object} to the right hand and place it on the {zone}", "hand over the {object} and set it on the {zone}"],
    heldout: ["transfer the {object} between the arms, then put it on the {zone}", "give the {object} to the other hand and leave it on the {zone}"],
  },
  lift_box: {
    train: ["lift the {object} with both arms", "use both hands to lift the {object}", "pick up the {object} by its handles"],
    heldout: ["raise the {object} off the table with two hands", "hold the {object} up using both arms"],
  },
  place_two: {
    train: ["put the {a} and the {b} on the {zone}", "place both the {a} and the {b} on the {zone}", "move the {a} and the {b} onto the {zone}"],
    heldout: ["set the {a} and the {b} down on the {zone}", "bring the {a} and the {b} to the {zone}"],
  },
  open_drawer: {
    train: ["open the {drawer}", "pull the {drawer} open", "slide the {drawer} out"],
    heldout: ["pull out the {drawer}", "open up the {drawer} by its handle"],
  },
};

/** Fills a random template of `task` for the split with `slots`; unknown slots are a bug and throw. */
export function makeInstruction(task: string, rng: Rng, split: Split, slots: Readonly<Record<string, string>>): string {
  const set = TEMPLATES[task];
  if (!set) throw new RangeError(`makeInstruction: no templates for task "${task}"`);
  const template = rng.pick(set[split]);
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = slots[key];
    if (v === undefined) throw new RangeError(`makeInstruction: template "${template}" needs slot {${key}}`);
    return v;
  });
}
