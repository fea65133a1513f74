"""The ``chancery`` command: one module per noun (ca, cert, ...), Typer + Rich.

Commands run as the local operator (see :func:`chancery.domain.principals.local_operator`),
go through the same services as the REST API, and translate errors through
one exit-code table (``cli.errors``).
"""
