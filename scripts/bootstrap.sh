#!/usr/bin/env bash
# Installs the tools the local cells run that neither npm nor the system provides, into a cache outside the
# repo (${CELLPLANE_CACHE:-~/.cache/cellplane}). Idempotent: a warm run only checks what is there.
#   scripts/bootstrap.sh            every step
#   scripts/bootstrap.sh minio      one step
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${CELLPLANE_CACHE:-$HOME/.cache/cellplane}"
STARTED=$SECONDS
log() { printf '[bootstrap %4ds] %s\n' "$((SECONDS - STARTED))" "$*"; }

# Go builds share one module and build cache under the project's cache.
go_env() {
    export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-mod=mod
    command -v go >/dev/null || { log "Go is missing: install it (apt-get install golang) and run again"; exit 1; }
}

# MinIO's community edition ships as source only; build the pinned version from its Go module.
step_minio() {
    local version
    version=$(sed -n 's/^export const MINIO_VERSION = "\(.*\)";$/\1/p' "$ROOT/components/local/tools.ts")
    local bin="$CACHE/minio/$version/minio"
    if [ -x "$bin" ]; then log "minio $version: cached at $bin"; return; fi
    go_env
    log "minio $version: building from github.com/minio/minio through the Go module proxy (about 5 minutes cold)…"
    GOBIN="$CACHE/minio/$version" nice go install "github.com/minio/minio@$version"
    log "minio $version: built $bin ($(du -h "$bin" | cut -f1))"
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(minio)
for step in "${steps[@]}"; do "step_$step"; done
log "done; tools are under $CACHE"
