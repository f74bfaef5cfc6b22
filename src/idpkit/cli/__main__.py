"""``python -m idpkit.cli``: the same as the ``idpkit`` command."""

from idpkit.cli.app import main

if __name__ == "__main__":
    main()
