/**
 * Who may connect to a local ClickHouse and what each may run. The engine has one user of its own, so the front
 * decides, from the engine's own parse of each statement (`EXPLAIN AST`): the admin runs anything; an app runs
 * queries, inserts and its schema's DDL, and reaches no file, URL or other host, except what its grant names (the
 * exporter's bucket and the cell's Postgres).
 */
import { createHash, timingSafeEqual } from "crypto";
import { ClickHouseError, CODES } from "./errors";

export interface FrontUser {
    name: string;
    /** SHA-256 of the password, hex. */
    passwordSha256: string;
    /** The admin (the cell's provisioning) runs anything; apps are vetted. */
    admin: boolean;
    /** `readonly=2` in the engine: reads and settings only. */
    readonly?: boolean;
    /** URL prefixes the user's `s3()`/`url()` may reach (the cell's own bucket). */
    reach?: string[];
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function authenticate(users: FrontUser[], name: string, password: string): FrontUser {
    const user = users.find((u) => u.name === name);
    const given = Buffer.from(sha256(password), "hex");
    if (!user || !timingSafeEqual(given, Buffer.from(user.passwordSha256, "hex"))) {
        throw new ClickHouseError(
            CODES.AUTHENTICATION_FAILED,
            `${name}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`,
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
/** Functions that reach outside but may, for a user whose grant names the start of their first argument (URL or host:port). */
const REACHABLE_BY_GRANT = new Set(["s3", "url", "postgresql"]);
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
     * the front's own file of the request's data, which the statement reads.
     */
    vet(user: FrontUser, ast: string, upload?: string): void {
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
            if (!name || !this.reaching.has(name)) return;
            const url = REACHABLE_BY_GRANT.has(name) ? firstLiteral(nodes, at) : undefined;
            if (url !== undefined && (user.reach ?? []).some((prefix) => url.startsWith(prefix))) return;
            deny(url === undefined ? `${name}()` : `${name}('${url}')`);
        });
    }
}
