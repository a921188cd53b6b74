"""Training loops, hooks, the runner and the command line they share."""
from . import (drop_path_hook, genotype_hook, rng_state_hook, runner,  # noqa: F401
               search_ddp, search_loop, search_optim)
