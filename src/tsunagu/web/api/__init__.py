"""The JSON API under /api: the same sign-in (session cookie) and the same work services as the pages."""
