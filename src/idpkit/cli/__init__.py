"""The ``idpkit`` command line: a thin layer over the parts."""
