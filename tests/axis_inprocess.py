"""The axis served in process (Starlette's test client, no server) to two systems: ``tg`` for the province's
people's committee (H58) and ``vpcp`` for the Government Office (G22)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette names its httpx test client deprecated in favour of another
    from starlette.testclient import TestClient

H58, G22 = "000.00.00.H58", "000.00.00.G22"
CREDENTIALS = f"""
[[system]]
id = "tg"
secret = "s1"
agencies = ["{H58}"]
[[system]]
id = "vpcp"
secret = "s2"
agencies = ["{G22}"]
"""

__all__ = ["CREDENTIALS", "G22", "H58", "TestClient"]
