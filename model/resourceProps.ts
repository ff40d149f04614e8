/**
 * A resource's properties as the Pulumi engine hands them to policies, mocks and dynamic providers: JSON shaped by
 * each provider's schema, which no TypeScript type in this program describes. Read them with optional chaining.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one place engine-shaped JSON is typed loosely
export type ResourceProps = Record<string, any>;
