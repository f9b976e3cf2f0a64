#!/usr/bin/env bash
# Start the local stack on loopback from the OS packages (prometheus, mosquitto,
# prometheus-alertmanager) plus the simulator exporter and the test suite's fake Kubernetes
# API server (HTTPS, the docs' RBAC, the demo's rollouts), then the control room on it.
# Ctrl-C (or quitting the control room) stops everything.
#
#   examples/local-stack/run.sh            # the whole stack and the control room
#   examples/local-stack/run.sh --no-app   # the stack only; run the app yourself
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${MAESTRO_BIN:-$root/.venv/bin/maestro-control-room}"
command -v "$bin" >/dev/null || bin="maestro-control-room"
state="$(mktemp -d -t maestro-local-stack.XXXXXX)"
pids=()

stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "stopped; logs were in $state"
}
trap stop INT TERM EXIT

need() { command -v "$1" >/dev/null || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }
prometheus_bin="$(command -v prometheus || true)"; need prometheus prometheus
mosquitto_bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
[ -x "$mosquitto_bin" ] || { echo "missing mosquitto: apt-get install mosquitto" >&2; exit 1; }
need prometheus-alertmanager prometheus-alertmanager

wait_for() {  # wait_for NAME URL-or-host:port
    for _ in $(seq 1 100); do
        if [[ "$2" == http* ]]; then curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
        else (exec 3<>"/dev/tcp/${2%:*}/${2#*:}") 2>/dev/null && return 0; fi
        sleep 0.1
    done
    echo "$1 did not come up; see $state/$1.log" >&2; exit 1
}

mkdir -p "$state/mosquitto"
{ cat "$here/mosquitto.conf"; echo "persistence_location $state/mosquitto/";
  echo "log_dest file $state/mosquitto.log"; echo "user $(id -un)"; } >"$state/mosquitto.conf"
"$mosquitto_bin" -c "$state/mosquitto.conf" >"$state/mosquitto.out" 2>&1 & pids+=($!)
wait_for mosquitto 127.0.0.1:1883

"$bin" sim --metrics-addr 127.0.0.1:9464 --mqtt 127.0.0.1:1883 --time-scale "${TIME_SCALE:-10}" \
    --alertmanager http://127.0.0.1:9093 >"$state/sim.log" 2>&1 & pids+=($!)
wait_for sim http://127.0.0.1:9464/metrics

prometheus --config.file="$here/prometheus.yml" --storage.tsdb.path="$state/prometheus" \
    --web.listen-address=127.0.0.1:9090 >"$state/prometheus.log" 2>&1 & pids+=($!)
wait_for prometheus http://127.0.0.1:9090/-/ready

prometheus-alertmanager --config.file="$here/alertmanager.yml" \
    --storage.path="$state/alertmanager" --web.listen-address=127.0.0.1:9093 \
    --cluster.listen-address= >"$state/alertmanager.log" 2>&1 & pids+=($!)
wait_for alertmanager http://127.0.0.1:9093/-/ready

# The cluster path: a fake API server with the docs' Roles; its kubeconfig has a `viewer`
# and an `operator` context (the default; `--context viewer` to watch as the viewer). HTTPS
# needs the `cryptography` package (a dev dependency); without it the fake serves HTTP.
python="${MAESTRO_PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3
tls=(); "$python" -c "import cryptography" 2>/dev/null || tls=(--http)
(cd "$root" && exec "$python" -m tests.kube_fake serve --kubeconfig "$state/kubeconfig" \
    "${tls[@]}") >"$state/kube.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do [ -s "$state/kubeconfig" ] && break; sleep 0.1; done
[ -s "$state/kubeconfig" ] || { echo "kube did not come up; see $state/kube.log" >&2; exit 1; }
export KUBECONFIG="$state/kubeconfig"

echo "stack up: prometheus :9090, mosquitto :1883, alertmanager :9093, sim :9464,"
echo "  kubernetes $(sed -n 's/^fake API server at \([^;]*\);.*/\1/p' "$state/kube.log")"
echo "  (KUBECONFIG=$KUBECONFIG; logs: $state)"
if [[ "${1:-}" == "--no-app" ]]; then
    echo "Ctrl-C stops it."
    wait
else
    "$bin" --config "$here/config.toml"
fi
