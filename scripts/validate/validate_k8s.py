"""Checks Warden's Kubernetes manifests (deploy/kubernetes) offline; run through scripts/validate_k8s.sh.

- Every Kubernetes document, in every manifest file, against the official OpenAPI schemas of each Kubernetes
  version asked for, bundled by the PyPI package kubernetes-validate, in strict mode (an unknown field, a
  misspelt one included, is an error; so is a kind or apiVersion that version does not serve).
- kustomization.yaml: every resource it lists exists, every manifest in its folder is listed (or is named
  *.example.yaml), and, when `kubectl` or `kustomize` is on PATH, its rendered output passes the same check.
- What the schemas leave open: resource quantities are well formed.
- Warden's own rules: a WARDEN_* variable a container sets must be one the sources read (no invented
  settings), and the HTTP pods' grace period must cover the preStop sleep, the drain timeout and the exit.

Prints one line per check and, last, "k8s: N passed, N failed"; exits 1 on any failure.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml
from kubernetes_validate.utils import InvalidSchemaError, SchemaNotFoundError, ValidationError, VersionNotSupportedError

from warden_tools.paths import REPO

ROOT = Path(REPO)
DEPLOY = ROOT / "deploy" / "kubernetes"
# What `warden serve` needs after the drain: ServiceLifecycle's cancellation allowance (5 s) and the exit.
EXIT_ALLOWANCE_S = 5
DEFAULT_DRAIN_TIMEOUT_S = 25
# A resource quantity (the schemas accept any string): 2, 500m, 768Mi, 1.5G, 1e3.
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[mkMGTPE]|[un])?$")

passed = 0
failed = 0


def report(ok, message):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {message}", flush=True)
    else:
        failed += 1
        print(f"FAIL  {message}", flush=True)


def documents(text, name):
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise ValueError(f"{name}: a document without kind/apiVersion")
    return docs


def validate_docs(docs, source, versions):
    for doc in docs:
        what = f"{source}: {doc['kind']}/{doc.get('metadata', {}).get('name', '?')}"
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
                report(True, f"{what} against Kubernetes {version} (strict)")
            except ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                report(False, f"{what} against Kubernetes {version}: {path}: {error.message}")
            except (SchemaNotFoundError, InvalidSchemaError, VersionNotSupportedError) as error:
                report(False, f"{what} against Kubernetes {version}: {error.message}")


def warden_environment_names():
    """Every WARDEN_* name the sources spell out (`Setting.resolve(…, env: "WARDEN_…")` and friends)."""
    names = set()
    for path in (ROOT / "Sources").rglob("*.swift"):
        names.update(re.findall(r'"(WARDEN_[A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names


def subcommands():
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "Sources" / "warden").glob("*.swift"))
    return set(re.findall(r'commandName:\s*"([a-z-]+)"', text))


def check_warden_rules(doc, source, known_env, commands):
    if doc["kind"] != "Deployment":
        return
    pod = doc["spec"]["template"]["spec"]
    for container in pod["containers"]:
        args = container.get("args") or []
        command = args[0] if args else "serve"
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        unknown = sorted(n for n in env if n.startswith("WARDEN_") and n not in known_env)
        where = f"{source}: container {container['name']} (warden {command})"
        quantities = {f"{kind}.{name}": str(value) for kind, values in container.get("resources", {}).items()
                      for name, value in values.items()}
        bad = sorted(f"{k}={v}" for k, v in quantities.items() if not QUANTITY.match(v))
        report(not bad, f"{where}: resource quantities are well formed" + (f" (bad: {', '.join(bad)})" if bad else ""))
        if command not in commands:
            # `warden worker` is being written beside these manifests: its variables are checked once it exists.
            print(f"note  {where}: this checkout has no `warden {command}` yet; its WARDEN_* variables are not checked")
        else:
            report(not unknown, f"{where}: every WARDEN_* variable is read by the sources"
                   + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
        if command == "serve":
            drain = float(env.get("WARDEN_DRAIN_TIMEOUT_S") or DEFAULT_DRAIN_TIMEOUT_S)
            pre_stop = container.get("lifecycle", {}).get("preStop", {})
            sleep = 0.0
            if "sleep" in pre_stop:
                sleep = float(pre_stop["sleep"]["seconds"])
            elif pre_stop.get("exec", {}).get("command", [""])[0] == "sleep":
                sleep = float(pre_stop["exec"]["command"][1])
            grace = pod.get("terminationGracePeriodSeconds", 30)
            need = sleep + drain + EXIT_ALLOWANCE_S
            report(grace >= need, f"{where}: terminationGracePeriodSeconds {grace} >= preStop {sleep:g} + drain "
                   f"{drain:g} + exit {EXIT_ALLOWANCE_S} = {need:g}")


def render(folder):
    """The folder rendered by kustomize (kubectl's built-in one or the standalone binary), or None."""
    if shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(folder)]
    elif shutil.which("kustomize"):
        command = ["kustomize", "build", str(folder)]
    else:
        return None, None
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        report(False, f"{' '.join(command[:2])} {folder.relative_to(ROOT)}: {result.stderr.strip()}")
        return "", command
    return result.stdout, command


def main():
    versions = os.environ.get("KUBE_VERSIONS", "1.27.0 1.37.0").split()
    print(f"k8s: schemas of Kubernetes {', '.join(versions)}, strict")
    known_env = warden_environment_names()
    commands = subcommands()

    manifests = sorted(p for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")
    for path in manifests:
        source = str(path.relative_to(ROOT))
        try:
            docs = documents(path.read_text(encoding="utf-8"), source)
        except (yaml.YAMLError, ValueError) as error:
            report(False, f"{source}: {error}")
            continue
        validate_docs(docs, source, versions)
        for doc in docs:
            check_warden_rules(doc, source, known_env, commands)

    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = kustomization.get("resources", [])
    missing = [r for r in listed if not (DEPLOY / r).is_file()]
    report(not missing, "kustomization.yaml: every listed resource exists" + (f" (missing: {missing})" if missing else ""))
    unlisted = [p.name for p in manifests if p.name not in listed and not p.name.endswith(".example.yaml")]
    report(not unlisted, "kustomization.yaml: every manifest is listed or named *.example.yaml"
           + (f" (unlisted: {unlisted})" if unlisted else ""))

    rendered, command = render(DEPLOY)
    if rendered is None:
        print("note  no kubectl or kustomize on PATH: kustomization.yaml not rendered (its resources were checked one by one)")
    elif rendered:
        docs = documents(rendered, "rendered")
        images = sorted({c["image"] for d in docs if d["kind"] == "Deployment"
                         for c in d["spec"]["template"]["spec"]["containers"]})
        print(f"      rendered with {' '.join(command[:2])}: {len(docs)} objects, images {', '.join(images)}")
        validate_docs(docs, "rendered kustomization", versions)

    print(f"k8s: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
