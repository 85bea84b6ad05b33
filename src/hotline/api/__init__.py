"""The HTTP face of a node: FastAPI REST routes (OpenAPI), WebSocket event stream,
outgoing webhooks, authentication, RBAC and audit. Routes call services; no SQL and no
protocol internals here.
"""
