"""The `teamtape` command line."""


def main() -> int:
    return 0
