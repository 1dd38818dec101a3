"""Optional dependencies of the benchmark, imported with a message that says how to install them."""

import importlib

INSTALL_HINT = "pip install 'sk-dmlpl[benchmark]'"


def _optional_import(module, package):
    """Import an optional dependency of the benchmark, or explain how to install it.

    Parameters
    ----------
    module : str
        Module name, as imported.
    package : str
        The package on PyPI, with a version specifier where some releases do not work.

    Returns
    -------
    module : module
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"The sk-dmlpl benchmark needs the optional package {package!r} here: "
            f"pip install \"{package}\" (or {INSTALL_HINT})."
        ) from error
