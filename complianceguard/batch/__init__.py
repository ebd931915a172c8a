"""Batch scans at scale: parallel, isolated, resumable, and spread over machines.

One direction of data flow:

    inputs --read--> work units --check (pool | queue workers)--> unit results --journal--> report

- `work`: what one post is before and after checking: a `WorkUnit` (the raw post and its content
  key) and a `UnitResult` (the item's JSON and what the report header needs). `Checker` turns one
  into the other; it runs in worker processes, here or on other machines.
- `pool`: a local process pool where a hung or crashed item becomes that item's `error` verdict.
- `journal`: finished results, appended and fsynced in the output folder, so a killed scan resumes.
- `distributed`: the same units as Dramatiq messages on a shared queue (Redis), for several machines.
- `progress`: the terminal progress bar.
"""
