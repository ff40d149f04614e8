import { loadStackConfig } from "./load";
import { cellplane, planCells } from "./program";

// Validate and plan before the first resource exists, so a bad config creates nothing.
const stack = loadStackConfig();
const plan = planCells(stack);

export = cellplane(stack, plan);
