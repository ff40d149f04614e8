/**
 * One address plan per environment: every cloud cell has a /16 of 10.0.0.0/8 of its own (configured, or derived from
 * its id so that reordering cells never moves one), so cells can be peered or linked later, and every AKS cluster a
 * service range of its own in 172.16.0.0/12. The configuration schema refuses two cells on the same range.
 */

/** The second octet of a cell's `10.<octet>.0.0/16`. */
export type CellOctet = number;

/** Derived ranges start here, below them are the ones people pick by hand (10.0, 10.1, …). */
const FIRST_DERIVED = 16;
const DERIVED_COUNT = 224;

/** FNV-1a over the id: stable across releases and machines, unlike a language's own hash. */
function fnv1a(text: string): number {
    let hash = 0x811c9dc5;
    for (const char of Buffer.from(text, "utf8")) hash = Math.imul(hash ^ char, 0x01000193) >>> 0;
    return hash;
}

export const derivedOctet = (cellId: string): CellOctet => FIRST_DERIVED + (fnv1a(cellId) % DERIVED_COUNT);

/** `10.<n>.0.0/16` → n, or undefined when the text is not such a range. */
export function octetOfCidr(cidr: string): CellOctet | undefined {
    const match = /^10\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
    const octet = match ? Number(match[1]) : NaN;
    return Number.isInteger(octet) && octet <= 255 ? octet : undefined;
}

/** A cell's addresses, from the second octet of its range. */
export function addressPlanOf(octet: CellOctet) {
    const base = `10.${octet}`;
    const services = `172.${16 + (octet % 16)}.${(octet >> 4) * 16}`;
    return {
        cidr: `${base}.0.0/16`,
        /** AWS: one private /18 per zone, where every node and data service lives. */
        awsPrivateSubnet: (zone: number) => `${base}.${zone * 64}.0/18`,
        /** AWS: one public /20 per NAT gateway, which holds nothing else. */
        awsPublicSubnet: (zone: number) => `${base}.${192 + zone * 16}.0/20`,
        azureClusterSubnet: `${base}.0.0/18`,
        azurePostgresSubnet: `${base}.64.0/24`,
        /** AKS Services: a /20 of 172.16.0.0/12 that no other cell's octet maps to. */
        aksServiceCidr: `${services}.0/20`,
        aksDnsServiceIp: `${services}.10`,
    };
}
export type AddressPlan = ReturnType<typeof addressPlanOf>;
