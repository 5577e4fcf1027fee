"""Build hook for the compiled parts of the node.

Every ``executor/**/*.pyx`` and ``statetree/**/*.pyx`` module is cythonized and compiled
here, so adding a new hot loop only means adding a ``.pyx`` (and its ``.pxd``) beside the
Python code that uses it.  Everything else about the distribution lives in ``pyproject.toml``.
"""
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).parent
COMPILED_PACKAGES = ("executor", "statetree")


def _extensions() -> list[Extension]:
    """One extension per .pyx file, named after its dotted module path."""
    sources = sorted(p.relative_to(ROOT) for pkg in COMPILED_PACKAGES for p in ROOT.glob(f"{pkg}/**/*.pyx"))
    if not sources:
        return []
    from Cython.Build import cythonize

    exts = [
        Extension(
            ".".join(src.with_suffix("").parts),
            [str(src)],
            extra_compile_args=["-O3"],
        )
        for src in sources
    ]
    return cythonize(
        exts,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )


setup(ext_modules=_extensions())
