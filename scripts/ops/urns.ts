/** A URN's own type: the last of its qualified type's `$`-separated parts (the others are its ancestors'). */
export const typeOfUrn = (urn: string) => urn.split("::")[2].split("$").at(-1)!;

/** A URN's resource name. */
export const nameOfUrn = (urn: string) => urn.split("::").at(-1)!;
