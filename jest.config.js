const ESM_ONLY = "(hyparquet|hyparquet-compressors|hysnappy|cookie|@platformatic/(kafka|dynamic-buffer|wasm-utils))";
const transform = {
    "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }],
    // ES-module-only packages, which jest's module system cannot require: hyparquet (the tests' Parquet reader) with its
    // decompressors, cookie (of app.inject) and the Kafka client with its own helpers.
    [`/node_modules/${ESM_ONLY}/.+\\.js$`]: ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }],
};
const shared = {
    testEnvironment: "node",
    transform,
    transformIgnorePatterns: [`/node_modules/(?!${ESM_ONLY}/)`],
};

/**
 * Two layers: `unit` (Pulumi mocks, pure code and the apps through `app.inject`: seconds, no bootstrap) and `e2e`
 * (the engine, real servers and deployed local cells: the bootstrap's tools). `npm test` runs both; `kube` (the kubernetes target on a real API server) runs on its own.
 * @type {import('jest').Config}
 */
module.exports = {
    testTimeout: 60_000,
    // Two suites at once even on two cores (jest's default there is one): the end-to-end suites spend most of their
    // time waiting on servers they start, and each starts its own on free ports under a folder of its own.
    maxWorkers: 2,
    projects: [
        { ...shared, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
        { ...shared, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"] },
        // The kubernetes target on a real API server (`npm run test:kube`): its tools take `scripts/bootstrap.sh kube`.
        { ...shared, displayName: "kube", testMatch: ["<rootDir>/test/kube/**/*.test.ts"] },
    ],
};
