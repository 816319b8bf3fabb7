# Sourced by scripts/test_openai_sdk.sh and scripts/test_nats_py.sh: runs a pytest suite with one pinned PyPI
# client against the built `warden`. The client and pytest go into a git-ignored venv made with Debian's
# Python (rebuilt when the pinned version differs); PyPI must be reachable the first time.
#
#   run_pytest_suite LABEL VENV PACKAGE VERSION MODULE TESTDIR
#     PACKAGE==VERSION is installed, MODULE is what the tests import; WARDEN_BINARY defaults to
#     .build/debug/warden (run `swift build` first).
PYTEST_VERSION=8.3.4

run_pytest_suite() {
  local label=$1 venv=$2 package=$3 version=$4 module=$5 tests=$6
  if ! "$venv/bin/python" -c "import $module, pytest, sys; from importlib.metadata import version; sys.exit(version('$package') != '$version')" 2>/dev/null; then
    echo "$label: installing $package==$version and pytest==$PYTEST_VERSION into $venv" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version" "pytest==$PYTEST_VERSION"
  fi
  export WARDEN_BINARY="${WARDEN_BINARY:-$PWD/.build/debug/warden}"
  [ -x "$WARDEN_BINARY" ] || { echo "$label: no warden binary at $WARDEN_BINARY; run swift build first" >&2; exit 1; }
  exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$tests"
}
