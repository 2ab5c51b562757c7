"""Packaging beyond what pyproject.toml can say: the shipped model and paintings travel in the wheel.

The repository keeps them where users and the design card look for them (`checkpoints/adain-corpus/`,
`examples/styles/`); the wheel maps those folders onto the data packages `adain._checkpoints` and
`adain._examples`, which `adain.shipped` finds when there is no checkout around the code.
pyproject.toml cannot list discovered packages and mapped ones together, hence this file.
"""

from setuptools import find_namespace_packages, setup

DATA_PACKAGES = {"adain._checkpoints": "checkpoints", "adain._examples": "examples"}

setup(
    packages=find_namespace_packages(include=["adain", "adain.*"], exclude=["*__pycache__"])
    + [*DATA_PACKAGES, "adain._examples.styles"],
    package_dir=DATA_PACKAGES,
    package_data={
        "adain.serve.static": ["*.html", "*.js", "*.css"],  # the web app's page
        "adain.weights.channel_means": ["*.npz"],  # VGG channel means, keyed by the weights' fingerprint
        "adain._checkpoints": ["adain-corpus/decoder.keras", "adain-corpus/config.yaml", "adain-corpus/README.md"],
        "adain._examples.styles": ["*.jpg", "SOURCES.md"],
    },
)
