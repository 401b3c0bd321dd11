"""The report and its renderers: `sections` (the report's registered sections and their runner, `satrnn report`),
`render` (one renderer per analysis, shared by its command and the report), `render_landscape`."""
