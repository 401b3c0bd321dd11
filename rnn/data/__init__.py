"""Data bundled with satrnn: the default training corpus (default_corpus.txt)."""
