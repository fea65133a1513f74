"""The HTTP application: mounts the protocol routers (and later the portal).

Imports protocols and services only; the services arrive built (see ``wiring``).
"""
