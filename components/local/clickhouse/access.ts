/**
 * Who may connect to a local ClickHouse and what each may run. The engine has one user of its own, so the front
 * decides, from the engine's own parse of each statement (`EXPLAIN AST`): the admin runs anything; an app runs
 * queries, inserts and its schema's DDL, and reaches no file, URL or other host, except what its grant names (the
 * exporter's bucket and the cell's Postgres); a user created through SQL (`accounts.ts`) runs what its grants and
 * its active roles' grants allow.
 */
import { createHash, timingSafeEqual } from "crypto";
import { ClickHouseError, CODES } from "./errors";

export interface FrontUser {
    name: string;
    /** SHA-256 of the password, hex. */
    passwordSha256: string;
    /** The admin (the cell's provisioning) runs anything; apps are vetted. */
    admin: boolean;
    /** Settings every query of the user runs with, after the request's own (`readonly`). */
    settings?: Record<string, string>;
    /** The database of unqualified names when the request names none. */
    defaultDatabase?: string;
    /** Privileges, for a user created through SQL: only what these and its roles' grants allow. */
    grants?: Grant[];
    roles?: string[];
    /** Where the user's `s3()`, `url()` and `postgresql()` may reach: URL prefixes (a bucket) or `host:port`. */
    reach?: string[];
}

/** A privilege on a database (`*`: every database), as `GRANT … ON db.*` gives it. */
export interface Grant {
    privilege: string;
    database: string;
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function authenticate(user: FrontUser | undefined, name: string, password: string): FrontUser {
    const given = Buffer.from(sha256(password), "hex");
    if (!user || !timingSafeEqual(given, Buffer.from(user.passwordSha256, "hex"))) {
        throw new ClickHouseError(
            CODES.AUTHENTICATION_FAILED,
            `${name}: Authentication failed: password is incorrect, or there is no user with such name`,
        );
    }
    return user;
}

/** Table functions and table engines that stay inside the engine: everything else reaches a file, URL or host. */
const LOCAL_SOURCES = new Set(
    [
        "numbers",
        "numbers_mt",
        "zeros",
        "zeros_mt",
        "generateRandom",
        "generate_series",
        "generateSeries",
        "values",
        "null",
        "view",
        "viewIfPermitted",
        "merge",
        "input",
        "format",
        "loop",
        "Memory",
        "Null",
        "Set",
        "Join",
        "Log",
        "TinyLog",
        "StripeLog",
        "View",
        "MaterializedView",
        "Buffer",
        "Dictionary",
        "Merge",
        "GenerateRandom",
    ].map((name) => name.toLowerCase()),
);
/**
 * Functions that reach outside but may, for a user whose grant names the start of their first argument (URL or
 * host:port; for `azureBlobStorage`, the account's endpoint).
 */
const REACHABLE_BY_GRANT = new Set(["s3", "url", "postgresql", "azureblobstorage", "icebergs3"]);
/**
 * Table functions that read the engine's own tables by a database name or pattern in their arguments rather than a
 * table identifier: a user held to grants (`authorize`) may not call them, since the grants cannot be checked.
 */
const READS_TABLES_BY_NAME = new Set(["merge", "loop"]);
/** Statements no app runs: access control, the server's own machinery, and files of the server. */
const ADMIN_STATEMENTS =
    /^(SYSTEM|KillQuery|Backup|Restore|Grant|Revoke|Attach|Detach|Undrop|Move|Show(Access|Grants|Privileges)|(Create|Alter|Drop)(User|Role|Quota|RowPolicy|SettingsProfile|NamedCollection))/i;

interface AstNode {
    line: string;
    depth: number;
}

const parse = (ast: string): AstNode[] =>
    ast
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => ({ line: line.trim(), depth: line.length - line.trimStart().length }));

/** The source a `Function x` or `FunctionWithKeyValueArguments x` node names, lower-cased. */
const functionName = (node: AstNode) => /^Function(?:WithKeyValueArguments)?\s+(\w+)/.exec(node.line)?.[1]?.toLowerCase();

/** The first string literal below node `at`: the URL of `s3(...)` and `url(...)`, the host of `postgresql(...)`. */
function firstLiteral(nodes: AstNode[], at: number): string | undefined {
    for (let i = at + 1; i < nodes.length && nodes[i].depth > nodes[at].depth; i++) {
        const literal = /^Literal \\'(.*)\\'$/.exec(nodes[i].line);
        if (literal) return literal[1].replace(/\\\\(.)/g, "$1");
    }
    return undefined;
}

export class Vetting {
    /** `names`: every table function and table engine the engine knows. */
    private readonly reaching: Set<string>;

    constructor(names: string[]) {
        const local = (name: string) => LOCAL_SOURCES.has(name) || name.endsWith("mergetree");
        this.reaching = new Set([...names.map((n) => n.toLowerCase()).filter((n) => !local(n)), "file"]);
    }

    /**
     * Refuses, naming the reason, a statement `user` may not run; `ast` is the engine's `EXPLAIN AST` of it, `upload`
     * the front's own file of the request's data, which the statement reads. A user created through SQL is held to
     * `granted` too: its grants and those of its active roles, with the database of unqualified names.
     */
    vet(user: FrontUser, ast: string, upload?: string, granted?: { grants: Grant[]; database: string }): void {
        const nodes = parse(ast);
        const deny = (what: string) => {
            throw new ClickHouseError(
                CODES.ACCESS_DENIED,
                `${user.name}: Not enough privileges: ${what} is reserved to the cell's admin user`,
            );
        };
        const root = nodes[0];
        if (!root) return;
        if (ADMIN_STATEMENTS.test(root.line)) deny(`the statement ${root.line.split(" ")[0]}`);
        // At the root, a literal is a file of the server: `INTO OUTFILE` or `FROM INFILE`.
        const serverFile = (node: AstNode) =>
            node.depth === root.depth + 1 && node.line.startsWith("Literal") && node.line !== `Literal \\'${upload}\\'`;
        if (nodes.some(serverFile)) deny("INTO OUTFILE / FROM INFILE");
        nodes.forEach((node, at) => {
            const name = functionName(node);
            if (name && granted && READS_TABLES_BY_NAME.has(name)) deny(`${name}()`);
            if (!name || !this.reaching.has(name)) return;
            const url = REACHABLE_BY_GRANT.has(name) ? firstLiteral(nodes, at) : undefined;
            if (url !== undefined && (user.reach ?? []).some((prefix) => url.startsWith(prefix))) return;
            deny(url === undefined ? `${name}()` : `${name}('${url}')`);
        });
        if (granted) authorize(user, granted.grants, nodes, granted.database);
    }
}

/** The privilege each statement needs, on which database: the tables it reads, writes or creates. */
function needs(nodes: AstNode[], database: string): Grant[] {
    const root = nodes[0];
    const kind = root.line.split(" ")[0];
    const inDatabase = (name: string) => (name.includes(".") ? name.split(".")[0] : database);
    const reads = nodes
        .map((node) => /^TableIdentifier (\S+)/.exec(node.line)?.[1])
        .filter((name): name is string => name !== undefined)
        .map((name) => ({ privilege: "SELECT", database: inDatabase(name) }));
    if (kind === "InsertQuery") {
        const names = nodes
            .filter((n) => n.depth === root.depth + 1 && n.line.startsWith("Identifier "))
            .map((n) => n.line.slice("Identifier ".length));
        return [{ privilege: "INSERT", database: names.length > 1 ? names[0] : database }, ...reads];
    }
    if (kind === "CreateQuery") return [{ privilege: "CREATE TABLE", database: inDatabase(root.line.split(" ")[1] ?? "") }];
    if (kind === "ShowTables") return [{ privilege: "SHOW TABLES", database }];
    if (/^(SelectWithUnionQuery|SelectIntersectExceptQuery|Explain|DescribeQuery|Exists\w*|Set|UseQuery)$/.test(kind)) return reads;
    return [{ privilege: kind, database }];
}

/** Refuses, as a server does, a statement the user's grants (its own and its active roles') do not allow. */
function authorize(user: FrontUser, grants: Grant[], nodes: AstNode[], database: string): void {
    const allowed = (need: Grant) =>
        grants.some(
            (g) => (g.privilege === need.privilege || g.privilege === "ALL") && (g.database === "*" || g.database === need.database),
        );
    const missing = needs(nodes, database).find((need) => !allowed(need));
    if (missing) {
        throw new ClickHouseError(
            CODES.ACCESS_DENIED,
            `${user.name}: Not enough privileges. To execute this query, it's necessary to have the grant ${missing.privilege} ON ${missing.database}.*`,
        );
    }
}

/**
 * `currentUser()` and `currentRoles()` answer the front's user and active roles, which the engine does not know: the
 * front binds them as parameters of its own.
 */
const SESSION_FUNCTIONS = [
    { call: /\bcurrentUser\s*\(\s*\)/gi, param: "cellplane_current_user", type: "String" },
    { call: /\bcurrentRoles\s*\(\s*\)/gi, param: "cellplane_current_roles", type: "Array(String)" },
] as const;

export function withSessionFunctions(sql: string): string {
    return SESSION_FUNCTIONS.reduce((text, f) => text.replace(f.call, `{${f.param}:${f.type}}`), sql);
}

/** The values of the session functions `sql` uses. */
export function sessionValues(sql: string, user: FrontUser, roles: string[]): Record<string, unknown> {
    const values = { cellplane_current_user: user.name, cellplane_current_roles: roles };
    return Object.fromEntries(Object.entries(values).filter(([param]) => sql.includes(`{${param}:`)));
}

/** The roles a query runs with: those the request names, each granted to the user, or else all of the user's. */
export function activeRoles(user: FrontUser, requested: string[]): string[] {
    const granted = user.roles ?? [];
    const missing = requested.find((role) => !granted.includes(role));
    if (missing) throw new ClickHouseError(CODES.SET_NON_GRANTED_ROLE, `${user.name}: Role ${missing} is not granted to the user`);
    return requested.length > 0 ? requested : granted;
}
