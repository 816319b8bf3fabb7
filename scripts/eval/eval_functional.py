#!/usr/bin/python3
"""Scores the functional test set (Tests/Fixtures/functional/cases.jsonl) with `warden score` and reports
accuracy per kind of case, for the `hate` label's decision and for `flagged` (any label's flag).

    PYTHONPATH=scripts /usr/bin/python3 -m eval.eval_functional --model models/minilm-moderation [--warden PATH]
        [--out results.json] [--markdown table.md]

The two headline figures are "hate on all cases" (accuracy of the `hate` decision over every
case) and "flagged on hateful cases" (share of the hateful cases that come out flagged). Decisions are the
model's own thresholds (pass `--threshold label=x` through with --warden-arg to change them). A label named
in a case's `expect` that the model does not have counts as predicted 0, and the output says so.

Standard library only (Debian /usr/bin/python3).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

from warden_tools.functional_io import DEFAULT_CASES, MalformedCase, load_cases
from warden_tools.paths import DEFAULT_MODEL, build_products, warden_binary


def score(cases, warden, model, extra_args):
    """Runs `warden score` over the cases and returns {id: output record}."""
    with tempfile.TemporaryDirectory(prefix="warden-functional-") as scratch:
        source = os.path.join(scratch, "cases.jsonl")
        target = os.path.join(scratch, "scores.jsonl")
        with open(source, "w", encoding="utf-8") as handle:
            for case in cases:
                handle.write(json.dumps({"id": case["id"], "text": case["text"]}, ensure_ascii=False) + "\n")
        command = [warden, "score", source, "--format", "jsonl", "--model", model, "-o", target, "--quiet"] + extra_args
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr.strip()}")
        results = {}
        with open(target, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if "error" in record:
                    sys.exit(f"warden could not score {record.get('id')}: {record['error']}")
                results[record["id"]] = record
    missing = [case["id"] for case in cases if case["id"] not in results]
    if missing:
        sys.exit(f"warden returned no result for {len(missing)} cases, e.g. {missing[:3]}")
    return results


def fraction(right, total):
    return {"right": right, "n": total, "accuracy": (right / total) if total else None}


def balanced(first, second):
    if first["accuracy"] is None or second["accuracy"] is None:
        return None
    return (first["accuracy"] + second["accuracy"]) / 2


def evaluate(cases, results):
    model_labels = None
    rows = []
    for case in cases:
        record = results[case["id"]]
        flags = record["flags"]
        if model_labels is None:
            model_labels = list(flags)
        predicted = {label: int(bool(value)) for label, value in flags.items()}
        predicted["flagged"] = int(bool(record["flagged"]))
        rows.append({"id": case["id"], "kind": case["kind"], "target": case.get("target"), "hateful": bool(case["hateful"]),
                     "expect": case["expect"], "predicted": predicted, "scores": record["scores"]})
    model_labels = model_labels or []

    def prediction(row, label):
        return row["predicted"].get(label, 0)  # a label the model lacks counts as 0

    def tally(subset, label):
        return fraction(sum(prediction(row, label) == row["expect"][label] for row in subset if label in row["expect"]),
                        sum(label in row["expect"] for row in subset))

    kinds = []
    for row in rows:
        if row["kind"] not in kinds:
            kinds.append(row["kind"])
    per_kind = {kind: {"hate": tally([r for r in rows if r["kind"] == kind], "hate"),
                       "flagged": tally([r for r in rows if r["kind"] == kind], "flagged")} for kind in kinds}
    targets = sorted({row["target"] for row in rows if row["target"]})
    per_target = {target: {"hate": tally([r for r in rows if r["target"] == target], "hate"),
                           "flagged": tally([r for r in rows if r["target"] == target], "flagged")} for target in targets}
    hateful = [row for row in rows if row["hateful"]]
    benign = [row for row in rows if not row["hateful"]]
    other_labels = sorted({label for row in rows for label in row["expect"]} - {"hate", "flagged"})
    return {
        "model_labels": model_labels,
        "missing_labels": [label for label in ["hate"] + other_labels if label not in model_labels],
        "cases": len(rows),
        "hateful_cases": len(hateful),
        "headline": {
            "hate_on_all_cases": tally(rows, "hate"),
            "flagged_on_hateful_cases": tally(hateful, "flagged"),
        },
        "hate": {"all": tally(rows, "hate"), "hateful": tally(hateful, "hate"), "non_hateful": tally(benign, "hate")},
        "flagged": {"all": tally(rows, "flagged"), "hateful": tally(hateful, "flagged"), "non_hateful": tally(benign, "flagged")},
        "balanced": {label: balanced(tally(hateful, label), tally(benign, label)) for label in ("hate", "flagged")},
        "other_labels": {label: tally(rows, label) for label in other_labels},
        "per_kind": per_kind,
        "per_target": per_target,
        "predictions": rows,
    }


def percent(entry):
    return "n/a" if entry["accuracy"] is None else f"{100 * entry['accuracy']:.1f}%"


def cell(entry):
    return f"{percent(entry)} ({entry['right']}/{entry['n']})"


def markdown(report):
    lines = []
    head = report["headline"]
    lines.append(f"**hate on all cases: {cell(head['hate_on_all_cases'])}; "
                 f"flagged on hateful cases: {cell(head['flagged_on_hateful_cases'])}**")
    lines.append("")
    balanced = "; ".join(f"`{label}` {100 * report['balanced'][label]:.1f}%" for label in ("hate", "flagged")
                         if report["balanced"][label] is not None)
    lines.append(f"Balanced accuracy (mean of hateful and non-hateful, independent of this set's mix): {balanced}.")
    lines.append("")
    lines.append(f"Model labels: {', '.join(report['model_labels'])}. `flagged` is warden's own: any label's flag.")
    if report["missing_labels"]:
        lines.append(f"Labels the cases expect that the model lacks (counted as predicted 0): "
                     f"{', '.join(report['missing_labels'])}.")
    lines.append("")
    lines.append("| | `hate` right | `flagged` right |")
    lines.append("|---|---|---|")
    for name, key in (("all cases", "all"), ("hateful cases", "hateful"), ("non-hateful cases", "non_hateful")):
        lines.append(f"| {name} | {cell(report['hate'][key])} | {cell(report['flagged'][key])} |")
    lines.append("")
    lines.append("| kind | n | `hate` right | `flagged` right |")
    lines.append("|---|---|---|---|")
    for kind, entry in report["per_kind"].items():
        lines.append(f"| {kind} | {entry['hate']['n']} | {cell(entry['hate'])} | {cell(entry['flagged'])} |")
    lines.append("")
    lines.append("| target | n | `hate` right | `flagged` right |")
    lines.append("|---|---|---|---|")
    for target, entry in report["per_target"].items():
        lines.append(f"| {target} | {entry['hate']['n']} | {cell(entry['hate'])} | {cell(entry['flagged'])} |")
    if report["other_labels"]:
        lines.append("")
        lines.append("| other expected label | cases that state it | right | in model |")
        lines.append("|---|---|---|---|")
        for label, entry in report["other_labels"].items():
            present = "yes" if label in report["model_labels"] else "no (counted as 0)"
            lines.append(f"| `{label}` | {entry['n']} | {cell(entry)} | {present} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model bundle folder")
    parser.add_argument("--warden", default=None,
                        help="warden binary (default $WARDEN_BINARY, else .build/release/warden, else .build/debug/warden)")
    parser.add_argument("--cases", default=DEFAULT_CASES, help="cases file (JSON Lines)")
    parser.add_argument("--out", help="write the full report (with per-case predictions) as JSON here")
    parser.add_argument("--markdown", help="write the tables as Markdown here")
    parser.add_argument("--warden-arg", action="append", default=[],
                        help="extra argument for `warden score` (repeatable), e.g. --warden-arg=--threshold=hate=0.5")
    args = parser.parse_args()
    warden = args.warden or warden_binary() or build_products()[0]
    if not os.access(warden, os.X_OK):
        sys.exit(f"no warden binary at {warden} (build it, or pass --warden)")

    try:
        cases = load_cases(args.cases)
    except MalformedCase as error:
        sys.exit(str(error))
    results = score(cases, warden, args.model, args.warden_arg)
    report = evaluate(cases, results)
    report["run"] = {"model": args.model, "warden": warden, "cases_file": args.cases, "warden_args": args.warden_arg,
                     "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    table = markdown(report)
    print(table, end="")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write(table)


if __name__ == "__main__":
    main()
