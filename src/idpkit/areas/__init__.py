"""The inclusive, area-based view (issue 7): needs severity for every population group (host
communities included), site risks, who does what where across the humanitarian-development-peace
continuum, community voice, and area profiles that put them beside the figures and solutions
evidence.

Every part reads and writes warehouse tables (:mod:`idpkit.areas.tables`); the CLI, the API and the
dashboard call the functions here and never each other.
"""
