/** The value below which `p` percent of `values` fall (nearest rank); NaN for none. */
export const percentile = (values: number[], p: number) =>
    values.length === 0 ? NaN : [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
