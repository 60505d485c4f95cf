// Two-arm tasks: determinism, success detection and expert success rate (see task-checks.ts).
import { describeTask } from "./task-checks.ts";

describeTask("handover");
describeTask("lift_box");
describeTask("place_two");
describeTask("open_drawer");
