"""FastAPI dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.runtime.state import ServiceState

__all__ = ["StateDep", "get_state"]


def get_state(request: Request) -> ServiceState:
    """The :class:`ServiceState` of the app handling ``request``."""
    return request.app.state.service


#: Route parameter annotation giving the handler the app's :class:`ServiceState`.
StateDep = Annotated[ServiceState, Depends(get_state)]
