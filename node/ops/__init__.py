"""Operating a campus node: backups, restores, export, ``campus doctor`` and ``/metrics``."""
