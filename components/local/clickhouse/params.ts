/**
 * `param_*` values as ClickHouse's HTTP interface takes them (its escaped text format), turned into what chdb's
 * binder expects: chdb escapes a string value itself and writes other values as SQL literals, so a scalar is
 * unescaped once and an array, tuple or map is parsed into the JavaScript value chdb writes back.
 */

const ESCAPES: Record<string, string> = { b: "\b", f: "\f", r: "\r", n: "\n", t: "\t", "0": "\0" };

/** Clients escape `\`, quotes and control characters (`\'`, `\\`, `\n`, …); chdb escapes the value again itself. */
function unescapeParam(value: string): string {
    return value.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c);
}

/** The shape `@clickhouse/client` gives a tuple, which chdb writes as `(a, b)`. */
class TupleParam {
    constructor(readonly values: unknown[]) {}
}

/** The declared type of each `{name:Type}` placeholder of a query. */
export function placeholderTypes(sql: string): Map<string, string> {
    return new Map([...sql.matchAll(/\{\s*(\w+)\s*:\s*([^{}]+?)\s*\}/g)].map((m) => [m[1], m[2]]));
}

const COMPOSITE = /^(?:(?:Nullable|LowCardinality)\()*(?:Array|Tuple|Map|Nested)\(/i;

/** A parameter's value for chdb, from its text and its placeholder's type. */
export function paramValue(text: string, type: string | undefined): unknown {
    if (text === "\\N") return null;
    return type !== undefined && COMPOSITE.test(type) ? new LiteralReader(text).whole() : unescapeParam(text);
}

/** Reads ClickHouse's text of an array, tuple or map, with quoted strings, numbers and NULL inside. */
class LiteralReader {
    private at = 0;

    constructor(private readonly text: string) {}

    whole(): unknown {
        const value = this.value();
        this.space();
        if (this.at !== this.text.length) this.fail("unexpected text after the value");
        return value;
    }

    private value(): unknown {
        this.space();
        const c = this.text[this.at];
        if (c === "[") return this.list("[", "]");
        if (c === "(") return new TupleParam(this.list("(", ")"));
        if (c === "{") return this.map();
        if (c === "'") return this.quoted();
        const token = /^[^,\])}:\s]+/.exec(this.text.slice(this.at))?.[0];
        if (!token) return this.fail("a value is missing");
        this.at += token.length;
        if (token === "NULL" || token === "\\N") return null;
        if (/^-?\d+$/.test(token)) return Number.isSafeInteger(Number(token)) ? Number(token) : BigInt(token);
        if (/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(token)) return Number(token);
        return token;
    }

    private list(open: string, close: string): unknown[] {
        this.expect(open);
        const items: unknown[] = [];
        this.space();
        if (this.text[this.at] === close) return (this.at++, items);
        for (;;) {
            items.push(this.value());
            this.space();
            if (this.text[this.at] === close) return (this.at++, items);
            this.expect(",");
        }
    }

    private map(): Map<unknown, unknown> {
        const entries = new Map<unknown, unknown>();
        this.expect("{");
        this.space();
        if (this.text[this.at] === "}") return (this.at++, entries);
        for (;;) {
            const key = this.value();
            this.space();
            this.expect(":");
            entries.set(key, this.value());
            this.space();
            if (this.text[this.at] === "}") return (this.at++, entries);
            this.expect(",");
        }
    }

    private quoted(): string {
        this.expect("'");
        let out = "";
        for (;;) {
            const c = this.text[this.at++];
            if (c === undefined) return this.fail("a quoted string is not closed");
            if (c === "'") return out;
            if (c === "\\") {
                const next = this.text[this.at++] ?? "";
                out += ESCAPES[next] ?? next;
            } else out += c;
        }
    }

    private space(): void {
        while (/\s/.test(this.text[this.at] ?? "")) this.at++;
    }

    private expect(c: string): void {
        if (this.text[this.at] !== c) this.fail(`expected ${c}`);
        this.at++;
    }

    private fail(reason: string): never {
        throw new Error(`value ${this.text} cannot be parsed at position ${this.at}: ${reason}`);
    }
}
