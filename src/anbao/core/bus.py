"""The in-process event bus: publish after commit; failing handlers are recorded for retry."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, ClassVar

from django.db import transaction

from anbao.core import clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every domain event; subclasses are frozen dataclasses named in the past tense."""

    #: Only the latest of a burst need cross to other processes: the screens there only learn
    #: that something of this kind changed and read the rows themselves (scans, counts).
    relay_latest_only: ClassVar[bool] = False

    @property
    def type(self) -> str:
        """Return the event's stable type name."""
        return type(self).__name__

    @property
    def module(self) -> str:
        """Return the module that defines the event (its app: ``anbao.incidents.events``)."""
        return type(self).__module__

    def payload(self) -> dict[str, Any]:
        """Return the event's fields as a JSON-ready dict."""
        return asdict(self) if is_dataclass(self) else {}


Handler = Callable[[Event], None]

_handlers: dict[type[Event], list[Handler]] = defaultdict(list)
_listeners: list[Callable[[Event], None]] = []
# Listeners that also want the events other processes published (live screens); handlers
# never do, since the reaction already ran in the process that published.
_remote_listeners: list[Callable[[Event], None]] = []
_lock = threading.Lock()


def subscribe(event_type: type[Event], handler: Handler) -> None:
    """Call ``handler`` for every published event of ``event_type``."""
    with _lock:
        if handler not in _handlers[event_type]:
            _handlers[event_type].append(handler)


def listen(listener: Callable[[Event], None], *, remote: bool = False) -> Callable[[], None]:
    """Call ``listener`` for every event (with ``remote``, other processes' too); returns undo."""
    with _lock:
        _listeners.append(listener)
        if remote:
            _remote_listeners.append(listener)

    def _remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)
            if listener in _remote_listeners:
                _remote_listeners.remove(listener)

    return _remove


def has_remote_listeners() -> bool:
    """Return whether anything in this process wants other processes' events."""
    return bool(_remote_listeners)


def dispatch_remote(event: Event) -> None:
    """Hand an event another process published to the listeners that asked for those."""
    with _lock:
        listeners = list(_remote_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken dashboard connection must not stop the relay
            log.exception("bus listener failed on relayed %s", event.type)


def _dispatch(event: Event) -> None:
    from anbao.core.models import FailedEvent

    with _lock:
        handlers = list(_handlers.get(type(event), ()))
        listeners = list(_listeners)
    for handler in handlers:
        try:
            handler(event)
        except Exception as exc:  # a failing reaction must be kept for retry, not lost
            log.exception("bus handler %s failed on %s", handler, event.type)
            FailedEvent.objects.create(
                at=clock.now(),
                event_type=event.type,
                handler=f"{handler.__module__}.{handler.__qualname__}",
                payload=_jsonable(event.payload()),
                error=repr(exc)[:2000],
            )
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken dashboard connection must not break the publisher
            log.exception("bus listener failed on %s", event.type)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def publish(event: Event) -> None:
    """Publish ``event`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _dispatch(event))
