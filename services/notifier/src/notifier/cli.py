def main() -> None:
    raise SystemExit("notifier: not built yet")
