"""Demo data (filled in by the demo module's owner)."""


def demo_loaded() -> bool:
    return False


def load_demo(*, customers: int = 2000, seed: int = 1, progress=print) -> None:
    progress("Demo data generator not built yet.")
