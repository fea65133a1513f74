import datetime as dt

import pytest

from chancery.domain.serials import SerialNumber
from chancery.errors import Malformed
from chancery.pki.chain import remaining_path_length, verify_ca_chain
from chancery.pki.issuer import CertificateRequest, Signer, prepare
from chancery.pki.names import parse_name
from chancery.pki.profiles import builtin_profile
from tests.unit.pki.test_issuer import NOW, URLS, handle, leaf_request, self_signed_root


def sub_ca(parent: Signer, name: str, path_length: int | None = None) -> Signer:
    key = handle()
    request = CertificateRequest(
        parse_name(f"CN={name}"), key.public_key(), builtin_profile("sub-ca"), path_length=path_length
    )
    cert = prepare(request, parent, SerialNumber(5), NOW).sign()
    chain = (parent.certificate,) if parent.certificate else ()
    return Signer(key, cert, URLS, remaining_path_length=remaining_path_length(cert, chain))  # type: ignore[arg-type]


def test_three_level_chain_verifies_with_root_given_or_as_anchor() -> None:
    root = self_signed_root()
    mid = sub_ca(root, "Mid")
    low = sub_ca(mid, "Low")
    full = (mid.certificate, root.certificate)
    assert verify_ca_chain(low.certificate, full, (), NOW) == full  # type: ignore[arg-type]
    assert verify_ca_chain(low.certificate, (mid.certificate,), (root.certificate,), NOW) == full  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "case",
    ["fail/missing-root", "fail/wrong-order", "fail/foreign-parent", "fail/leaf-as-ca", "fail/expired-parent"],
)
def test_broken_chains_are_refused(case: str) -> None:
    root = self_signed_root()
    mid = sub_ca(root, "Mid")
    low = sub_ca(mid, "Low")
    other_root = self_signed_root()
    if case == "fail/missing-root":
        args = (low.certificate, (mid.certificate,), (), NOW)
    elif case == "fail/wrong-order":
        args = (low.certificate, (root.certificate, mid.certificate), (), NOW)
    elif case == "fail/foreign-parent":
        args = (low.certificate, (other_root.certificate,), (), NOW)
    elif case == "fail/leaf-as-ca":
        leaf = prepare(leaf_request(), mid, SerialNumber(9), NOW).sign()
        args = (leaf, (mid.certificate, root.certificate), (), NOW)
    else:
        args = (low.certificate, (mid.certificate, root.certificate), (), NOW + dt.timedelta(days=30 * 365))
    with pytest.raises(Malformed):
        verify_ca_chain(*args)  # type: ignore[arg-type]


def test_path_length_bookkeeping_counts_every_ancestor() -> None:
    root = self_signed_root(path_length=2)
    mid = sub_ca(root, "Mid")  # inherits 1
    assert mid.remaining_path_length == 1
    low = sub_ca(mid, "Low")  # inherits 0
    assert low.remaining_path_length == 0
    unconstrained = self_signed_root()
    assert sub_ca(unconstrained, "Free").remaining_path_length is None
