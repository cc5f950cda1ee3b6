"""Reads the tensors of a TorchScript file without PyTorch.

A TorchScript file (`torch.jit.save`) is a zip archive: `<root>/data.pkl` pickles the module
tree (each module an object whose state is a dict of its attributes), every tensor is a
reference to a raw little-endian storage `<root>/data/<key>`, and `<root>/code/` holds the
compiled forward code (not needed to read weights). This module unpickles that tree with
stand-ins for torch's classes, so the result is plain Python: nested dicts whose leaves are
NumPy arrays, ints, floats, bools and lists.

    tree = read_torchscript("default_1.pt")
    tree["net"]["layers"]["conv"]["weight"].shape        # (32, 3, 3, 3)

Only what a saved inference module needs is understood (float/int storages, strided tensors,
`OrderedDict`); anything else fails with a message naming it, never silently.
"""

import collections
import pickle
import zipfile

import numpy as np

# torch storage class -> NumPy dtype (little-endian, as torch writes them)
STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": None,
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}
# TorchScript's typed-list constructors (torch.jit._pickle), read as plain lists
JIT_LIST_BUILDERS = ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist")


class _Module(dict):
    """A pickled TorchScript module: its attribute dict (set through __setstate__); each scripted
    class becomes a subclass whose `class_name` is the scripted one's (pickle's NEWOBJ needs a type)."""

    class_name = None

    def __setstate__(self, state):
        self.update(state)


class _StorageType:
    def __init__(self, name):
        self.name = name


def _rebuild_tensor(storage, offset, shape, strides, *unused):
    """torch._utils._rebuild_tensor_v2: a strided view of `storage` (a flat NumPy array)."""
    item = storage.itemsize
    if not shape:
        return storage[offset].copy()
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(shape),
                                           strides=tuple(s * item for s in strides))
    return np.ascontiguousarray(view)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive, root):
        super().__init__(file)
        self._archive, self._root, self._storages = archive, root, {}

    def find_class(self, module, name):
        if module.startswith("__torch__"):  # a scripted module class: keep its name for checks
            return type(name, (_Module,), {"class_name": f"{module}.{name}"})
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch.jit._pickle" and name in JIT_LIST_BUILDERS:  # typed lists: a plain list
            return list
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"The TorchScript file holds a {module}.{name}, which this reader does not "
                                     "understand (it reads saved inference modules of float tensors).")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"Unknown persistent id {kind!r} in the TorchScript file.")
        dtype = STORAGE_DTYPES[storage_type.name]
        if dtype is None:
            raise pickle.UnpicklingError(f"{storage_type.name} tensors are not supported (no NumPy dtype).")
        if key not in self._storages:
            raw = self._archive.read(f"{self._root}/data/{key}")
            self._storages[key] = np.frombuffer(raw, dtype=dtype, count=numel)
        return self._storages[key]


def read_torchscript(path):
    """The module tree of the TorchScript file at `path`: `_Module` dicts (with `.class_name`)
    of attributes, tensors as NumPy arrays."""
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"{path} is not a TorchScript file: it holds no single <root>/data.pkl.")
        root = pickles[0].split("/")[0]
        with archive.open(pickles[0]) as f:
            return _Unpickler(f, archive, root).load()
