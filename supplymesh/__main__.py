"""``python -m supplymesh`` is the ``supplymesh`` command."""

from supplymesh.entrypoints.cli import main

main()
