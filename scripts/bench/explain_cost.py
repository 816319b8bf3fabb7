"""Measures what `"explain": true` costs per message against a running Warden, by message length.

Each message is a flagged text (an insult among filler words) of exactly N words, unique per request so that
no result cache answers it. Requests are sent one at a time; the table gives the mean and median latency
without and with `explain`, the extra time, and the ratio.

    PYTHONPATH=scripts python3 -m bench.explain_cost --url http://127.0.0.1:8080 [--words 10 30 100] [--messages 40]
"""

import argparse
import json
import statistics
import time
import urllib.request

FILLER = (
    "honestly I think the meeting went on far too long and the slides were hard to read while everyone "
    "kept talking about the weekend plans and the weather and the new coffee machine in the kitchen"
).split()


def message(words: int, serial: int) -> str:
    """A text of `words` words ending in an insult, with a serial number so that no two are alike."""
    body = [f"n{serial}"] + [FILLER[i % len(FILLER)] for i in range(words - 4)]
    return " ".join(body + ["you", "complete", "idiot"])


def post(url: str, payload: dict) -> tuple[float, dict]:
    request = urllib.request.Request(
        url + "/v1/moderations", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.load(response)
    return (time.perf_counter() - start) * 1000, body


def measure(url: str, words: int, messages: int, explain: bool, serial_base: int) -> list[float]:
    timings = []
    for i in range(messages):
        payload = {"input": message(words, serial_base + i)}
        if explain:
            payload["explain"] = True
        elapsed, body = post(url, payload)
        result = body["results"][0]
        if explain and result["flagged"] and "highlights" not in result:
            raise SystemExit("the server did not explain a flagged message")
        timings.append(elapsed)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--words", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--messages", type=int, default=40)
    args = parser.parse_args()

    measure(args.url, 10, 5, True, 10_000_000)  # warm the connection and the model's shapes
    print("| words | flagged | without explain: mean / median ms | with explain: mean / median ms | extra ms (mean) | ratio |")
    print("|---|---|---|---|---|---|")
    serial = 0
    for words in args.words:
        _, probe = post(args.url, {"input": message(words, 9_000_000 + words)})
        flagged = probe["results"][0]["flagged"]
        plain = measure(args.url, words, args.messages, False, serial)
        serial += args.messages
        explained = measure(args.url, words, args.messages, True, serial)
        serial += args.messages
        mean_plain, mean_explained = statistics.mean(plain), statistics.mean(explained)
        print(
            f"| {words} | {'yes' if flagged else 'no'} | {mean_plain:.1f} / {statistics.median(plain):.1f} "
            f"| {mean_explained:.1f} / {statistics.median(explained):.1f} | {mean_explained - mean_plain:.1f} "
            f"| {mean_explained / mean_plain:.1f}× |"
        )


if __name__ == "__main__":
    main()
