"""The HTTP API for influencer-relationship-management (IRM) platforms: `complianceguard serve`.

One direction of data flow, one module each:

    cli (serve) -> server (supervisor: HTTP process + Huey consumer, recovery)
    app (FastAPI routes) -> auth (API keys, rate limit) / limits (body size) / uploads (media)
                         -> store (SQLite: jobs, deliveries; the source of truth) -> tasks (Huey queue)
    tasks (worker side) -> pipeline (Engine, reports) -> store -> webhooks (signed callbacks)

`settings` carries the configuration from the command line into every process.
"""
