"""The only code that talks to DynamoDB: one table, every entity in it.

Keys are generic (``pk``, ``sk``, ``gsi1pk``/``gsi1sk``, ``gsi2pk``/``gsi2sk``,
``gsi3pk``/``gsi3sk``); each entity builds its own in the ``table`` package
(one module per resource). Ids are zero-padded to 16 digits inside keys so
that string order is numeric (and, ids being time-ordered, chronological)
order. There is no local secondary index: it would pin each
movie's item collection to one partition (and 10 GB), where DynamoDB can
otherwise split a hot collection across partitions by sort-key range.

Access patterns
===============

Each line: entity — ``pk`` / ``sk`` [index keys] — the requests that use it
(DynamoDB calls per request; calls sent at once count as one round trip).

- user — ``USER#<id>`` / ``PROFILE`` — ``GET /users/me`` (1 GetItem); profile
  and password updates (GetItem + one transaction). Its ``sessions`` map is
  the set of the user's live sessions (at most 100): the authorizer reads
  one entry (1 GetItem, botocore, ``session_check``), and every session
  write below changes it.
- username claim — ``USERNAME#<lower>`` / ``USERNAME`` — signup and rename
  (``attribute_not_exists`` in the user's transaction); login (in its one
  BatchGetItem, with the hash copied here).
- e-mail claim — ``EMAIL#<lower>`` / ``EMAIL`` — the same, for e-mails.
- session — ``USER#<id>`` / ``SESSION#<session id>`` [TTL ``expires_at``] —
  login (Put in a transaction with its map entry and a ConditionCheck on the
  claim item; at the cap, 1 Query and a second transaction that evicts);
  refresh (BatchGetItem with the profile + one conditional UpdateItem);
  logout, end one (one transaction: the entry and the item);
  ``GET /users/me/sessions`` (1 Query from ``PROFILE`` through the
  sessions); end all others and a password change (one transaction that
  sets the map to the caller's alone, whatever the number of sessions).
- sessions-ended marker — ``USER#<id>`` / ``SESSIONS_ENDED`` [TTL] — put by
  "end all others" and a password change; its stream record has the stream
  consumer delete the session items the map no longer lists
  (``session_cleanup``: 1 Query + one transaction per 25).
- login throttle — ``LOGIN#<lower>`` / ``CLIENT#<address>`` [TTL
  ``expires_at``] — login (in its BatchGetItem); one UpdateItem per failure.
- movie — ``MOVIE#<id>`` / ``MOVIE`` [gsi1 ``MOVIES#<hash of id mod 2>`` /
  ``<id>``; gsi2 ``OWNER#<user>`` / ``<id>``] — ``GET /movies`` (2 Queries
  at once, one per gsi1 shard, merged newest first); ``GET /movies/user``
  (1 Query on gsi2); create (one transaction with its 32 counter shards);
  update (1 conditional UpdateItem); delete (one transaction with its
  shards; the seed path reads it first, to answer it); the detail (its
  Query from ``MOVIE`` through the comments). Its ``rating_count`` /
  ``rating_sum`` are the stream consumer's copy of the shards' sums (one
  UpdateItem per movie per batch), which is all a list item shows.
- list entry — ``MOVIE#<id>`` / ``LIST#<list>`` [gsi3 ``<list>#<hash of id mod 2>``
  / ``<rank>``] — one per list the movie is in (``listings``: the newest of
  its genres and year; top rated, most rated, release date, overall and by
  genre and year; one per prefix of each title word): ``GET /movies`` with a
  ``sort``, ``genre`` or ``year`` and ``GET /movies/search`` (2 Queries at
  once, one per gsi3 shard, ``limit + 1`` each, merged). Written only by the
  stream consumer (``listings.sync``: 1 GetItem and 1 keys-only Query at
  once, BatchWriteItems of what differs, 1 GetItem to check), after the
  movie's insert, change or recount; deleted with the movie's collection.
- counter shard — ``MOVIE#<id>`` / ``RATING#C#00`` … ``RATING#C#31`` — every
  rating change (an ADD to the caller's shard in its transaction, which is
  also the check that the movie exists); the average (1 Query of the 32);
  the detail (its Query from ``RATING#C#00`` into the ratings); the first
  ratings page (from ``RATING#C#31``: the movie exists); the stream's
  recount (1 Query).
- rating — ``MOVIE#<id>`` / ``RATING#U#<user>`` [gsi2 ``RATER#<user>`` /
  ``<rating id>``] — rate, re-rate, unrate (GetItem + one transaction with
  one counter shard; the rating's gsi2 entry is written with it, 1 WCU on a
  key only its rater's changes write); ``GET /movies/{id}/ratings`` (1
  Query, in user-id order); ``GET /users/me/ratings`` (1 Query on gsi2,
  descending: newest first by when the movie was first rated, a re-rate
  keeping its id; eventually consistent); ``make backfill`` gives ratings
  written before gsi2 their keys (one conditional UpdateItem each).
- comment — ``MOVIE#<id>`` / ``MOVIE#C#<root>#...#<id>`` — a page of threads
  (1 Query from ``MOVIE``, ascending, more only for pages of big threads);
  add (one transaction).
- comment ref — ``COMMENT#<id>`` / ``REF`` — reply and delete (GetItem, then
  one transaction); edit (GetItem, then one conditional UpdateItem).
- cleanup marker — ``MOVIE#<id>`` / ``CLEANUP#<step>`` — only while a
  deleted movie's collection is being emptied by the stream consumer: each
  step (1 keys-only Query of the marker and the next 500 items, their
  deletes in BatchWriteItems of 25) replaces it with the next step's (one
  transaction), whose stream record starts the next step; the last step
  deletes it.

A movie's item collection (``pk = MOVIE#<id>``) sorts as: ``CLEANUP#...``
(once the movie is deleted), ``LIST#...`` (its list entries), ``MOVIE``
(the movie), ``MOVIE#C#...`` (its comments, depth-first, oldest first),
``RATING#C#nn`` (its counter shards), ``RATING#U#...`` (its ratings, by
user). A Query that begins at ``MOVIE``
reads the movie and its threads; one that begins at a shard reads counters
and then ratings. The movie detail sends one of each at once.

Nothing a rating change writes is shared with another movie: it writes its
rating and one of 32 shards, both in the movie's own collection (which
DynamoDB splits by key range under load), and the rating's gsi2 entry
under its rater, which only that one user's changes write (at a person's
rate, whatever movies they rate). What movies share
(GSI1's keys, and GSI3's lists and search words) is written only by the
stream consumer (``changes``, ``listings``), batched over the event source
mapping's window and once per movie per batch, and sharded by a hash of the
movie id: a new list is one more list name in ``listings`` (an entry per
movie in it, with its rank), written by the same sync.

Nothing is ever read back through a GSI right after it is written (GSIs are
eventually consistent on DynamoDB): login reads its claim item, replies read
the parent's ref item, and item-collection reads are strongly consistent.
"""
