"""Developer tooling: the local dev server and the tests' gateway emulation.

Nothing here is deployed to Lambda; ``chalice package`` ships only ``app.py``
and ``chalicelib/``.
"""
