"""Sphinx configuration for skcrm (numpydoc + sphinx-gallery, the scikit-learn convention)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

import skcrm

project = "skcrm"
author = "skcrm developers"
copyright = "2026, skcrm developers"
release = skcrm.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax served with the docs: pages render math with no network.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
templates_path = ["_templates"]
# The build has no network, so there is no intersphinx: references to other libraries'
# classes in signatures and docstrings cannot resolve and are not skcrm's to fix.
# check_event_log's return annotation names the class by its private module; it is
# documented as skcrm.utils.EventLog.
nitpick_ignore = [("py:class", "skcrm.utils._validation.EventLog")]
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(numpy|np|pandas|pd|scipy|sklearn|jax|jaxlib|flax|optax|numpyro|xgboost"
        r"|cvxpy|matplotlib|dask|distributed|joblib|tqdm)(\..*)?",
    ),
    # numpydoc type words that are not objects
    (
        r"py:.*",
        r"(array-like|array_like|ndarray|callable|optional|default|scalar|label|"
        r"iterable|dict-like|path-like|DataFrame|Series|Axes|Generator|RandomState)",
    ),
]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
html_theme = "pydata_sphinx_theme"
html_title = f"skcrm {release}"

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # one subsection per method (examples/<method>/README.txt), in the user guide's order;
    # "*" keeps a new folder from breaking the build
    "subsection_order": [
        f"../examples/{method}"
        for method in ("data", "clv", "surrogate", "policy", "pomdp", "twin", "allocation")
    ]
    + ["*"],
    "download_all_examples": False,
    "reference_url": {"skcrm": None},
    # "Examples using this class" on every API page (minigallery in the class template)
    "doc_module": ("skcrm",),
    "backreferences_dir": "api/generated/backreferences",
}
