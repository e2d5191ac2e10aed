"""Operations: backups, restores, export, TLS, upgrades, doctor."""
