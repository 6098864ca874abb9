"""Pure experiment statistics on numpy/scipy: no I/O, every function works on arrays too."""
