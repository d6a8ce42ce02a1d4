"""Who acts in the service layers (agent panel, QA): what they need of a signed-in user.

``callcenter.web.auth.Principal`` fits; the services need not depend on the web package.
"""

from __future__ import annotations

from typing import Protocol


class Actor(Protocol):
    """A user: name, role (admin | supervisor | qa | agent) and, for agents, the endpoint."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def agent(self) -> str | None: ...
