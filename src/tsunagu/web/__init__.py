"""The staff web app (FastAPI, server-rendered Japanese pages, vendored htmx) and its JSON API."""
