"""``python -m hotline`` runs the same command as ``hotline``."""

from hotline.cli import main

main()
