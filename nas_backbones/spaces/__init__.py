"""Search space families: each a supernet, its architecture parameters, derivation and derived networks."""
