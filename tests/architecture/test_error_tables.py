"""Every edge translates every error kind (STYLE.md §8.4)."""

import chancery.errors as errors_module
from chancery.cli.errors import EXIT_CODES
from chancery.errors import CAError, ErrorKind
from chancery.protocols.rest.problems import STATUS_BY_KIND


def test_rest_table_is_exhaustive() -> None:
    assert set(STATUS_BY_KIND) == set(ErrorKind)
    assert all(200 <= status < 600 for status in STATUS_BY_KIND.values())


def test_cli_table_is_exhaustive() -> None:
    assert set(EXIT_CODES) == set(ErrorKind)
    assert 0 not in EXIT_CODES.values()


def test_every_error_class_has_a_kind_the_tables_know() -> None:
    classes = [c for c in vars(errors_module).values() if isinstance(c, type) and issubclass(c, CAError)]
    assert len(classes) > 15
    for cls in classes:
        assert cls.kind in STATUS_BY_KIND and cls.kind in EXIT_CODES
