#!/usr/bin/env bash
# Installs what Warden needs from Debian's packages, when it is missing. Idempotent; silent when all is present.
#
#   scripts/setup.sh            build + run + test: libtorch-dev, libopenblas-dev, zlib1g-dev, python3-venv
#                               (the OpenAI SDK and nats-py suites run in virtualenvs of Debian's Python),
#                               nats-server (`warden worker`'s tests start it with JetStream on), rabbitmq-server
#                               (the AMQP client's and worker's tests start a broker of their own; the package's
#                               system service is not needed and may stay stopped), python3-matplotlib (the
#                               charts of `warden compare --png` and `warden tune --png`), chromium and
#                               chromium-driver (the page at GET / is tested in headless chromium)
#   scripts/setup.sh --python   also python3-torch and python3-venv (training, export, golden-data scripts)
#   scripts/setup.sh --bench    also wrk (HTTP load benchmarks)
#
# Fuzzing (scripts/fuzz.sh, make fuzz) needs nothing more: libFuzzer, the sanitizers and lld ship with the Swift
# toolchain, and the record reader target links the zlib1g-dev installed above.
set -euo pipefail

packages=(libtorch-dev libopenblas-dev zlib1g-dev python3-venv nats-server rabbitmq-server python3-matplotlib chromium chromium-driver)
for arg in "$@"; do
  case "$arg" in
    --python) packages+=(python3-torch python3-pip) ;;
    --bench) packages+=(wrk) ;;
    *) echo "setup.sh: unknown option $arg (use --python, --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (Debian packages)" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift) is not on PATH; install Swift 6.1 or later" >&2; exit 1; }
