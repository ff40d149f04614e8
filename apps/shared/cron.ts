import { Cron } from "croner";

/** A cron's next run after `after`, in UTC; null if it never fires. Throws croner's own message for an invalid expression (six fields add seconds). */
export function nextRunOf(cron: string, after: Date): Date | null {
    return new Cron(cron, { timezone: "UTC", paused: true }).nextRun(after);
}
