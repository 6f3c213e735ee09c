"""The only code that talks to DynamoDB: one table, every entity in it.

Keys are generic (``pk``, ``sk``, ``gsi1pk``/``gsi1sk``, ``gsi2pk``/``gsi2sk``,
``lsi1sk``); each entity builds its own in ``table.py``. Ids are zero-padded
to 16 digits inside keys so that string order is numeric (and, ids being
time-ordered, chronological) order.

Access patterns
===============

Each line: entity — ``pk`` / ``sk`` [index keys] — the requests that use it
(DynamoDB calls per request).

- user — ``USER#<id>`` / ``PROFILE`` — ``GET /users/me`` (1 GetItem); profile
  and password updates (GetItem + one transaction).
- username claim — ``USERNAME#<lower>`` / ``USERNAME`` — signup and rename
  (``attribute_not_exists`` in the user's transaction); login (in its one
  BatchGetItem, with the hash copied here).
- e-mail claim — ``EMAIL#<lower>`` / ``EMAIL`` — the same, for e-mails.
- session — ``USER#<id>`` / ``SESSION#<session id>`` [TTL ``expires_at``] —
  login (Put in a transaction with a ConditionCheck on the claim item);
  refresh (GetItem + one conditional UpdateItem); the authorizer (1 GetItem,
  botocore, ``session_check``); logout, end one (1 conditional DeleteItem);
  ``GET /users/me/sessions`` (1 Query, descending); end all others (1
  keys-only Query + BatchWriteItem per 25); a password change (the same
  Query, then the deletes in the password's transaction).
- login throttle — ``LOGIN#<lower>`` / ``CLIENT#<address>`` [TTL
  ``expires_at``] — login (in its BatchGetItem); one UpdateItem per failure.
- movie — ``MOVIE#<id>`` / ``MOVIE`` [gsi1 ``MOVIES`` / ``<id>``; gsi2
  ``OWNER#<user>`` / ``<id>``; lsi1 ``RATING#~``] — ``GET /movies`` (1 Query
  on gsi1, newest first); ``GET /movies/user`` (1 Query on gsi2); create
  (1 PutItem); update and delete (1 conditional write); average (1 GetItem);
  counters in every rating transaction.
- rating — ``MOVIE#<id>`` / ``RATING#<user>`` [lsi1 ``RATING#<ms>#<user>``] —
  rate, re-rate, unrate (GetItem + one transaction with the movie's
  counters); ``GET /movies/{id}/ratings`` (1 Query on lsi1, descending).
- comment — ``MOVIE#<id>`` / ``MOVIE#C#<root>#...#<id>`` — a page of threads
  (1 Query from ``MOVIE``, ascending); add (one transaction).
- comment ref — ``COMMENT#<id>`` / ``REF`` — reply and delete (GetItem, then
  one transaction); edit (GetItem, then one conditional UpdateItem).

A movie's item collection (``pk = MOVIE#<id>``) sorts as: ``MOVIE`` (the
movie), then ``MOVIE#C#...`` (its comments, depth-first, oldest first), then
``RATING#...`` (its ratings, by user). A Query that begins at ``MOVIE`` reads
the movie and its threads in one go; LSI1 orders the same collection's
ratings newest first, with the movie (``RATING#~``) sorting ahead of them in
a descending Query. The movie detail sends both Queries at once.

Nothing is ever read back through a GSI right after it is written (GSIs are
eventually consistent on DynamoDB): login reads its claim item, replies read
the parent's ref item, and item-collection reads are strongly consistent.
"""
