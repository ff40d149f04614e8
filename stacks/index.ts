import { loadStackConfig } from "./load";
import { cellplane } from "./program";

export = cellplane(loadStackConfig());
