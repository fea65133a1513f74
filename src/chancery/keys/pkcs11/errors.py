"""Turning python-pkcs11 exceptions into Chancery's errors, without quoting PINs or key material.

A PKCS#11 return code names what went wrong (PKCS#11 v2.40 §11.1); each family becomes one
:class:`~chancery.errors.CAError` leaf. Codes that mean the session or the device is gone
mark the error ``broken``: the connection is dropped and made again on the next use.
"""

from __future__ import annotations

import logging

import pkcs11
from pkcs11 import exceptions as p11

from chancery.errors import (
    CAError,
    HsmKeyMissing,
    KeystoreUnavailable,
    TokenUnavailable,
    UnsupportedMechanism,
    WrongPin,
)

log = logging.getLogger(__name__)

_GONE = (
    p11.TokenNotPresent,
    p11.TokenNotRecognised,
    p11.DeviceRemoved,
    p11.DeviceError,
    p11.DeviceMemory,
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.UserNotLoggedIn,
    p11.GeneralError,
    p11.SlotIDInvalid,
)
_UNSUPPORTED = (
    p11.MechanismInvalid,
    p11.MechanismParamInvalid,
    p11.FunctionNotSupported,
    p11.KeySizeRange,
    p11.DomainParamsInvalid,
    p11.KeyTypeInconsistent,
)
_MISSING = (p11.NoSuchKey, p11.ObjectHandleInvalid, p11.KeyHandleInvalid)


class ConnectionLost(TokenUnavailable):
    """The session or device is gone; the connection is made again on the next use."""


def translate(exc: pkcs11.PKCS11Error, doing: str, token: str) -> CAError:
    """The :class:`CAError` for ``exc``, raised while ``doing`` something with ``token``."""
    log.debug("PKCS#11 %s while %s on %s", type(exc).__name__, doing, token)
    name = type(exc).__name__
    if isinstance(exc, p11.PinIncorrect | p11.PinInvalid | p11.PinLenRange):
        return WrongPin(f"{token} refused the PIN")
    if isinstance(exc, p11.PinLocked | p11.PinExpired):
        return TokenUnavailable(f"the PIN of {token} is locked or expired: reset it with the token's SO PIN")
    if isinstance(exc, p11.UserPinNotInitialized):
        return TokenUnavailable(f"{token} has no user PIN yet: initialise it first")
    if isinstance(exc, p11.NoSuchToken):
        return TokenUnavailable(f"there is no {token}")
    if isinstance(exc, _GONE):
        return ConnectionLost(f"{token} stopped answering while {doing} ({name})")
    if isinstance(exc, _UNSUPPORTED):
        return UnsupportedMechanism(f"{token} cannot do this: {doing} ({name})")
    if isinstance(exc, _MISSING):
        return HsmKeyMissing(f"the key is not in {token} while {doing}")
    return KeystoreUnavailable(f"{token} failed while {doing} ({name})")
