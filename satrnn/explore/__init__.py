"""The interactive explorer (`satrnn explore`, extra `[explore]`): `data` computes what it shows without any UI,
`app` is the Textual application."""
