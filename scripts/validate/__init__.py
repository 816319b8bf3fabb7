"""Offline validation of the Kubernetes manifests in deploy/kubernetes (validate_k8s, through
scripts/validate_k8s.sh)."""
