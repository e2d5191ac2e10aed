"""Maps the top-level folders onto one installed package, ``campus``.

``campus.sync`` comes from ``sync/``, ``campus.schema`` from ``schema/`` and so on, so nothing
named ``sync`` or ``schema`` lands at the top of site-packages.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

FOLDERS = {"campus": "campus", "campus.schema": "schema", "campus.sync": "sync",
           "campus.node": "node", "campus.hub": "hub", "campus.web": "web"}

packages = []
for package, folder in FOLDERS.items():
    if not (Path(folder) / "__init__.py").exists():
        continue
    packages.append(package)
    # Namespace discovery also lists data folders (templates, static, locale, migrations),
    # which setuptools otherwise warns about at every install.
    packages += [f"{package}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(packages=packages, package_dir=FOLDERS)
