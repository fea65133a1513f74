"""The web portal: server-rendered pages for requesters (no account) and staff (officers, auditors).

An edge like ``protocols``: it imports ``services``, ``domain`` and ``errors`` (and the
TLS client-certificate helper of ``protocols``), never ``store`` or ``keys``. Every
authorisation decision stays in the services; the portal shows what they refuse.
Pages are Jinja2 templates with autoescaping on; forms POST, carry a CSRF token and
redirect (PRG); everything works without JavaScript. ``create_portal`` builds the
ASGI application that ``chancery.web`` mounts at ``/portal``.
"""

from chancery.portal.app import create_portal

__all__ = ["create_portal"]
