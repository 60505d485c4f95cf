// Static tasks: determinism, success detection and expert success rate (see task-checks.ts).
import { describeTask } from "./task-checks.ts";

describeTask("pick_cube");
describeTask("pick_place");
describeTask("stack");
describeTask("sort_by_colour");
