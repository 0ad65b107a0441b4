"""Settings shared by the adapters, as frozen dataclasses; reading this module does no I/O.

``Timeouts`` bounds every network call docflow makes, so a peer that hangs (a frozen broker or database, a
network that drops packets) turns into a docflow error within a known time instead of blocking a worker:

===================  ===========================================================================================
setting              used for
===================  ===========================================================================================
``connect``          opening a connection: TCP connect and the AMQP handshake (pika ``socket_timeout`` and
                     ``stack_timeout``), libpq ``connect_timeout`` (whole seconds, at least 2)
``send``             one AMQP publish until the broker confirms it (publisher confirms)
``statement``        one SQL statement, commit or rollback: PostgreSQL ``statement_timeout`` on the server, and
                     a client-side watchdog at ``statement + grace`` that drops a connection whose server does
                     not answer at all
``lock``             PostgreSQL ``lock_timeout`` (waiting for a row or table lock)
``idle_in_transaction``  PostgreSQL ``idle_in_transaction_session_timeout``: the server ends a session whose
                     client vanished mid-transaction, so its locks are released
``grace``            added to ``statement`` for the client-side watchdog, so a slow but live server reports
                     its own (clearer) timeout first
``keepalive``        TCP keepalive idle time and ``TCP_USER_TIMEOUT`` base for sockets to the broker and the
                     database (a dead network is noticed even when no call is waiting)
===================  ===========================================================================================

Errors: a timeout is ``TransportTimeoutError`` (a ``TransportUnavailableError``: retried later) or
``StoreTimeoutError`` (a ``StoreError``).  Imports only ``docflow.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from docflow.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to each kind of network call (see the module docstring)."""

    connect: float = 10.0
    send: float = 15.0
    statement: float = 30.0
    lock: float = 10.0
    idle_in_transaction: float = 60.0
    grace: float = 2.0
    keepalive: float = 30.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"timeout {field.name!r} must be a positive number of seconds, not {value!r}")

    @property
    def watchdog(self) -> float:
        """How long a database call may go unanswered before its connection is dropped."""
        return self.statement + self.grace


#: The timeouts used when none are given.
DEFAULT_TIMEOUTS = Timeouts()
