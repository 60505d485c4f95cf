// Dynamic (conveyor) tasks: determinism, success detection and expert success rate (see task-checks.ts).
import { describeTask } from "./task-checks.ts";

describeTask("conveyor_sort");
describeTask("moving_pick");
