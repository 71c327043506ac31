"""Sub-commands of `llara`; each module keeps heavy imports inside its handler so `--help` stays fast."""
