"""Operations: deploy files, health and metrics, logs, doctor, migrations."""
