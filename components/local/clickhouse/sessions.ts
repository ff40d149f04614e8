/**
 * ClickHouse's HTTP sessions: a `session_id` gets an engine connection of its own (its `SET`s, `USE` and temporary
 * tables), kept until it has been idle for its timeout. A request without one gets a fresh connection, closed after
 * it, so nothing it changes reaches anyone else.
 */
import type { ChdbConnection, Engine } from "./engine";
import { ClickHouseError, CODES } from "./errors";
import type { SessionRequest } from "./request";

interface Session {
    connection: ChdbConnection;
    busy: boolean;
    expiry?: NodeJS.Timeout;
}

/** A connection lent to one request: `release` gives it back (to its session, or closes it). */
export interface Lease {
    connection: ChdbConnection;
    /** Whether the connection outlives this request. */
    shared: boolean;
    /** `spoiled`: the engine may still hold part of a failed answer, so the session ends with this request. */
    release(spoiled?: boolean): void;
}

export class Sessions {
    private readonly open = new Map<string, Session>();

    constructor(private readonly engine: Engine) {}

    /** Sessions belong to their user, as on a server: another user's session of the same id is another session. */
    lease(user: string, request: SessionRequest | undefined): Lease {
        if (!request) {
            const connection = this.engine.connect();
            return { connection, shared: false, release: () => connection.close() };
        }
        const key = `${user}\u0000${request.id}`;
        let session = this.open.get(key);
        if (!session) {
            if (request.check) throw new ClickHouseError(CODES.SESSION_NOT_FOUND, `Session ${request.id} not found`);
            session = { connection: this.engine.connect(), busy: false };
            this.open.set(key, session);
        }
        if (session.busy) throw new ClickHouseError(CODES.SESSION_IS_LOCKED, `Session ${request.id} is locked by a concurrent client`);
        session.busy = true;
        clearTimeout(session.expiry);
        const leased = session;
        return {
            connection: leased.connection,
            shared: true,
            release: (spoiled) => {
                leased.busy = false;
                if (spoiled) {
                    this.close(key);
                    return;
                }
                leased.expiry = setTimeout(() => this.close(key), request.timeoutSeconds * 1000);
                leased.expiry.unref();
            },
        };
    }

    get size(): number {
        return this.open.size;
    }

    private close(key: string): void {
        const session = this.open.get(key);
        if (!session || session.busy) return;
        this.open.delete(key);
        session.connection.close();
    }
}
