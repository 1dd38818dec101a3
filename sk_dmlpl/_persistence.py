"""Safe persistence of a fitted estimator: tensors and JSON in one torch file, no pickle on load.

A file holds one dict, written by ``torch.save`` and read by ``torch.load(...,
weights_only=True)``, whose unpickler builds tensors and plain Python data only and refuses
any other object, so loading a file runs no code from it:

- ``format`` and ``format_version``: what the file is, and the layout it follows;
- ``sk_dmlpl_version``: the version of the package that wrote it;
- ``params``: the constructor parameters, as JSON;
- ``network_params``: the parameters the network was built with at fit time, as JSON,
  which the network is rebuilt from (``set_params`` after ``fit`` changes ``params``, not
  the fitted network);
- ``output_config``: what ``set_output`` set, as JSON;
- ``attributes``: the fitted attributes that are not numeric arrays, as JSON; a fitted
  estimator among them (a class view, the input view's logistic regression) is stored as
  its parameters and fitted attributes, and rebuilt only if its class is on a short
  allow-list;
- ``arrays``: the fitted numeric arrays, as CPU tensors;
- ``tensors``: the numeric arrays inside ``attributes`` (a class view's fitted arrays), as
  CPU tensors that the JSON names;
- ``state_dict``: the weights and buffers of the torch module, as CPU tensors.

The network itself is rebuilt from the parameters on load, which is why only parameters
that JSON can hold are supported: a custom module (class or instance), a callable metric
loss or a ``RandomState`` cannot be saved this way.

A file is written to a temporary file beside its path and renamed into place: a save that
fails (a full disk, an interruption) leaves no damaged file, and leaves a file that was
there before as it was.
"""

import contextlib
import io
import json
import os
import pickle
import re
import secrets

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from ._network import build_net, resolve_device, seeded_torch
from ._pseudo_labeling import VIEW_CLASSES

FORMAT = "sk-dmlpl"
# 2 added class_prior_; 3 holds the fitted class views in views_, their arrays as tensors;
# 4 adds network_params and output_config; 5: the periodic embeddings gained a gate per
# feature, which a file of 4 that holds them lacks; 6: the forest view holds two forests
# (forest_sizes_), which its arrays in a file of 5 do not say; 7: the features' weights
# (feature_weights_), which predict applies and a file of 6 lacks; 8: the input view's
# splines (n_knots, feature_range_), which its view in a file of 7 lacks.
FORMAT_VERSION = 8

# Names a file may set on the loaded estimator: public fitted attributes.
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z]\w*_")
# Fitted estimators a file may hold, stored as their parameters and fitted attributes and
# rebuilt from this list only: a file cannot name any other class.
_ESTIMATORS = {cls.__name__: cls for cls in (LogisticRegression, *VIEW_CLASSES)}
_REQUIRED_ATTRIBUTES = {"classes_", "n_features_in_", "feature_weights_", "views_", "view_weights_", "class_prior_"}

_UNSAFE_HINT = (
    "The safe format stores None, bool, int, float, str, lists, tuples, dicts and numpy arrays "
    f"of these, and fitted {', '.join(_ESTIMATORS)}. A custom module (class or instance), a "
    "callable metric_loss or a RandomState can only be kept with pickle or joblib, which run "
    "code when loading: load such files only from sources you trust."
)


def fitted_state(estimator):
    """The fitted attributes of ``estimator``: the names in its ``__dict__`` that end in ``_``."""
    return {name: value for name, value in vars(estimator).items() if _ATTRIBUTE_NAME.fullmatch(name)}


class PersistenceMixin:
    """``save`` and ``load`` in the safe format this module describes."""

    def save(self, path):
        """Save the fitted estimator in a safe format that :meth:`load` reads back.

        The file, written by ``torch.save``, holds the module's weights and the fitted
        arrays as tensors, the constructor parameters, the parameters the network was
        fitted with (which ``set_params`` after ``fit`` does not change), the
        ``set_output`` setting and the other fitted attributes as JSON, and the format
        version and ``sk_dmlpl`` version. Reading it back builds tensors and plain data
        only, never arbitrary objects, so a file cannot run code when loaded, unlike
        pickle or joblib. The file is written beside ``path`` under a temporary name and
        renamed into place: a failed save leaves no damaged file at ``path``, and a file
        that was there stays as it was.

        Only parameters that JSON can hold can be saved: ``module`` must be ``None`` (the
        default encoder), ``metric_loss`` a name and ``random_state`` an int or ``None``.
        A custom module, a callable loss or a ``RandomState`` needs pickle or joblib,
        which run code when loading: load such files only from sources you trust.

        Parameters
        ----------
        path : str or path-like
            Where to write the file.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        TypeError
            If a parameter or fitted attribute cannot be stored without pickle.
        OSError
            What ``open(path, "wb")`` raises, naming ``path``: ``FileNotFoundError`` for a
            missing folder, ``IsADirectoryError`` for a folder, ``NotADirectoryError``
            under a plain file, ``PermissionError``, or ``OSError`` for a full disk.

        See Also
        --------
        load : Read a saved estimator back.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn.datasets import load_iris
        >>> from sk_dmlpl import DMLPLClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> y_semi = y.copy()
        >>> y_semi[1::3] = -1
        >>> clf = DMLPLClassifier(max_epochs=2, fine_tune_epochs=1, max_iter=1, random_state=0).fit(X, y_semi)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "model.pt")
        ...     clf.save(path)
        ...     loaded = DMLPLClassifier.load(path, device="cpu")
        >>> loaded.device, loaded.max_epochs
        ('cpu', 2)
        >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
        True
        """
        save_estimator(self, path)

    @classmethod
    def load(cls, path, device=None):
        """Load an estimator written by :meth:`save`, without running code from the file.

        The file is read with ``torch.load(..., weights_only=True)``: a file holding
        anything besides tensors and plain data (a tampered file carrying code, say) is
        refused. Every tensor is read onto the CPU first, so a model saved on a GPU loads
        on a machine without one when ``device="cpu"`` is passed.

        Parameters
        ----------
        path : str or path-like
            The file to read.
        device : str or torch.device, default=None
            Where the network is placed; it also becomes the loaded estimator's ``device``
            parameter. ``None`` keeps the saved ``device`` parameter.

        Returns
        -------
        estimator : DMLPLClassifier
            The fitted estimator, with the saved parameters; called on an instance, it
            returns a new estimator and leaves the instance as it is.

        Raises
        ------
        ValueError
            If the file is not an ``sk_dmlpl`` model file, is damaged or truncated, holds
            anything but tensors and plain data, has another format version, or asks for
            CUDA where there is none.
        OSError
            What ``open(path, "rb")`` raises: ``FileNotFoundError`` for a missing file,
            ``IsADirectoryError`` for a folder, ``PermissionError``.

        See Also
        --------
        save : Write a fitted estimator, with an example that reads it back.
        """
        return load_estimator(cls, path, device)


def save_estimator(estimator, path):
    """Write a fitted estimator to ``path``; see :meth:`DMLPLClassifier.save`."""
    check_is_fitted(estimator)
    from . import __version__

    tensors = {}  # numeric arrays inside the JSON (a view's fitted arrays), stored as tensors
    params = {
        name: _encode(value, f"parameter {name!r}", tensors) for name, value in estimator.get_params(deep=False).items()
    }
    state = fitted_state(estimator)
    net = state.pop("net_")
    network_params = {name: _encode(value, f"parameter {name!r}", tensors) for name, value in net.build_params_.items()}
    arrays, attributes = {}, {}
    for name, value in state.items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            try:
                arrays[name] = torch.from_numpy(value.copy())
                continue
            except (TypeError, ValueError):  # a dtype torch lacks: JSON keeps it exactly
                pass
        attributes[name] = _encode(value, f"attribute {name!r}", tensors)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sk_dmlpl_version": __version__,
        "params": json.dumps(params),
        "network_params": json.dumps(network_params),
        "output_config": json.dumps(_encode(dict(getattr(estimator, "_sklearn_output_config", {})), "set_output", tensors)),
        "attributes": json.dumps(attributes),
        "arrays": arrays,
        "tensors": tensors,
        "state_dict": {name: tensor.detach().cpu() for name, tensor in net.module_.state_dict().items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    _write_atomically(path, buffer.getvalue())


def _write_atomically(path, data):
    """Write ``data`` to ``path`` through a temporary file beside it, renamed into place.

    Raises the ``OSError`` that ``open(path, "wb")`` would (``FileNotFoundError``,
    ``IsADirectoryError``, ``NotADirectoryError``, ``PermissionError``, or a plain
    ``OSError`` for a full disk), naming ``path``; the temporary file is removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, os.strerror(21), path)
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, error.strerror, path) from None
        raise


def load_estimator(cls, path, device=None):
    """Read an estimator of class ``cls`` from ``path``; see :meth:`DMLPLClassifier.load`."""
    from . import __version__

    payload = _read(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path!s} is not an sk-dmlpl model file: it was not written by {cls.__name__}.save.")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path!s} has format version {version!r}, written by sk_dmlpl "
            f"{payload.get('sk_dmlpl_version')!r}; this sk_dmlpl ({__version__}) reads format version "
            f"{FORMAT_VERSION} only. Load it with the sk_dmlpl version that wrote it and save it again."
        )
    try:
        tensors = payload["tensors"]
        params = {name: _decode(value, tensors) for name, value in json.loads(payload["params"]).items()}
        network_params = {
            name: _decode(value, tensors) for name, value in json.loads(payload["network_params"]).items()
        }
        output_config = _decode(json.loads(payload["output_config"]), tensors)
        if not isinstance(output_config, dict):
            raise TypeError(f"output_config is a {type(output_config).__name__}, not a dict")
        attributes = {name: _decode(value, tensors) for name, value in json.loads(payload["attributes"]).items()}
        attributes.update({name: _as_array(tensor) for name, tensor in payload["arrays"].items()})
        state_dict = {name: _as_tensor(tensor) for name, tensor in payload["state_dict"].items()}
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path!s} is a damaged sk-dmlpl model file: {type(error).__name__}: {error}") from None

    unknown = (set(params) | set(network_params)) - set(cls._get_param_names())
    bad_names = [name for name in attributes if not _ATTRIBUTE_NAME.fullmatch(name)]
    missing = _REQUIRED_ATTRIBUTES - set(attributes)
    if unknown or bad_names or missing:
        raise ValueError(
            f"{path!s} does not describe a fitted {cls.__name__}: unknown parameters {sorted(unknown)}, "
            f"attributes with invalid names {sorted(bad_names)}, missing attributes {sorted(missing)}."
        )
    if device is not None:
        params["device"] = device
    estimator = cls(**params)
    estimator._validate_params()
    try:
        resolved = resolve_device(estimator.device)
    except ValueError as error:
        raise ValueError(
            f"{error} To load a model saved on a GPU onto this machine, pass device='cpu' to load."
        ) from None
    for name, value in attributes.items():
        setattr(estimator, name, value)
    try:
        estimator.set_output(**output_config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path!s} is a damaged sk-dmlpl model file: output_config: {error}") from None
    # The network as it was fitted: set_params after fit changes the parameters, not the network.
    network_params = {**estimator.get_params(deep=False), **network_params}

    # Building the net draws initial weights, from a generator of its own; the stored ones replace them.
    with seeded_torch(0) as generator:
        net = build_net(estimator.n_features_in_, len(estimator.classes_), resolved, network_params, generator)
        try:
            net.module_.load_state_dict(state_dict)
        except RuntimeError as error:
            raise ValueError(
                f"{path!s}: the stored weights do not fit the network its parameters describe: {error}"
            ) from None
    estimator.net_ = net
    return estimator


def _read(path):
    # open raises what it raises for a missing file, a folder or a file not to be read;
    # anything that goes wrong after it is the content's fault.
    with open(path, "rb") as file:
        data = file.read()
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reasons = [line.strip() for line in str(error).splitlines() if "WeightsUnpickler error" in line]
        raise ValueError(
            f"{path!s} was refused: it is not a file of tensors and plain data, as written by save, "
            f"but holds something else, such as code that would run on load "
            f"({reasons[0] if reasons else 'unreadable'}). It may have been tampered with; do not "
            "open it with pickle, joblib or torch.load(weights_only=False) unless you trust its source."
        ) from error
    except Exception as error:
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise ValueError(
            f"{path!s} could not be read as an sk-dmlpl model file: it is damaged or truncated "
            f"({len(data)} bytes; {detail})."
        ) from error


def _as_tensor(value):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"expected a tensor, found a {type(value).__name__}")
    return value


def _as_array(value):
    return _as_tensor(value).numpy()


# -- JSON with tagged containers: a plain JSON dict never stands for two things --


def _encode(value, where, tensors):
    """Turn ``value`` into JSON data; containers and arrays become ``{"type": ..., ...}``.

    A numeric array goes into ``tensors`` (a dict of name to tensor), which the JSON names.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return value.item()
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [_encode(item, where, tensors) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"type": "dict", "items": {key: _encode(item, where, tensors) for key, item in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.ndim > 0:
        try:
            tensors[str(len(tensors))] = torch.from_numpy(value.copy())
            return {"type": "tensor", "items": str(len(tensors) - 1)}
        except (TypeError, ValueError):  # a dtype torch lacks: JSON keeps it exactly
            pass
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
        return {
            "type": "ndarray",
            "dtype": value.dtype.str,
            "shape": list(value.shape),
            "items": [_encode(item, where, tensors) for item in value.ravel().tolist()],
        }
    if type(value).__name__ in _ESTIMATORS and type(value) is _ESTIMATORS[type(value).__name__]:
        return {
            "type": "estimator",
            "class": type(value).__name__,
            "params": {key: _encode(item, where, tensors) for key, item in value.get_params(deep=False).items()},
            "items": {key: _encode(item, where, tensors) for key, item in fitted_state(value).items()},
        }
    held = f"the class {value.__qualname__}" if isinstance(value, type) else f"a {type(value).__name__}"
    raise TypeError(f"Cannot save {where}, which holds {held}. {_UNSAFE_HINT}")


def _decode(data, tensors):
    if isinstance(data, list):
        raise TypeError("untagged list")
    if not isinstance(data, dict):
        return data
    kind, items = data["type"], data["items"]
    if kind == "list":
        return [_decode(item, tensors) for item in items]
    if kind == "tuple":
        return tuple(_decode(item, tensors) for item in items)
    if kind == "dict":
        return {key: _decode(item, tensors) for key, item in items.items()}
    if kind == "tensor":
        return _as_array(tensors[items])
    if kind == "ndarray":
        dtype = np.dtype(data["dtype"])
        if dtype.kind not in "biufUO":
            raise ValueError(f"unsupported array dtype {dtype}")
        array = np.empty(len(items), dtype=dtype)
        for position, item in enumerate(items):
            array[position] = _decode(item, tensors)
        return array.reshape(data["shape"])
    if kind == "estimator":
        estimator = _ESTIMATORS[data["class"]](**{key: _decode(item, tensors) for key, item in data["params"].items()})
        for name, item in items.items():
            if not _ATTRIBUTE_NAME.fullmatch(name):
                raise ValueError(f"invalid attribute name {name!r}")
            setattr(estimator, name, _decode(item, tensors))
        return estimator
    raise ValueError(f"unknown type tag {kind!r}")
