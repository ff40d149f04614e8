import { loadStackConfig } from "./load";
import { cellplane } from "./program";

// Validation comes before the first resource, so a bad config creates nothing.
export = cellplane(loadStackConfig());
