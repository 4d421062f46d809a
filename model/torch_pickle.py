"""Read the structure of a `torch.save` file without torch: keys, plain values, tensor shapes.

The web process never imports torch (DESIGN.md layout), yet it must look inside an uploaded
checkpoint (its format version and configs) before accepting it, and inside an operator's VGG19
weights file before offering the "vgg19" cover backend. Both are pickles whose tensors point at
raw storages by "persistent id"; this module unpickles only the pickle, with a whitelist as
strict as `torch.load(weights_only=True)`: plain containers, `OrderedDict`, and torch's tensor
rebuild functions, which here return a `TensorInfo` (dtype name and shape) instead of a tensor.
Nothing else can be constructed, so a hostile file cannot run code; storage bytes are never
read, so a 500 MB file is opened in milliseconds.

Two layouts exist: the zip format (torch >= 1.6: `<name>/data.pkl` plus one member per storage)
and the legacy one (torchvision's 2017 `vgg19-dcbb9e9d.pth`: magic number, protocol, system info,
then the object pickle, then the storages).
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# torch/serialization.py: the first pickle of a legacy file.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_PICKLE_BYTES = 64 * 1024 * 1024  # the object pickle of a checkpoint is kilobytes


class TorchFileError(ValueError):
    """Not a torch.save file, or one holding something other than data."""


@dataclass(frozen=True)
class TensorInfo:
    """What the header says about one tensor (its bytes are not read)."""

    dtype: str  # storage type name, e.g. "FloatStorage"
    shape: tuple[int, ...]


@dataclass(frozen=True)
class _Storage:
    dtype: str


def _rebuild_tensor(storage: Any, _offset: Any, size: Any, *_rest: Any) -> TensorInfo:
    dtype = storage.dtype if isinstance(storage, _Storage) else "?"
    return TensorInfo(dtype, tuple(int(s) for s in size))


def _rebuild_parameter(data: Any, *_rest: Any) -> Any:
    return data


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name


class _HeaderUnpickler(pickle.Unpickler):
    """Builds only data; torch's tensor plumbing becomes TensorInfo placeholders."""

    _REBUILD = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._REBUILD:
            return self._REBUILD[(module, name)]
        if module in ("torch", "torch.storage") and name.endswith("Storage"):
            return _StorageType(name)
        raise TorchFileError(f"the file holds a {module}.{name}, which is not plain data")

    def persistent_load(self, pid: Any) -> Any:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if isinstance(pid, tuple) and pid and pid[0] == "storage":
            kind = pid[1]
            return _Storage(kind.name if isinstance(kind, _StorageType) else str(kind))
        raise TorchFileError(f"unknown persistent id {pid!r}")


def _unpickle(stream: IO[bytes]) -> Any:
    try:
        return _HeaderUnpickler(stream).load()
    except TorchFileError:
        raise
    except Exception as exc:  # truncated, not a pickle, wrong protocol...  # noqa: BLE001
        raise TorchFileError(f"unreadable pickle ({type(exc).__name__}: {exc})") from None


def read_header(path: Path) -> Any:
    """The object `torch.save` wrote to `path`, with TensorInfo in place of every tensor.

    Raises TorchFileError when the file is not a torch.save file or holds non-data objects.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(names) != 1:
                raise TorchFileError("a zip file, but not one torch.save wrote (no data.pkl)")
            if archive.getinfo(names[0]).file_size > MAX_PICKLE_BYTES:
                raise TorchFileError("the object pickle is implausibly large")
            with archive.open(names[0]) as stream:
                return _unpickle(stream)
    with open(path, "rb") as stream:
        try:
            magic = _HeaderUnpickler(stream).load()
        except Exception:  # any garbage  # noqa: BLE001
            raise TorchFileError("neither a zip nor a legacy torch.save file") from None
        if magic != LEGACY_MAGIC:
            raise TorchFileError("neither a zip nor a legacy torch.save file")
        _unpickle(stream)  # protocol version
        _unpickle(stream)  # system info: endianness, type sizes
        return _unpickle(stream)
