"""Developer tooling: the local dev server, the tests' gateway emulation, and the
deploy artefacts (``package.py``).

Nothing here is deployed to Lambda; ``chalice package`` ships only ``app.py``
and ``chalicelib/``.
"""
