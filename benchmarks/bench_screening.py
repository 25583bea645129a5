"""The screening net's rates on the labelled phrase set (docs/policy.md, "Screening"): for each
set, the share refused (written where a photo's source is declared), flagged for the reviewer,
and passed; the held-out sets were written after the terms and never used to tune them.

    python benchmarks/bench_screening.py [--misses]
"""

from __future__ import annotations

import argparse
import time

import harness  # noqa: F401 - puts the project on sys.path

from tests.support.screening import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the phrases that got the other verdict")
    args = parser.parse_args()
    print(f"{'phrase set':<34} {'items':>5} {'refused':>8} {'flagged':>8} {'passed':>7}")
    started = time.perf_counter()
    count = 0
    for label, held_out in (("", False), ("held out — ", True)):
        for kind, outcomes in measure(held_out=held_out).items():
            count += len(outcomes)
            share = {
                v: sum(o.verdict == v for o in outcomes) / len(outcomes)
                for v in ("refused", "flagged", "passed")
            }
            print(
                f"{label + kind.replace('_', ' '):<34} {len(outcomes):>5} {share['refused']:>8.0%} "
                f"{share['flagged']:>8.0%} {share['passed']:>7.0%}"
            )
            if args.misses:
                expected = {"forbidden": "refused", "harmless": "passed"}.get(kind)
                for outcome in outcomes:
                    wrong = outcome.verdict != expected if expected else outcome.verdict == "passed"
                    if wrong:
                        print(f"    {outcome.verdict}: {outcome.text}")
    elapsed = time.perf_counter() - started
    each = elapsed / count * 1e6
    print(f"{count} phrases screened twice each in {elapsed * 1000:.0f} ms ({each:.0f} µs a phrase)")


if __name__ == "__main__":
    main()
