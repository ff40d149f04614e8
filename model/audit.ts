/**
 * How long a cell keeps its audit records: a year in production, a month elsewhere. Both are values CloudWatch
 * Logs, Log Analytics and Network Watcher's retention accept.
 */
export const auditRetentionDays = (production: boolean) => (production ? 365 : 30);
