"""Training loops, hooks and the runner."""
from . import genotype_hook, rng_state_hook, search_ddp, search_loop, search_optim  # noqa: F401,E402  register modules
from . import runner  # noqa: F401  registers NASRunner
