"""``python -m teamtape`` runs the CLI."""

import sys

from teamtape.cli import main

sys.exit(main())
