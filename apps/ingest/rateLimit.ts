/** Per-tenant token buckets: `rate` events per second, bursts up to one second's worth. */
export class RateLimiter {
    private readonly buckets = new Map<string, { tokens: number; at: number }>();

    constructor(private readonly rateOf: (tenant: string) => number) {}

    /** Takes `count` tokens, or returns the seconds until they would be there (the Retry-After). */
    take(tenant: string, count: number, now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
        const rate = this.rateOf(tenant);
        const bucket = this.buckets.get(tenant) ?? { tokens: rate, at: now };
        bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
        bucket.at = now;
        this.buckets.set(tenant, bucket);
        if (count <= bucket.tokens) {
            bucket.tokens -= count;
            return { ok: true };
        }
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((count - bucket.tokens) / rate)) };
    }
}
