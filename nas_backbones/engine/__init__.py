"""Training loops, hooks, the runner and the command line they share (space-agnostic)."""
from . import derivation_hook, rng_state_hook, runner, search_loop  # noqa: F401
