#!/usr/bin/env bash
# Validates deploy/kubernetes offline against the Kubernetes API schemas, with the PyPI package
# kubernetes-validate (pinned below; it bundles the schemas of Kubernetes 1.25-1.37, so nothing but PyPI is
# reached, and only to install it). Strict mode: unknown fields are errors. Also checks kustomization.yaml
# (rendered too when kubectl or kustomize is on PATH) and Warden's own rules; see scripts/validate/validate_k8s.py.
# The tool goes into .venv-k8s (git-ignored), made with Debian's Python. About 10 s the first time, 2 s after.
#
#   scripts/validate_k8s.sh                          against Kubernetes 1.27.0 and 1.37.0
#   KUBE_VERSIONS="1.31.0" scripts/validate_k8s.sh   against other versions (1.25.0 to 1.37.0)
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
VENV=.venv-k8s
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

installed=$("$VENV/bin/pip" show kubernetes-validate 2>/dev/null | sed -n 's/^Version: //p' || true)
if [ "$installed" != "$KUBERNETES_VALIDATE_VERSION" ]; then
  echo "k8s: installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
echo "k8s: kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
PYTHONPATH=scripts exec "$VENV/bin/python" -m validate.validate_k8s
