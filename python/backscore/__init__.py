"""backscore in Python: rescore a tournament history under scoring formulas with backscore's C++
engine (the same code as the `backscore` command line, so the same numbers, tables and errors).

    import backscore
    scores = backscore.run("history.h5", formulas=["corr", "mmc", "mmc2"],
                           define={"mmc_half": "mmc - 0.5 * corr"})
    scores.groupby("era").mean()

run() and read_scores() return a DataFrame indexed by (era, model) with one column per formula;
Store reads a store's eras as numpy arrays, StoreWriter writes one from pandas or numpy;
compare() and audit() return the tables `backscore compare` and `backscore audit` write;
simulate() and read_simulation() return a Simulation (frames of `backscore simulate`'s tables).
Errors the CLI reports as one line (exit 2) are raised as InputError (a ValueError) or
ResourceLimitError, both subclasses of Error, carrying the same line.
"""
from ._backscore import Error, InputError, ResourceLimitError, __version__
from ._api import audit, compare, read_scores, run
from ._simulation import Simulation, read_simulation, simulate
from ._store import Era, Store, StoreWriter

__all__ = [
    "Era", "Error", "InputError", "ResourceLimitError", "Simulation", "Store", "StoreWriter",
    "__version__", "audit", "compare", "read_scores", "read_simulation", "run", "simulate",
]
