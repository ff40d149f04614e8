import { Pool } from "pg";
import { v7 } from "uuid";
import { createApiKey } from "./apps/shared/apiKeys";
(async () => {
    const eu = require("/tmp/cells.json")["local-eu"];
    const pg = eu.endpoints.postgres;
    const pool = new Pool({ connectionString: `postgres://${pg.user}:${eu.credentials.postgresPassword}@${pg.host}:${pg.port}/${pg.database}` });
    const { key } = await createApiKey(pool, "acme"); await pool.end();
    const until = Date.now() + Number(process.argv[2] ?? 20) * 1000; let n = 0;
    await Promise.all(Array.from({ length: 4 }, async (_, s) => {
        while (Date.now() < until) {
            const batch = Array.from({ length: 1000 }, () => ({ event_id: v7(), org_id: "acme", user_id: "u", session_id: `p-${s}-${n}`, event_type: "code_generated", event_category: "usage", timestamp: new Date().toISOString(), region: "eu", environment: "production", metadata: { tokens: 42 } }));
            const r = await fetch("http://127.0.0.1:15406/v1/events", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(batch) });
            if (r.status !== 202) throw new Error(String(r.status)); n++;
        }
    }));
    console.log(`${n * 1000 / Number(process.argv[2] ?? 20)} ev/s`);
})();
