"""Real uvicorn servers on 127.0.0.1 in a background thread (see adapters.background_server)."""

from supplymesh.adapters.background_server import ServerThread, free_port, serving

__all__ = ["ServerThread", "free_port", "serving"]
