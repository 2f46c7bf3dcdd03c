"""``python -m nasbench_suite.cli``: the ``nasbench-suite`` command."""
import sys

from . import main

sys.exit(main())
