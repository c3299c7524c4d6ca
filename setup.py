"""Maps the repository's top-level folders into the one installed package ``retouch_studio``.

Everything else about the project lives in pyproject.toml; only the package list needs code,
because setuptools' automatic discovery cannot prefix the folders with a package name.
"""
from setuptools import find_packages, setup

FOLDERS = ("app", "model", "resources")

packages = []
package_dir = {}
for folder in FOLDERS:
    packages.append(f"retouch_studio.{folder}")
    package_dir[f"retouch_studio.{folder}"] = folder
    for sub in find_packages(folder):
        packages.append(f"retouch_studio.{folder}.{sub}")

setup(packages=packages, package_dir=package_dir)
