"""Use cases: the only layer that orchestrates.

Services take a :class:`~chancery.domain.principals.Principal` and check its
permissions themselves (a route that forgets a check is still refused). They
own transaction scope and depend on the narrow ports in ``services.ports``,
never on ``store`` directly. Only ``services.authority`` holds key handles.
"""
