import datetime as dt

import pytest

from chancery.pki import der


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "020100"),
        (1, "020101"),
        (127, "02017f"),
        (128, "02020080"),
        (256, "02020100"),
        (-1, "0201ff"),
        (-129, "0202ff7f"),
    ],
)
def test_integer(value: int, encoded: str) -> None:
    assert der.integer(value).hex() == encoded
    assert der.Reader(der.integer(value)).integer() == value


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 70_000])
def test_lengths_round_trip(size: int) -> None:
    encoded = der.octet_string(b"x" * size)
    reader = der.Reader(encoded)
    assert reader.bytes_of(der.OCTET_STRING) == b"x" * size
    reader.finish()


@pytest.mark.parametrize(
    "dotted", ["1.3.6.1.5.5.7.48.1.2", "2.5.29.21", "1.2.840.113549.1.1.11", "2.16.840.1.101.3.4.2.1"]
)
def test_oid_round_trip(dotted: str) -> None:
    encoded = der.oid(dotted)
    assert der.oid_text(der.Reader(encoded).bytes_of(der.OID)) == dotted


def test_times() -> None:
    moment = dt.datetime(2026, 11, 28, 12, 30, 5, 999, tzinfo=dt.timezone.utc)
    assert der.utc_time(moment) == b"\x17\x0d261128123005Z"
    assert der.generalized_time(moment) == b"\x18\x0f20261128123005Z"
    assert der.time(moment)[0] == der.UTC_TIME
    assert der.time(moment.replace(year=2050))[0] == der.GENERALIZED_TIME


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="fail/empty"),
        pytest.param(b"\x30", id="fail/no-length"),
        pytest.param(b"\x30\x05\x02\x01", id="fail/truncated"),
        pytest.param(b"\x30\x80\x00\x00", id="fail/indefinite-length"),
        pytest.param(b"\x30\x85\x01\x00\x00\x00\x00", id="fail/five-length-octets"),
        pytest.param(b"\x30\x84\x7f\xff\xff\xff", id="fail/length-beyond-input"),
        pytest.param(b"\x1f\x81\x00\x00", id="fail/multi-byte-tag"),
    ],
)
def test_reader_refuses(data: bytes) -> None:
    with pytest.raises(der.DERError):
        der.Reader(data).read()


def test_trailing_bytes_and_wrong_tags() -> None:
    reader = der.Reader(der.integer(5) + b"\x00")
    reader.integer()
    with pytest.raises(der.DERError, match="trailing"):
        reader.finish()
    with pytest.raises(der.DERError, match="expected tag"):
        der.Reader(der.integer(5)).bytes_of(der.OCTET_STRING)
    with pytest.raises(der.DERError):
        der.Reader(b"\x02\x00").integer()  # empty INTEGER
    with pytest.raises(der.DERError):
        der.oid_text(b"\x2b\x86")  # truncated arc


def test_raw_and_enter() -> None:
    inner = der.sequence(der.integer(1), der.octet_string(b"ab"))
    reader = der.Reader(inner + der.null())
    assert reader.raw() == inner
    assert reader.raw() == b"\x05\x00"
    reader.finish()
    nested = der.Reader(inner).enter(der.SEQUENCE)
    assert nested.integer() == 1
    assert nested.bytes_of(der.OCTET_STRING) == b"ab"
    nested.finish()
