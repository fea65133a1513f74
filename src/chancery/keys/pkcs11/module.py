"""Loading a PKCS#11 module so that several threads may call it at once.

python-pkcs11 initialises a module with ``C_Initialize(NULL)``, which tells the module
that the application is single-threaded (PKCS#11 v2.40 §5.4: with no arguments the
library "can assume" no concurrent calls; SoftHSM2 then disables its own locking). The
session pool signs from many threads, so right after loading, before any session exists,
the module is initialised again with ``CKF_OS_LOCKING_OK``. A module that refuses
(``CKR_CANT_LOCK``) keeps the plain initialisation and every call into it is serialised.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import pkcs11

from chancery.errors import TokenUnavailable

log = logging.getLogger(__name__)

_CKF_OS_LOCKING_OK = 0x2
_CKR_OK = 0


class _InitializeArgs(ctypes.Structure):
    """CK_C_INITIALIZE_ARGS (PKCS#11 v2.40 §5.4): no mutex callbacks, OS locking allowed."""

    _fields_ = [  # noqa: RUF012 - the ctypes layout
        ("CreateMutex", ctypes.c_void_p),
        ("DestroyMutex", ctypes.c_void_p),
        ("LockMutex", ctypes.c_void_p),
        ("UnlockMutex", ctypes.c_void_p),
        ("flags", ctypes.c_ulong),
        ("pReserved", ctypes.c_void_p),
    ]


@dataclass(frozen=True)
class LoadedModule:
    """A loaded module; ``serialise`` is a lock every call must hold when the module does not lock itself."""

    path: str
    lib: Any  # pkcs11.lib
    serialise: threading.Lock | None


_loaded: dict[str, LoadedModule] = {}
_loading = threading.Lock()


def load_module(path: str) -> LoadedModule:
    """Load (once per process) and initialise the module at ``path`` for concurrent use.

    Two paths to one file (a symbolic link) are the same module: it is initialised once.
    """
    path = os.path.realpath(path)
    with _loading:
        module = _loaded.get(path)
        if module is not None:
            return module
        try:
            lib = pkcs11.lib(path)
        except pkcs11.PKCS11Error:
            raise TokenUnavailable(f"the PKCS#11 module {path} does not load (is it installed?)") from None
        thread_safe = _reinitialise_with_locking(path)
        if not thread_safe:
            log.warning("PKCS#11 module %s cannot lock for threads: its calls are serialised", path)
        module = LoadedModule(path, lib, None if thread_safe else threading.Lock())
        _loaded[path] = module
        return module


def _reinitialise_with_locking(path: str) -> bool:
    """``C_Finalize`` then ``C_Initialize(CKF_OS_LOCKING_OK)`` on the module python-pkcs11 loaded.

    ``dlopen`` of the same path returns the same library, so this is the instance python-pkcs11 uses.
    """
    try:
        library = ctypes.CDLL(path)
        finalize, initialize = library.C_Finalize, library.C_Initialize
    except (OSError, AttributeError):
        return False
    finalize.argtypes, initialize.argtypes = [ctypes.c_void_p], [ctypes.c_void_p]
    finalize.restype = initialize.restype = ctypes.c_ulong
    if finalize(None) != _CKR_OK:
        return False
    args = _InitializeArgs(None, None, None, None, _CKF_OS_LOCKING_OK, None)
    if initialize(ctypes.byref(args)) == _CKR_OK:
        return True
    if initialize(None) != _CKR_OK:  # back to what python-pkcs11 had
        raise TokenUnavailable(f"the PKCS#11 module {path} does not initialise again")
    return False
