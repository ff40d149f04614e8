import type { ResourceProps } from "../../model/resourceProps";

/** A JSON answer of an app or the CLI, read loosely: the tests assert on the fields they name. */
export type JsonBody = ResourceProps;
