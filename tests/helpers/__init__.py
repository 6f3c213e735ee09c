"""What the tests share, so that test modules import from here and never from each other.

* ``api``: the app's HTTP client with JSON helpers, users, the call counter;
* ``table``: the tests' own DynamoDB client, the table, moto made atomic;
* ``faults``: DynamoDB faults injected underneath botocore's retries;
* ``snapshots``: whole-table snapshots and what changed between two;
* ``pgcluster`` and ``original_data``: a throwaway PostgreSQL with the
  original project's tables, and data in it (the migration's tests);
* ``movies``: a movie with children, what is left of one, and the
  invariants of comment threads (cleanup, faults and races share them);
* ``concurrency``: requests sent from threads at once;
* ``sessions``: logging in and refreshing, session items aged in place, the
  contract's two 401 answers.

``tests/conftest.py`` holds only the fixtures.
"""
