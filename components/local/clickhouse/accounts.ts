/**
 * Users and roles created through SQL (`CREATE USER`, `CREATE ROLE`, `GRANT`, `REVOKE`, `DROP`), as a server keeps
 * them. The engine runs every connection as its one built-in user, so the front keeps them, in a mode-600 file in
 * the server's folder, and enforces their grants (`access.ts`). Only the cell's admin manages them.
 */
import * as fs from "fs";
import { type FrontUser, type Grant, sha256 } from "./access";
import { ClickHouseError, CODES } from "./errors";

interface Role {
    name: string;
    grants: Grant[];
}

interface Stored {
    users: FrontUser[];
    roles: Role[];
}

const NAME = String.raw`(?:\w+|\`[^\`]+\`)`;
const NAMES = String.raw`${NAME}(?:\s*,\s*${NAME})*`;
const unquote = (name: string) => name.replace(/^`|`$/g, "");
const namesOf = (list: string) => list.split(",").map((name) => unquote(name.trim()));

/** How a server names an access statement it cannot read. */
const unsupported = (sql: string) =>
    new ClickHouseError(
        CODES.NOT_IMPLEMENTED,
        `the local ClickHouse manages users with CREATE/DROP USER|ROLE, and GRANT/REVOKE of roles or of privileges ON db.* or *; not: ${sql}`,
    );

export const ACCESS_STATEMENT = /^\s*(CREATE\s+(USER|ROLE)|DROP\s+(USER|ROLE)|GRANT|REVOKE)\b/i;

const STATEMENTS: [RegExp, (accounts: Accounts, match: RegExpExecArray) => void][] = [
    [
        new RegExp(
            String.raw`^CREATE\s+USER\s+(IF\s+NOT\s+EXISTS\s+)?(${NAME})(?:\s+IDENTIFIED(?:\s+WITH\s+\w+)?\s+BY\s+'((?:[^'\\]|\\.|'')*)')?(?:\s+DEFAULT\s+DATABASE\s+(${NAME}))?(?:\s+SETTINGS\s+(.+))?$`,
            "is",
        ),
        (accounts, [, ifNotExists, name, password, database, settings]) =>
            accounts.createUser(
                unquote(name),
                password?.replace(/\\(.)|''/g, (_quote: string, escaped?: string) => escaped ?? "'") ?? "",
                database && unquote(database),
                settings,
                !!ifNotExists,
            ),
    ],
    [
        new RegExp(String.raw`^CREATE\s+ROLE\s+(IF\s+NOT\s+EXISTS\s+)?(${NAMES})$`, "i"),
        (accounts, [, ifNotExists, names]) => namesOf(names).forEach((name) => accounts.createRole(name, !!ifNotExists)),
    ],
    [
        new RegExp(String.raw`^DROP\s+(USER|ROLE)\s+(IF\s+EXISTS\s+)?(${NAMES})$`, "i"),
        (accounts, [, kind, ifExists, names]) =>
            namesOf(names).forEach((name) => accounts.drop(kind.toUpperCase() as "USER" | "ROLE", name, !!ifExists)),
    ],
    [
        // Grants are per database (`db.*` or `*`): the front cannot narrow them to one table.
        new RegExp(String.raw`^(GRANT|REVOKE)\s+([\w\s,]+?)\s+ON\s+(${NAME}|\*)(?:\.\*)?\s+(?:TO|FROM)\s+(${NAMES})$`, "i"),
        (accounts, [, verb, privileges, database, grantees]) => {
            const grants = privileges
                .split(",")
                .map((privilege) => ({ privilege: privilege.trim().replace(/\s+/g, " ").toUpperCase(), database: unquote(database) }));
            for (const grantee of namesOf(grantees)) accounts.changeGrants(grantee, grants, verb.toUpperCase() === "GRANT");
        },
    ],
    [
        new RegExp(String.raw`^(GRANT|REVOKE)\s+(${NAMES})\s+(?:TO|FROM)\s+(${NAMES})$`, "i"),
        (accounts, [, verb, roles, users]) => {
            for (const user of namesOf(users)) accounts.changeRoles(user, namesOf(roles), verb.toUpperCase() === "GRANT");
        },
    ],
];

export class Accounts {
    private readonly users = new Map<string, FrontUser>();
    private readonly roles = new Map<string, Role>();

    /** `file`: where they are kept; `reserved`: the cell's own users, which SQL cannot create or drop. */
    constructor(
        private readonly file: string,
        private readonly reserved: Set<string>,
    ) {
        if (fs.existsSync(file)) this.load(fs.readFileSync(file, "utf8"));
    }

    user(name: string): FrontUser | undefined {
        return this.users.get(name);
    }

    /** Runs an access statement; the caller has checked it is one (`ACCESS_STATEMENT`). */
    manage(sql: string): void {
        const statement = sql.trim().replace(/;\s*$/, "");
        const handled = STATEMENTS.find(([pattern]) => pattern.test(statement));
        if (!handled) throw unsupported(statement);
        // All or nothing: `GRANT r TO a, missing` must not leave `a` changed.
        const before = this.stored();
        try {
            handled[1](this, handled[0].exec(statement)!);
        } catch (error) {
            this.load(before);
            throw error;
        }
        fs.writeFileSync(this.file, this.stored(), { mode: 0o600 });
    }

    /** What the user may do with `active` roles on: its own grants and those of its roles. */
    grantsOf(user: FrontUser, active: string[]): Grant[] {
        return [...(user.grants ?? []), ...active.flatMap((role) => this.roles.get(role)?.grants ?? [])];
    }

    createUser(name: string, password: string, database: string | undefined, settings: string | undefined, ifNotExists: boolean): void {
        if (this.exists("USER", name, ifNotExists)) return;
        const parsed = Object.fromEntries(
            (settings ?? "")
                .split(",")
                .filter((s) => s.trim())
                .map((setting) => setting.split("=").map((part) => part.trim().replace(/^'|'$/g, ""))),
        );
        this.users.set(name, {
            name,
            passwordSha256: sha256(password),
            admin: false,
            defaultDatabase: database,
            settings: parsed,
            grants: [],
            roles: [],
        });
    }

    createRole(name: string, ifNotExists: boolean): void {
        if (!this.exists("ROLE", name, ifNotExists)) this.roles.set(name, { name, grants: [] });
    }

    drop(kind: "USER" | "ROLE", name: string, ifExists: boolean): void {
        const store = kind === "USER" ? this.users : this.roles;
        if (!store.delete(name) && !ifExists)
            throw new ClickHouseError(
                kind === "USER" ? CODES.UNKNOWN_USER : CODES.UNKNOWN_ROLE,
                `There is no ${kind.toLowerCase()} \`${name}\``,
            );
        if (kind === "ROLE") this.users.forEach((user) => (user.roles = user.roles?.filter((role) => role !== name)));
    }

    changeGrants(grantee: string, grants: Grant[], grant: boolean): void {
        const holder = this.users.get(grantee) ?? this.roles.get(grantee);
        if (!holder) throw new ClickHouseError(CODES.UNKNOWN_ROLE, `There is no user or role \`${grantee}\``);
        const same = (a: Grant, b: Grant) => a.privilege === b.privilege && a.database === b.database;
        const kept = (holder.grants ?? []).filter((held) => !grants.some((g) => same(g, held)));
        holder.grants = grant ? [...kept, ...grants] : kept;
    }

    changeRoles(userName: string, roles: string[], grant: boolean): void {
        const user = this.users.get(userName);
        if (!user) throw new ClickHouseError(CODES.UNKNOWN_USER, `There is no user \`${userName}\``);
        for (const role of roles) if (!this.roles.has(role)) throw new ClickHouseError(CODES.UNKNOWN_ROLE, `There is no role \`${role}\``);
        const kept = (user.roles ?? []).filter((role) => !roles.includes(role));
        user.roles = grant ? [...kept, ...roles] : kept;
    }

    private exists(kind: "USER" | "ROLE", name: string, ifNotExists: boolean): boolean {
        const taken = kind === "USER" ? this.users.has(name) || this.reserved.has(name) : this.roles.has(name);
        if (taken && !ifNotExists)
            throw new ClickHouseError(
                CODES.ACCESS_ENTITY_ALREADY_EXISTS,
                `${kind === "USER" ? "User" : "Role"} \`${name}\` already exists`,
            );
        return taken;
    }

    private stored(): string {
        const stored: Stored = { users: [...this.users.values()], roles: [...this.roles.values()] };
        return JSON.stringify(stored, null, 2);
    }

    private load(text: string): void {
        const stored = JSON.parse(text) as Stored;
        this.users.clear();
        this.roles.clear();
        stored.users.forEach((user) => this.users.set(user.name, user));
        stored.roles.forEach((role) => this.roles.set(role.name, role));
    }
}
