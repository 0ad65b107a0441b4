"""A provincial hub's pull from the axis above it: what waits there for the hub's agencies comes down here.

``docflow serve --upstream URL --node ORGID`` pushes what its agencies address outside its registry as they send
it (``AxisBackend._push``) and runs this loop to pull the other way: every ``poll`` seconds it lists both message
types at the upstream axis, fetches each package addressed to one of its own agencies, accepts it into its
mailbox (validated and deduplicated like any package) and only then acknowledges it upstream (``done``), or
refuses it (``fail``) when it is invalid — so a crash between the two only means the package is pulled again and
recognised.  Must not import sqlalchemy, lxml or starlette.
"""

from __future__ import annotations

import logging
import threading

from docflow.axis.backend import AxisBackend
from docflow.axis.client import AxisClient
from docflow.axis.protocol import AxisError
from docflow.errors import DocflowError

log = logging.getLogger("docflow.axis")


class UpstreamPull:
    """Pulls from ``client``'s endpoint into ``backend`` on a background thread until ``stop``."""

    def __init__(self, backend: AxisBackend, client: AxisClient, *, poll: float = 900.0) -> None:
        self.backend = backend
        self.client = client
        self.poll = poll
        self.pulled = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="docflow-upstream-pull", daemon=True)

    def pull_once(self) -> int:
        """One pass: returns how many packages came down."""
        taken = 0
        for kind in ("edoc", "status"):
            for item in self.client.received(kind):
                recipient, doc_id = str(item.get("to", "")), str(item["docId"])
                if not self.backend.serves(recipient):
                    continue  # listed for another system the upstream credentials cover
                data = self.client.get(doc_id)
                try:
                    self.backend.send(
                        self.backend.upstream_system,
                        data,
                        message_type=kind,
                        to=[recipient],
                        from_header=None,
                        meta={"pulled": doc_id},
                    )
                except AxisError as exc:
                    self.client.update(doc_id, "fail", f"refused by hub {self.backend.node}: {exc.description}")
                    continue
                self.client.update(doc_id, "done")
                taken += 1
        self.pulled += taken
        return taken

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.pull_once()
            except DocflowError as exc:  # the upstream is down or answered FAIL: try again next time
                log.warning("hub %s: pull from %s failed: %s", self.backend.node, self.client.url, exc)
            self._stop.wait(self.poll)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
