/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    transform: {
        "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }],
        // hyparquet (the tests' Parquet reader) and its decompressors ship only ES modules.
        "/node_modules/(hyparquet|hyparquet-compressors|hysnappy)/.+\\.js$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }],
    },
    transformIgnorePatterns: ["/node_modules/(?!(hyparquet|hyparquet-compressors|hysnappy)/)"],
    testTimeout: 60_000,
};
