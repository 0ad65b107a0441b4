"""The operator console of ``docflow serve``: login, queues, overdue deliveries, quarantine, dead letters,
a document's journey and the audit chain, as server-rendered pages (``web``) over ``service.Console``."""
