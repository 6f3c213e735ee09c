"""``python -m bench``: run the whole benchmark and print it as Markdown (``make bench``)."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import redirect_stdout

from bench.environment import go_offline


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=50, help="timed requests per endpoint")
    parser.add_argument("--cold-runs", type=int, default=10, help="cold starts per function")
    parser.add_argument("--hash-runs", type=int, default=20, help="hashes per scheme")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    go_offline()
    # Imported once the environment is offline: these import the app.
    from bench import coldstart, coldstart_child, endpoints, hashing, report
    from chalicelib import security

    output = sys.stdout
    with open(os.devnull, "w") as sink, redirect_stdout(sink):  # the app's access log
        endpoints.progress("every endpoint, small data set")
        results = endpoints.every_endpoint(args.runs)
        endpoints.progress("scaling: 0 and 1,000 comments and ratings")
        scaled = endpoints.scaling(args.runs)
        endpoints.progress("cold starts")
        token, _ = security.issue_access_token(
            coldstart_child.BENCH_USER_ID, coldstart_child.BENCH_SESSION_ID
        )
        starts = [
            coldstart.cold_start(target, token, args.cold_runs) for target in coldstart.TARGETS
        ]
        import_tables = [
            (target.label, coldstart.import_breakdown(target, token))
            for target in coldstart.TARGETS
            if target.deployed and target.mode in ("api", "authorizer")
        ]
        endpoints.progress("password hashing")
        hashes = hashing.measure(args.hash_runs)
    output.write(report.render(args.runs, results, scaled, starts, import_tables, hashes))


if __name__ == "__main__":
    main()
