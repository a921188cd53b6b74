"""Search-space families, one folder each: ops, supernet, architecture parameters, derivation,
result format and the networks a result builds."""
from . import (
    darts,  # noqa: F401  register the DARTS family
    singlepath,  # noqa: F401  register the Single-Path NAS family
)
