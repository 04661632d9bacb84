"""Front-end files that ship inside Python packages, served as our own static files (no CDN, no Node).

plotly.min.js comes from the installed plotly package and is served at static "vendor/plotly.min.js";
collectstatic copies just that file, not the package's datasets.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor"
# static name under vendor/ -> (package, path inside the package); the name is the file's own name.
ASSETS = {"plotly.min.js": ("plotly", "package_data/plotly.min.js")}


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _source(name: str) -> Path:
    package, inner = ASSETS[name]
    return _package_dir(package) / inner


class PackagedAssetFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        name = path.removeprefix(f"{PREFIX}/")
        if path.startswith(f"{PREFIX}/") and name in ASSETS and _source(name).exists():
            found = str(_source(name))
            return [found] if find_all else found
        return []

    def list(self, ignore_patterns):
        for name in ASSETS:
            source = _source(name)
            storage = FileSystemStorage(location=str(source.parent))
            storage.prefix = PREFIX
            yield source.name, storage
