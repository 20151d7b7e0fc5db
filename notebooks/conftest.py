"""Loaded by pytest when nbval checks a notebook in this folder.

Checks that pass are remembered in a progress file beside the notebooks. The
notebook kernels nbval starts inherit this environment variable, so a test
run writes into a throw-away file and reads an empty one: the saved outputs
(every exercise unsolved) stay stable whatever the learner has solved.
"""

import os
import tempfile
from pathlib import Path

os.environ["TEACHTASKS_PROGRESS"] = str(Path(tempfile.mkdtemp(prefix="teachtasks-progress-"))
                                        / "progress.json")
