"""Web layer: FastAPI app factory, server-rendered pages, JSON API."""
