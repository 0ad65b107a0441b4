"""One small repository per table (or pair of tables that are one thing), each bound to a unit of work's connection.

``docflow.store.repository.Repository`` gathers them: ``repo.documents``, ``repo.deliveries``,
``repo.inbound``, ``repo.amendments``, ``repo.outbox``, ``repo.inbox``, ``repo.events``,
``repo.quarantine``, ``repo.organisations``.
Imports SQLAlchemy Core, ``docflow.errors`` and this package only.
"""
