"""Sweeps on a Dask cluster (`satrnn sweep`, extra `[cluster]`): `sweep` (jobs, chunks, the engine), `store` (the
SQLite result store)."""
