"""The job every benchmark runs, in a module of its own: RQ workers import
jobs by module path and refuse functions defined in ``__main__``."""


def noop(*args: object, **kwargs: object) -> None:
    """Nothing at all: the benchmarks measure everything around it."""
