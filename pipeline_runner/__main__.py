"""`python -m pipeline_runner` is the `pipeline-runner` console script."""

import sys

from pipeline_runner.cli import main

sys.exit(main())
