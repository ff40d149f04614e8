#!/usr/bin/env bash
# The embedded default on this machine: `npm run up` (bootstrap, `pulumi up` of the local stack, then its endpoints
# and routing table) and `npm run down` (`pulumi destroy`: no process, port or data left).
#   scripts/local.sh up|down|preview|refresh [extra pulumi arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh >&2
export PATH="$(bash scripts/bootstrap.sh --print-path):$PATH"
STATE="${CELLPLANE_STATE_HOME:-$([ "$(id -u)" = 0 ] && echo /var/lib/cellplane || echo "$HOME/.local/state/cellplane")}"
mkdir -p "$STATE/backend"
# The local stack's secrets provider is a passphrase; this one is for local cells only, never for dev or prod.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-cellplane-local-only}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$STATE/backend}" PULUMI_SKIP_UPDATE_CHECK=1 PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
STACK="${CELLPLANE_STACK:-local}"
pulumi stack select "$STACK" --create --secrets-provider passphrase --non-interactive >/dev/null

command=${1:-up}
shift || true
case "$command" in
    up)
        started=$SECONDS
        pulumi up --yes --skip-preview --non-interactive --stack "$STACK" "$@"
        echo "pulumi up took $((SECONDS - started)) s; state in $STATE"
        echo "endpoints:"; pulumi stack output cells --json --stack "$STACK" | node -e 'const c=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const [id,x] of Object.entries(c)) console.log(`  ${id} (${x.residency}): postgres ${x.endpoints.postgres.host}:${x.endpoints.postgres.port}  kafka ${x.endpoints.kafkaBootstrap}  clickhouse ${x.endpoints.clickhouseUrl}  s3 ${x.endpoints.objectStoreEndpoint}/${x.endpoints.bucket}\n    apps: ingest ${x.endpoints.ingestUrl}  export ${x.endpoints.exportUrl}`)'
        echo "routers (each residency's front door):"; pulumi stack output routers --json --stack "$STACK" | node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const [residency,x] of Object.entries(r)) console.log(`  ${residency}: ${x.url} on cell ${x.cell}`)'
        # The environment's whole routing table, for operators, as after `cellplane reconcile`; each router reads its own.
        mkdir -p "$STATE/routing/local"
        pulumi stack output routing --json --stack "$STACK" > "$STATE/routing/local/$STACK.json.tmp"
        mv "$STATE/routing/local/$STACK.json.tmp" "$STATE/routing/local/$STACK.json"
        echo "routing ($STATE/routing/local/$STACK.json):"; node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const [t,x] of Object.entries(r)) console.log(`  ${t} -> ${x.cell} (${x.residency})`)' < "$STATE/routing/local/$STACK.json"
        ;;
    down)
        started=$SECONDS
        pulumi destroy --yes --skip-preview --non-interactive --stack "$STACK" "$@"
        echo "pulumi destroy took $((SECONDS - started)) s"
        ;;
    preview|refresh) pulumi "$command" --non-interactive --stack "$STACK" "$@" ;;
    *) echo "usage: scripts/local.sh up|down|preview|refresh" >&2; exit 2 ;;
esac
