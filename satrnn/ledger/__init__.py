"""The claims ledger: `claims` (the seed papers' claims, loaded from `seed_claims/NNN.json`, and the verdict
rules), `measures` (the measurement behind each claim, `satrnn verify`)."""
