"""The canonical data model: vocabularies and table schemas shared by every part."""
