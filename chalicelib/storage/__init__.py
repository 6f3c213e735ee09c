"""The only code that talks to DynamoDB: one table, every entity in it.

Keys are generic (``pk``, ``sk``, ``gsi1pk``/``gsi1sk``, ``gsi2pk``/``gsi2sk``,
``lsi1sk``); each entity builds its own in ``table.py``. Ids are zero-padded
to 16 digits inside keys so that string order is numeric (and, ids being
time-ordered, chronological) order.

Access patterns
===============

=================  ======================  ==============================  ==================  ===============================================  =====
entity             pk                      sk                              index keys          used by                                          calls
=================  ======================  ==============================  ==================  ===============================================  =====
user               ``USER#<id>``           ``PROFILE``                     -                   ``GET /users/me``; profile and password updates  1
username claim     ``USERNAME#<lower>``    ``USERNAME``                    -                   signup/rename (``attribute_not_exists``); login  1
e-mail claim       ``EMAIL#<lower>``       ``EMAIL``                       -                   signup/e-mail change; login by e-mail            1
login throttle     ``LOGIN#<lower>``       ``THROTTLE``                    TTL ``expires_at``  failed-login counting                            -
movie              ``MOVIE#<id>``          ``MOVIE``                       gsi1: ``MOVIES``    ``GET /movies`` (gsi1, newest first)             1
                                                                           / ``<id>``;
                                                                           gsi2: ``OWNER#<u>`` ``GET /movies/user`` (gsi2)                      1
                                                                           / ``<id>``;         average, update, delete (GetItem / conditional)  1
                                                                           lsi1: ``RATING#~``
rating             ``MOVIE#<id>``          ``RATING#<user>``               lsi1: ``RATING#``   rate / re-rate / unrate (GetItem + transaction)  2
                                                                           ``<ms>#<user>``     ``GET /movies/{id}/ratings`` (lsi1, descending)  1
comment            ``MOVIE#<id>``          ``MOVIE#C#<root>#...#<id>``     -                   threads page (Query from ``MOVIE``, ascending)   1
comment ref        ``COMMENT#<id>``        ``REF``                         -                   reply, edit, delete (consistent GetItem)         1
=================  ======================  ==============================  ==================  ===============================================  =====

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
