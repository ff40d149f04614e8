/** Azure Policy's built-in "Allowed locations" (General): denies a resource outside `listOfAllowedLocations`. */
export const ALLOWED_LOCATIONS_POLICY = "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c";

/** Whether an IAM policy document denies every request outside a list of regions (`aws:RequestedRegion`). */
export function deniesOtherRegions(document: unknown): boolean {
    const parsed = typeof document === "string" ? (JSON.parse(document) as unknown) : document;
    const statements = (parsed as { Statement?: unknown[] } | undefined)?.Statement ?? [];
    return statements.some((s) => {
        const statement = s as { Effect?: string; Condition?: { StringNotEquals?: Record<string, unknown> } };
        return statement.Effect === "Deny" && Array.isArray(statement.Condition?.StringNotEquals?.["aws:RequestedRegion"]);
    });
}
