"""The papers' questions, answered with measurements: one module per analysis, no user interface (installed as
`satrnn.analyses`; the application above it lives in the `satrnn` package)."""
