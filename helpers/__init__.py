"""Helpers shared by the notebook series: what a notebook teaches once, the helpers remember.

Importing the package quietens TensorFlow's C++ log (set before TensorFlow loads) so notebooks
show the learner's output, not a page of device probing; Python errors are unaffected.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
