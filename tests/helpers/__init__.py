"""What the tests share, so that test modules import from here and never from each other.

* ``api``: the app's HTTP client with JSON helpers, users, the call counter;
* ``table``: the tests' own DynamoDB client, the table, moto made atomic;
* ``faults``: DynamoDB faults injected underneath botocore's retries;
* ``snapshots``: whole-table snapshots and what changed between two;
* ``worlds``: the builder of what a test finds in the table (a movie with a
  rating, a comment and a reply, made through the API), and the fault
  tests' world;
* ``pgcluster`` and ``original_data``: a throwaway PostgreSQL with the
  original project's tables, and data in it; ``migration``: the original's
  database per module, the migration run, logging in afterwards;
* ``movies``: a movie with children, what is left of one, and the
  invariants of comment threads (cleanup, faults and races share them);
* ``ratings`` and ``comments``: rating, commenting and replying through the
  API, and what it answers;
* ``template``: the deploy template of each deployed stage;
* ``concurrency``: requests sent from threads at once;
* ``sessions``: logging in and refreshing, session items aged in place, the
  contract's two 401 answers.

``tests/conftest.py`` holds the common fixtures. A fixture that only one
topic's modules use lives in that topic's module here (``faults``,
``migration``, ``ratings``, ``template``, ``worlds``), which conftest
registers in ``pytest_plugins``; a module's own fixture of the same name
takes precedence in that module.
"""
