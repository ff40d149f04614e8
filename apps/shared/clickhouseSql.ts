/** Values and names written into ClickHouse SQL text, where a bound parameter cannot go. */

/** A string as a ClickHouse literal: backslashes and quotes escaped. */
export const sqlString = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** A name as a ClickHouse identifier, back-quoted. */
export const sqlIdentifier = (name: string) => `\`${name.replace(/`/g, "``")}\``;
