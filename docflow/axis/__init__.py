"""The national axis API: ``docflow serve`` speaks it (``app``, ``backend``) and ``AxisClient`` calls it.

Submodules: ``protocol`` (signed headers, hash-file, answers and error codes; standard library only),
``credentials`` (the systems' TOML file), ``client`` (httpx), ``backend`` (the one adapter to the engine),
``app`` (Starlette).  Importing this package imports none of them, so a client never loads the server.
"""
