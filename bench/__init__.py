"""A rerunnable, offline benchmark of the API: ``make bench`` (``python -m bench``).

Never deployed and not part of ``make test``. It runs the app in-process on
moto and prints Markdown tables: per endpoint, the DynamoDB calls, the items
and bytes read and written and the request units they would cost, and the
app's own CPU time; the same for a movie with 0 and with 1,000 comments and
ratings; cold starts of the API and authorizer functions; password hashing.
docs/PERFORMANCE.md holds the last run and what the figures would cost on
AWS.

``bench.scenarios`` is also the tests' catalogue of endpoints: every route
has a scenario with its round-trip budget, and ``tests/test_budget.py``
holds each route to it.

This module imports nothing, so that ``python -m bench.coldstart_child``
starts as cleanly as a Lambda function does.
"""
