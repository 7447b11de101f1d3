"""Page routers, one per resource: parse, call a work service (which authorises), render."""
