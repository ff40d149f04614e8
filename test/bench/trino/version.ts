/**
 * Trino 483 (2026-10-19), the reference engine `bench:lakehouse` measures beside the cells' ClickHouse (seed 004's
 * engine). Trino patches only its newest release, so 483 is supported until 484 ships; it is the newest Maven Central
 * serves. It needs Java 25.
 */
export const TRINO_VERSION = "483";
