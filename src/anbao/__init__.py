"""anbao: the operations platform of an event security contractor."""

__version__ = "0.1.0"
