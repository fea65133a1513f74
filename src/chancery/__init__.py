"""Chancery: an enterprise certificate authority.

Layers (see DESIGN.md): kernel (``domain``, ``errors``, ``clock``) <- ``pki``/``keys``
<- ``services`` <- edges (``cli``, ``web``, ``protocols``). ``store`` and the key
store backends are adapters; ``wiring`` is the one place where everything meets.
"""

__version__ = "0.1.0"
