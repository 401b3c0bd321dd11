"""The seed papers' claims as data: one JSON file per seed (NNN.json), loaded by `satrnn.ledger.claims`."""
